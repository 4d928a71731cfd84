#include "sidecar/mcp/call_chain.h"

#include "common/json_io.h"
#include "sidecar/exec/cache_key.h"

namespace agentry::sidecar::mcp {

namespace {

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

}  // namespace

Result<std::vector<std::string>> parse_call_chain(std::string_view header) {
  std::vector<std::string> out;
  if (header.empty()) return out;
  size_t start = 0;
  while (start <= header.size()) {
    size_t comma = header.find(',', start);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view part = header.substr(start, comma - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!valid_name(part))
      return invalid_argument(std::string(kCallChainHeader) +
                              ": want comma-separated agent names (1-63 of [a-z0-9-])");
    out.emplace_back(part);
    if (out.size() > kMaxChainEntries)
      return invalid_argument(std::string(kCallChainHeader) + ": more than " +
                              std::to_string(kMaxChainEntries) + " entries");
    start = comma + 1;
  }
  return out;
}

std::string format_call_chain(const std::vector<std::string>& chain) {
  std::string out;
  for (const auto& a : chain) out += (out.empty() ? "" : ",") + a;
  return out;
}

std::optional<std::string> refuse_call(const std::vector<std::string>& chain,
                                       const std::string& self, int max_depth) {
  for (size_t i = 0; i < chain.size(); ++i) {
    if (chain[i] != self) continue;
    std::string cycle;
    for (size_t j = i; j < chain.size(); ++j) cycle += chain[j] + " -> ";
    return "call loop: " + cycle + self + " (agent '" + self + "' is already in the call chain)";
  }
  if (static_cast<int>(chain.size()) >= max_depth)
    return "call depth limit: " + format_call_chain(chain) + " -> " + self + " is " +
           std::to_string(chain.size() + 1) + " agents deep; agent.maxCallDepth is " +
           std::to_string(max_depth);
  return std::nullopt;
}

std::string child_idempotency_key(const std::string& parent_key, int turn, size_t index,
                                  const std::string& tool, const nlohmann::json& arguments) {
  const std::string in = parent_key + "\n" + std::to_string(turn) + "\n" + std::to_string(index) +
                         "\n" + tool + "\n" + json_io::dump(arguments);
  return "agentry-" + sha256_hex(in).substr(0, 32);
}

}  // namespace agentry::sidecar::mcp
