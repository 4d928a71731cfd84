# Cache and memory (issue 6). The libraries live in sidecar/cache and sidecar/memory; the sidecar's
# own CMakeLists adds them once it is wired, until then they are added from here.
if(NOT TARGET agentry_cache)
  add_subdirectory(${PROJECT_SOURCE_DIR}/sidecar/cache ${CMAKE_BINARY_DIR}/sidecar-cache)
endif()

agentry_test(cache_unit_test LABEL unit SOURCES
  unit/memory/l1_cache_test.cc
  LIBS agentry_cache
)
agentry_test(cache_redis_integration_test LABEL integration SOURCES
  integration/memory/cache_redis_test.cc
  LIBS agentry_cache
  SERIAL
)
