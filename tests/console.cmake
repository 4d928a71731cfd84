# agentry-console (issue 18): pure pieces in unit tests; the API against the real control plane
# with the operator's controllers, the fake LLM and a real sidecar (chat); the UI in a real
# headless Chromium (tests/browser/, run by hack/test.sh).
agentry_test(console_unit_test LABEL unit SOURCES
  unit/console/auth_test.cc
  unit/console/api_pieces_test.cc
  LIBS agentry_console_lib
)
