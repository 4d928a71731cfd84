# Workflow controller suites (issue 7): pure DAG/template logic, and the controller against the real
# control plane with a real agentry-sidecar process and the fake LLM server.
agentry_test(workflow_unit_test LABEL unit SOURCES
  unit/controllers/workflow_dag_test.cc
  unit/controllers/workflow_plan_test.cc
  unit/controllers/workflow_slots_test.cc
  LIBS agentry_controllers
)

agentry_test(workflow_integration_test LABEL integration SERIAL TIMEOUT 300 SOURCES
  integration/workflow/workflow_controller_test.cc
  LIBS agentry_controllers
)
target_compile_definitions(workflow_integration_test PRIVATE
  AGENTRY_SIDECAR_BIN="$<TARGET_FILE:agentry-sidecar>"
  AGENTRY_FAKE_LLM_BIN="$<TARGET_FILE:agentry-fake-llm>"
  AGENTRY_OPERATOR_BIN="$<TARGET_FILE:agentry-operator>")
# AGENTRY_WORKFLOW_PREBUILT_BINS=ON: do not (re)build the binaries here; the tests then take
# AGENTRY_SIDECAR_BIN / AGENTRY_FAKE_LLM_BIN / AGENTRY_OPERATOR_BIN from the environment (another build dir's binaries).
if(NOT AGENTRY_WORKFLOW_PREBUILT_BINS)
  add_dependencies(workflow_integration_test agentry-sidecar agentry-fake-llm agentry-operator)
endif()

