# Cache and memory benchmarks: an in-process program and an HTTP script (wrk, redis).
# It starts a real redis-server for the bounded-write rows (tests/support).
if(TARGET agentry_test_support)
  add_executable(memory_bench ${CMAKE_CURRENT_LIST_DIR}/memory/memory_bench.cc
    ${CMAKE_CURRENT_LIST_DIR}/memory/minilm_rows.cc)
  target_link_libraries(memory_bench PRIVATE agentry_memory agentry_minilm agentry_cache
    agentry_test_support)
  # Retrieval quality is behaviour, not timing: MiniLM must find paraphrases the lexical hash
  # cannot (tests/data/retrieval_*.jsonl).
  add_test(NAME MemoryBench.RetrievalQualityMiniLmBeatsLexical COMMAND memory_bench --quality)
  set_tests_properties(MemoryBench.RetrievalQualityMiniLmBeatsLexical PROPERTIES
    LABELS integration TIMEOUT 300)
endif()
