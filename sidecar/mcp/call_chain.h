// Agents calling agents (pure, no I/O): the chain of agents an execution was called through,
// carried from sidecar to sidecar in the Agentry-Call-Chain header of the MCP calls between them,
// and the idempotency key a child call carries.
//
//   chain = parse_call_chain(req.get_header_value(kCallChainHeader))   // {"planner", "researcher"}
//   if (auto why = refuse_call(*chain, "writer", /*max_depth=*/4)) ...  // loop or too deep
//   headers: kCallChainHeader = format_call_chain(chain + "writer"),
//            Idempotency-Key  = child_idempotency_key(parent_key, turn, index, tool, args)
//
// Why derived keys: a parent that is retried (a client retrying after a timeout, a pod that died
// mid-execution) asks its model again and gets the same tool calls; the child sidecar then sees
// the same key and answers with the execution it already ran instead of running it twice.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace agentry::sidecar::mcp {

inline constexpr const char* kCallChainHeader = "Agentry-Call-Chain";
inline constexpr size_t kMaxChainEntries = 64;

// Where a tool call happens, for the calls that go to other agents (Toolset::call).
struct CallContext {
  std::vector<std::string> chain;  // the agents the execution was called through, then its own
  std::string parent_key;          // its Idempotency-Key, else its execution id
  int turn = 0;                    // the model turn that asked for the call
  size_t index = 0;                // the call's place among that turn's calls
};

// "a,b,c" -> {"a","b","c"}; "" -> {}. Each entry an agent name (1-63 of [a-z0-9-]); anything else
// (or more than kMaxChainEntries) is an error naming the header.
Result<std::vector<std::string>> parse_call_chain(std::string_view header);
std::string format_call_chain(const std::vector<std::string>& chain);

// Why `self` may not run when called through `chain`: it is in the chain already (a loop: the
// message names the cycle), or the chain is max_depth long. nullopt: it may run.
std::optional<std::string> refuse_call(const std::vector<std::string>& chain,
                                       const std::string& self, int max_depth);

// 32 hex digits of SHA-256 over the parent's key (its Idempotency-Key, else its execution id), the
// model turn, the call's index in that turn, the tool's name and its arguments (canonical JSON:
// object keys sorted), so the same call of a retried parent gets the same key.
std::string child_idempotency_key(const std::string& parent_key, int turn, size_t index,
                                  const std::string& tool, const nlohmann::json& arguments);

}  // namespace agentry::sidecar::mcp
