# Redis, cache and memory suites (sidecar/redis, sidecar/cache, sidecar/memory).

# A small server of the cache and memory routes (embedded or Redis backed), for the kill -9 and
# two-process tests and the HTTP benchmarks; the real sidecar serves the same routes.
add_executable(agentry-memory-testd ${CMAKE_CURRENT_LIST_DIR}/integration/memory/memory_testd.cc)
target_link_libraries(agentry-memory-testd PRIVATE agentry_memory agentry_cache)

agentry_test(cache_unit_test LABEL unit SOURCES
  unit/cache/l1_cache_test.cc
  unit/redis/resp_reader_test.cc
  LIBS agentry_cache
)
agentry_test(cache_redis_integration_test LABEL integration SOURCES
  integration/cache/cache_redis_test.cc
  LIBS agentry_cache
  SERIAL
)
agentry_test(memory_unit_test LABEL unit SOURCES
  unit/memory/memory_test.cc
  unit/memory/group_commit_test.cc
  unit/memory/retention_test.cc
  unit/memory/minilm_test.cc
  unit/memory/embedder_mark_test.cc
  unit/memory/batching_embedder_test.cc
  LIBS agentry_memory
)
agentry_test(memory_redis_integration_test LABEL integration SOURCES
  integration/memory/memory_redis_test.cc
  integration/memory/memory_retention_redis_test.cc
  LIBS agentry_memory
  SERIAL
)
agentry_test(memory_http_integration_test LABEL integration SOURCES
  integration/memory/memory_http_test.cc
  LIBS agentry_common PkgConfig::HTTPLIB
  SERIAL
)
add_dependencies(memory_http_integration_test agentry-memory-testd)
target_compile_definitions(memory_http_integration_test PRIVATE
  AGENTRY_MEMORY_TESTD_BIN="$<TARGET_FILE:agentry-memory-testd>")
# The real sidecar with cache and memory mounted.
agentry_test(sidecar_storage_integration_test LABEL integration SOURCES
  integration/memory/sidecar_storage_test.cc
  LIBS agentry_common PkgConfig::HTTPLIB
  SERIAL
)
target_compile_definitions(sidecar_storage_integration_test PRIVATE
  AGENTRY_SIDECAR_BIN="$<TARGET_FILE:agentry-sidecar>"
  AGENTRY_FAKE_LLM_BIN="$<TARGET_FILE:agentry-fake-llm>")
add_dependencies(sidecar_storage_integration_test agentry-sidecar agentry-fake-llm)

# The MiniLM embedder against the Hugging Face tokenizer and a numpy forward pass (hack/models.sh
# fetches the model, hack/test-tools.sh the Python packages).
agentry_test(minilm_equality_integration_test LABEL integration TIMEOUT 300 SOURCES
  integration/memory/minilm_equality_test.cc
  LIBS agentry_minilm
)
