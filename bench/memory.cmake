# Cache and memory benchmarks: an in-process program and an HTTP script (wrk, redis).
# It starts a real redis-server for the bounded-write rows (tests/support).
if(TARGET agentry_test_support)
  add_executable(memory_bench ${CMAKE_CURRENT_LIST_DIR}/memory/memory_bench.cc)
  target_link_libraries(memory_bench PRIVATE agentry_memory agentry_cache agentry_test_support)
endif()
