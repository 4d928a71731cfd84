agentry_test(controllers_unit_test LABEL unit SOURCES
  unit/controllers/capacity_planner_test.cc
  unit/controllers/agent_render_test.cc
  unit/controllers/config_contract_test.cc
  unit/controllers/policy_status_test.cc
  unit/controllers/agent_autoscaling_test.cc
  unit/controllers/agent_memory_test.cc
  unit/controllers/agent_tools_test.cc
  LIBS agentry_controllers
)
agentry_test(crd_validation_integration_test LABEL integration SOURCES
  integration/controllers/crd_validation_test.cc
)
agentry_test(agent_controller_integration_test LABEL integration TIMEOUT 600 SOURCES
  integration/controllers/agent_controller_test.cc
  integration/sidecar/mcp_servers.cc
  LIBS agentry_controllers
)
# The HPA loop with metrics-server and kwok's usage emulation: minutes of real sync periods.
# The in-flight test also runs a real sidecar and the fake LLM (the sidecar suites' harness).
agentry_test(autoscaling_integration_test LABEL integration TIMEOUT 1200 SOURCES
  integration/controllers/autoscaling_test.cc
  integration/sidecar/harness.cc
  LIBS agentry_controllers
)
target_compile_definitions(autoscaling_integration_test PRIVATE
  AGENTRY_SIDECAR_BIN="$<TARGET_FILE:agentry-sidecar>"
  AGENTRY_FAKE_LLM_BIN="$<TARGET_FILE:agentry-fake-llm>")
add_dependencies(autoscaling_integration_test agentry-sidecar agentry-fake-llm)
agentry_test(rendered_config_integration_test LABEL integration SOURCES
  integration/controllers/rendered_config_test.cc
  LIBS agentry_controllers
)
target_compile_definitions(rendered_config_integration_test PRIVATE
  AGENTRY_SIDECAR_BIN="$<TARGET_FILE:agentry-sidecar>")
add_dependencies(rendered_config_integration_test agentry-sidecar)
