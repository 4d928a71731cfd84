// libFuzzer target: what an MCP server sends the sidecar's MCP client (an MCP server is untrusted).
// The bytes are read as a Server-Sent Events stream (sidecar/mcp/json_rpc.h parse_sse) and every
// event's data, and the whole input, as JSON-RPC bodies (parse_body); each message is classified
// and, for responses, its result read the way the client reads tools/list and tools/call.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sidecar/mcp/json_rpc.h"

using namespace agentry::sidecar::mcp;

namespace {

void read_messages(const std::string& body) {
  for (const auto& m : parse_body(body)) {
    if (m.kind != Incoming::Kind::kResponse || !m.result.is_object()) continue;
    if (auto tools = m.result.find("tools"); tools != m.result.end() && tools->is_array()) {
      for (const auto& t : *tools)
        if (t.is_object()) (void)t.value("name", std::string());
    }
    if (auto c = m.result.find("content"); c != m.result.end() && c->is_array()) {
      for (const auto& part : *c)
        if (part.is_object()) (void)part.value("type", std::string());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  for (const auto& ev : parse_sse(input, 256)) read_messages(ev.data);
  read_messages(input);
  return 0;
}
