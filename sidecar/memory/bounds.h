// The bounds on what an agent's memory holds, as one pure rule shared by every backend that has no
// rule of its own (in-process and the embedded log; Redis runs the same rule in a script, see
// redis_backend.h, so that replicas sharing it decide together).
//
// Write requests are planned in the order they will be made durable. For each request:
//   - its puts of new ids are counted per agent and kind, beside what the store holds and what the
//     earlier requests of the same group add;
//   - exchanges over Limits::max_exchanges_per_agent evict the oldest exchanges (the request's own
//     first puts too, when it alone is over the bound: as if written, then trimmed);
//   - facts over Limits::max_entries_per_agent are refused (507 naming memory.maxEntries, nothing
//     of the request written) or, with OnFull::kEvictOldest, evict the oldest facts;
//   - an exchange never evicts a fact, and a fact never evicts an exchange.
// Pure: no I/O, no locks; the view answers from whatever state the caller holds still.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "sidecar/memory/types.h"

namespace agentry::memory {

// What the rule needs to know of the state before the group.
struct BoundsView {
  std::function<size_t(const std::string& agent, Kind kind)> count;
  // The n oldest ids of that agent and kind.
  std::function<std::vector<std::string>(const std::string& agent, Kind kind, size_t n)> oldest;
  // The kind of an existing entry, nullopt when the id is new.
  std::function<std::optional<Kind>(const std::string& agent, const std::string& id)> kind_of;
};

struct PlannedWrite {
  Status status;  // ok, or the 507 for a fact bound with OnFull::kRefuse
  // Deletes (entry.kind set) to make durable right after the request's own ops (they may name
  // ids the request puts).
  std::vector<Op> evictions;
};

// One PlannedWrite per request, in order.
std::vector<PlannedWrite> plan_bounds(const std::vector<const std::vector<Op>*>& requests,
                                      const Limits& limits, const BoundsView& view);

// The 507 a fact write gets at the bound (also what the Redis script's refusal becomes).
Status memory_full(const std::string& agent, size_t bound);

}  // namespace agentry::memory
