// Plug-in point for the response cache (sidecar/cache/ implements it: L1 in process, L2 Redis).
// The engine computes the key (sidecar/exec/cache_key.h: SHA-256 hex of model + messages +
// parameters) and only for deterministic calls (temperature 0); concurrent identical misses are
// collapsed into one provider call (single flight) before put().
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace agentry::sidecar {

class ResponseCacheHook {
 public:
  virtual ~ResponseCacheHook() = default;
  virtual std::optional<std::string> get(const std::string& key) = 0;
  virtual void put(const std::string& key, const std::string& value, std::chrono::seconds ttl) = 0;
};

}  // namespace agentry::sidecar
