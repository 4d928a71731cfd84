# agentry-console (issue 18): pure pieces in unit tests; the API against the real control plane
# with the operator's controllers, the fake LLM and a real sidecar (chat); the UI in a real
# headless Chromium (tests/browser/, run by hack/test.sh).
agentry_test(console_unit_test LABEL unit SOURCES
  unit/console/auth_test.cc
  unit/console/api_pieces_test.cc
  LIBS agentry_console_lib
)

agentry_test(console_integration_test LABEL integration TIMEOUT 300 SOURCES
  integration/console/console_api_test.cc
  LIBS agentry_console_lib agentry_controllers
)
target_compile_definitions(console_integration_test PRIVATE
  AGENTRY_SIDECAR_BIN="$<TARGET_FILE:agentry-sidecar>"
  AGENTRY_FAKE_LLM_BIN="$<TARGET_FILE:agentry-fake-llm>")
if(NOT AGENTRY_WORKFLOW_PREBUILT_BINS)
  add_dependencies(console_integration_test agentry-sidecar agentry-fake-llm agentry-console)
endif()

# A real headless Chromium (Debian's) driven by playwright-core (hack/browser-tools.sh).
agentry_test(console_browser_test LABEL integration TIMEOUT 480 SOURCES
  integration/console/console_browser_test.cc
  LIBS agentry_console_lib agentry_controllers
)
target_compile_definitions(console_browser_test PRIVATE
  AGENTRY_SIDECAR_BIN="$<TARGET_FILE:agentry-sidecar>"
  AGENTRY_FAKE_LLM_BIN="$<TARGET_FILE:agentry-fake-llm>")
if(NOT AGENTRY_WORKFLOW_PREBUILT_BINS)
  add_dependencies(console_browser_test agentry-sidecar agentry-fake-llm)
endif()
