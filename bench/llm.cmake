# The sidecar on a real model vs the model server called directly (issue 21): llama-server with
# Gemma 3 270M from hack/llm.sh. A program, not a test: it prints figures beside their targets.
if(TARGET agentry_test_support)
  add_executable(llm_bench ${CMAKE_CURRENT_LIST_DIR}/llm/llm_bench.cc)
  target_link_libraries(llm_bench PRIVATE agentry_test_support nlohmann_json::nlohmann_json
                        PkgConfig::HTTPLIB Threads::Threads)
  target_compile_definitions(llm_bench PRIVATE AGENTRY_SIDECAR_BIN="$<TARGET_FILE:agentry-sidecar>")
  add_dependencies(llm_bench agentry-sidecar)
endif()
