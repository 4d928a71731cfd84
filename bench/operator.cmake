# Operator runtime benchmark (issue 3): a plain program against a real kube-apiserver (its own
# private etcd + kube-apiserver unless --kubeconfig is given); prints each figure beside its target.
if(TARGET agentry_test_support)
  add_executable(operator_bench operator/operator_bench.cc)
  target_link_libraries(operator_bench PRIVATE agentry_operator_lib agentry_test_support)
  target_compile_definitions(operator_bench PRIVATE
    AGENTRY_OPERATOR_BIN="$<TARGET_FILE:agentry-operator>")
  add_dependencies(operator_bench agentry-operator)
endif()
