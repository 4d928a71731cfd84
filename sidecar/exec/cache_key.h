// The response-cache key: "resp:" + SHA-256 hex over the model, the messages and the parameters in
// a canonical JSON form (nlohmann sorts object keys), so equal requests share an entry.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "sidecar/exec/providers/provider.h"

namespace agentry::sidecar {

std::string sha256_hex(std::string_view data);
std::string response_cache_key(const std::string& model, const ChatRequest& req);
// True when the call is deterministic enough to cache: temperature present and 0.
bool cacheable(const nlohmann::json& options);

}  // namespace agentry::sidecar
