# The Helm chart (charts/agentry) against the real control plane: lint/template/dry-run, install,
# RBAC with the chart's ServiceAccount token (the agentry-operator binary and the controllers),
# upgrade, uninstall, bad values. SERIAL: it installs cluster-scoped objects (ClusterRole, policies).
agentry_test(chart_integration_test LABEL integration SERIAL TIMEOUT 900 SOURCES
  integration/chart/chart_test.cc
  LIBS agentry_controllers agentry_console_lib
)
add_dependencies(chart_integration_test agentry-operator agentry-console)
target_compile_definitions(chart_integration_test PRIVATE
  AGENTRY_OPERATOR_BIN="$<TARGET_FILE:agentry-operator>"
  AGENTRY_CONSOLE_BIN="$<TARGET_FILE:agentry-console>")
