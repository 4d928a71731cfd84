# agentry-sidecar suites. The fake LLM server is a real process; integration tests spawn the built
# sidecar binary and talk to it over loopback HTTP.
add_executable(agentry-fake-llm support/fake_llm/main.cc)
target_link_libraries(agentry-fake-llm PRIVATE PkgConfig::HTTPLIB nlohmann_json::nlohmann_json
                      OpenSSL::SSL OpenSSL::Crypto Threads::Threads)

agentry_test(sidecar_unit_test LABEL unit SOURCES
  unit/sidecar/config_test.cc
  unit/sidecar/breaker_test.cc
  unit/sidecar/completion_test.cc
  unit/sidecar/engine_parts_test.cc
  unit/sidecar/errors_test.cc
  unit/sidecar/mcp_json_rpc_test.cc
  unit/sidecar/mcp_call_chain_test.cc
  unit/sidecar/a2a_protocol_test.cc
  LIBS agentry_sidecar_lib
)

agentry_test(process_unit_test LABEL unit SOURCES
  unit/process/ram_pressure_test.cc
  LIBS agentry_sidecar_lib
)

# In-process (server and raw client sockets on loopback): labelled unit so it runs under ASan too.
agentry_test(sidecar_http_server_unit_test LABEL unit SOURCES
  integration/sidecar/http_server_test.cc
  LIBS agentry_http
)

set(SIDECAR_IT_DEFS
  AGENTRY_SIDECAR_BIN="$<TARGET_FILE:agentry-sidecar>"
  AGENTRY_FAKE_LLM_BIN="$<TARGET_FILE:agentry-fake-llm>")

agentry_test(sidecar_integration_test LABEL integration TIMEOUT 300 SOURCES
  integration/sidecar/harness.cc
  integration/sidecar/api_test.cc
  integration/sidecar/executions_test.cc
  integration/sidecar/hostile_input_test.cc
  integration/sidecar/providers_test.cc
  integration/sidecar/shutdown_test.cc
  LIBS agentry_sidecar_lib
)
target_compile_definitions(sidecar_integration_test PRIVATE ${SIDECAR_IT_DEFS})
add_dependencies(sidecar_integration_test agentry-sidecar agentry-fake-llm)

# The MCP client against the MCP reference server (npm, hack/test-tools.sh).
agentry_test(mcp_integration_test LABEL integration TIMEOUT 300 SOURCES
  integration/sidecar/harness.cc
  integration/sidecar/mcp_client_test.cc
  integration/sidecar/agent_calls_test.cc
  integration/sidecar/a2a_test.cc
  integration/sidecar/mcp_sse_transport_test.cc
  integration/sidecar/mcp_servers.cc
  LIBS agentry_sidecar_lib
)
target_compile_definitions(mcp_integration_test PRIVATE ${SIDECAR_IT_DEFS})
add_dependencies(mcp_integration_test agentry-sidecar agentry-fake-llm)

# Issue 21: the sidecar on a real model: llama-server with Gemma 3 270M (hack/llm.sh builds and
# fetches both, cached). SERIAL: the model takes both cores while it generates.
agentry_test(real_model_integration_test LABEL integration TIMEOUT 900 SERIAL SOURCES
  integration/sidecar/harness.cc
  integration/sidecar/real_model_test.cc
  LIBS agentry_sidecar_lib
)
target_compile_definitions(real_model_integration_test PRIVATE ${SIDECAR_IT_DEFS})
add_dependencies(real_model_integration_test agentry-sidecar agentry-fake-llm)
