# Agent controller benchmark (issue 4): the operator binary against a private real control plane.
if(TARGET agentry_test_support)
  add_executable(agent_bench controllers/agent_bench.cc)
  target_link_libraries(agent_bench PRIVATE agentry_operator_lib agentry_test_support)
  target_compile_definitions(agent_bench PRIVATE AGENTRY_OPERATOR_BIN="$<TARGET_FILE:agentry-operator>")
  add_dependencies(agent_bench agentry-operator)
  # Load step -> replicas settled on the real HPA loop (issue 16).
  add_executable(autoscaling_bench autoscaling/autoscaling_bench.cc)
  target_link_libraries(autoscaling_bench PRIVATE agentry_controllers agentry_test_support)
endif()
