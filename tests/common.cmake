agentry_test(common_unit_test LABEL unit SOURCES
  unit/common/backoff_test.cc
  unit/common/cpu_quota_test.cc
  unit/common/health_test.cc
  unit/common/json_io_test.cc
  unit/common/result_test.cc
  unit/common/time_format_test.cc
  unit/common/tls_trust_test.cc
)
agentry_test(control_plane_integration_test LABEL integration SOURCES
  integration/control_plane_test.cc
)
agentry_test(redis_support_integration_test LABEL integration SOURCES
  integration/redis_support_test.cc
)
