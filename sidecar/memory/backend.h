// Where memory operations are made durable before they are acknowledged.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "sidecar/memory/types.h"

namespace agentry::memory {

class Backend {
 public:
  using Apply = std::function<void(const Op&)>;
  virtual ~Backend() = default;
  // Loads what is stored, calling apply for each op in order; then starts following changes made
  // by others (Redis), calling apply for each as it arrives.
  virtual Status open(const Apply& apply) = 0;
  // Returns once the ops are durable (fsync'd, or acknowledged by Redis).
  virtual Status commit(const std::vector<Op>& ops) = 0;
  // "" when healthy, else why writes cannot be made durable now.
  virtual std::string degraded_reason() const = 0;
  virtual std::string name() const = 0;
};

}  // namespace agentry::memory
