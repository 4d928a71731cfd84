# agentry-sidecar benchmark: a plain program (it drives real processes: the sidecar, the fake LLM
# server and wrk) that prints each figure beside its target. Needs the test support library.
if(TARGET agentry_test_support)
  add_executable(sidecar_bench sidecar/sidecar_bench.cc)
  target_link_libraries(sidecar_bench PRIVATE agentry_test_support nlohmann_json::nlohmann_json
                        PkgConfig::HTTPLIB Threads::Threads)
  target_compile_definitions(sidecar_bench PRIVATE
    AGENTRY_SIDECAR_BIN="$<TARGET_FILE:agentry-sidecar>"
    AGENTRY_FAKE_LLM_BIN="$<TARGET_FILE:agentry-fake-llm>")
  add_dependencies(sidecar_bench agentry-sidecar agentry-fake-llm)
endif()
