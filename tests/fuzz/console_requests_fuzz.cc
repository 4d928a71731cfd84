// libFuzzer target: what a console client sends (the browser is not trusted; neither is whoever
// holds a session) and what its Secret and ConfigMaps hold: the bytes as an agent create body
// (agent_from_request against the built-in templates), as a user template (parse_template), and
// as the value of an account in the accounts Secret (parse_accounts). Nothing may crash or throw;
// what is accepted must be an Agent with a DNS-safe name or generateName.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/base64.h"
#include "common/json_io.h"
#include "console/agents/templates.h"
#include "console/auth/accounts.h"

using namespace agentry::console;
using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<AgentTemplate> templates = builtin_templates();
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto body = agentry::json_io::parse(text); body.ok()) {
    auto agent = agent_from_request(*body, templates, "default");
    if (agent.ok()) {
      const json& meta = (*agent)["metadata"];
      const std::string name = meta.contains("name") ? meta["name"].get<std::string>()
                                                     : meta["generateName"].get<std::string>();
      const std::string label = name.back() == '-' ? name.substr(0, name.size() - 1) : name;
      if (!is_dns_label(label)) __builtin_trap();
      if (!(*agent)["spec"].contains("model")) __builtin_trap();
    }
  }
  (void)parse_template(text, "fuzz");
  json secret = {{"data", {{"someone", agentry::base64_encode(text)}}}};
  auto parsed = parse_accounts(secret);
  if (parsed.accounts.size() + parsed.errors.size() != 1) __builtin_trap();
  return 0;
}
