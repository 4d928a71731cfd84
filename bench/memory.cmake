# Cache and memory benchmarks (issue 6): an in-process program and an HTTP script (wrk, redis).
if(NOT TARGET agentry_memory)
  if(NOT TARGET agentry_cache)
    add_subdirectory(${PROJECT_SOURCE_DIR}/sidecar/cache ${CMAKE_BINARY_DIR}/sidecar-cache)
  endif()
  add_subdirectory(${PROJECT_SOURCE_DIR}/sidecar/memory ${CMAKE_BINARY_DIR}/sidecar-memory)
endif()
# It starts a real redis-server for the bounded-write rows (tests/support).
if(TARGET agentry_test_support)
  add_executable(memory_bench ${CMAKE_CURRENT_LIST_DIR}/memory/memory_bench.cc)
  target_link_libraries(memory_bench PRIVATE agentry_memory agentry_cache agentry_test_support)
endif()
