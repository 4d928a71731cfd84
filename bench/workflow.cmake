# Workflow controller benchmark (issue 7): the controller in-process against the real API server,
# one real agentry-sidecar and the fake LLM; prints start latency and 500-concurrent figures.
if(TARGET agentry_test_support AND TARGET agentry-sidecar AND TARGET agentry-fake-llm)
  add_executable(workflow_bench workflow/workflow_bench.cc)
  target_link_libraries(workflow_bench PRIVATE agentry_controllers agentry_test_support)
  target_compile_definitions(workflow_bench PRIVATE
    AGENTRY_SIDECAR_BIN="$<TARGET_FILE:agentry-sidecar>"
    AGENTRY_FAKE_LLM_BIN="$<TARGET_FILE:agentry-fake-llm>")
  if(NOT AGENTRY_WORKFLOW_PREBUILT_BINS)
    add_dependencies(workflow_bench agentry-sidecar agentry-fake-llm)
  endif()
endif()
