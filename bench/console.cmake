# The console under the guidelines' load test (issue 18): a private kube-apiserver + etcd, the
# console in process, its API's p95 beside the SLA and beside /healthz on the same server.
if(TARGET agentry_test_support)
  add_executable(console_bench console/console_bench.cc)
  target_link_libraries(console_bench PRIVATE agentry_console_lib agentry_test_support)
endif()
