# Operator runtime (issue 3): unit tests for pure logic, integration tests against a real
# kube-apiserver + etcd (the shared cluster, or private ones for kill/restart and compaction).
agentry_test(operator_unit_test LABEL unit SOURCES
  unit/operator/kube_unit_test.cc
  unit/operator/runtime_unit_test.cc
  unit/operator/recent_writes_test.cc
  LIBS agentry_operator_lib
)
agentry_test(operator_client_integration_test LABEL integration SOURCES
  integration/operator/client_test.cc
  LIBS agentry_operator_lib
)
agentry_test(operator_runtime_integration_test LABEL integration SOURCES
  integration/operator/runtime_test.cc
  LIBS agentry_operator_lib
)
# Private control planes that are killed, restarted and compacted.
agentry_test(operator_restart_integration_test LABEL integration SERIAL TIMEOUT 400 SOURCES
  integration/operator/restart_test.cc
  LIBS agentry_operator_lib
)
# Spawns the agentry-operator binary twice and times lease hand-overs.
agentry_test(operator_leader_integration_test LABEL integration SERIAL SOURCES
  integration/operator/leader_test.cc
  LIBS agentry_operator_lib
)
add_dependencies(operator_leader_integration_test agentry-operator)
