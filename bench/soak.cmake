# The soak (issue 14): the operator, sidecars, Redis and the fake LLM on a private control plane
# under load and faults. bench/soak.sh runs it for an hour; hack/test.sh runs 5 minutes of it.
if(TARGET agentry_test_support AND TARGET agentry-sidecar AND TARGET agentry-fake-llm)
  add_executable(agentry-soak soak/soak.cc)
  target_link_libraries(agentry-soak PRIVATE agentry_operator_lib agentry_test_support)
  target_compile_definitions(agentry-soak PRIVATE
    AGENTRY_OPERATOR_BIN="$<TARGET_FILE:agentry-operator>"
    AGENTRY_SIDECAR_BIN="$<TARGET_FILE:agentry-sidecar>"
    AGENTRY_FAKE_LLM_BIN="$<TARGET_FILE:agentry-fake-llm>")
  add_dependencies(agentry-soak agentry-operator agentry-sidecar agentry-fake-llm)
  if(AGENTRY_TESTS)
    # Five minutes, one fault every 50 s: each kind of fault once.
    add_test(NAME Soak.FiveMinutesWithFaults COMMAND agentry-soak --minutes 5 --fault-every 50)
    set_tests_properties(Soak.FiveMinutesWithFaults PROPERTIES LABELS "soak;integration" TIMEOUT 900)
  endif()
endif()
