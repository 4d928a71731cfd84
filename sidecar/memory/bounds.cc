#include "sidecar/memory/bounds.h"

#include <map>
#include <set>
#include <utility>

namespace agentry::memory {

Status memory_full(const std::string& agent, size_t bound) {
  return Status(Code::kResourceExhausted,
                "memory full: agent " + agent + " holds memory.maxEntries (" +
                    std::to_string(bound) +
                    ") facts; delete some, raise memory.maxEntries, or set memory.onFull: "
                    "evictOldest",
                507);
}

std::vector<PlannedWrite> plan_bounds(const std::vector<const std::vector<Op>*>& requests,
                                      const Limits& limits, const BoundsView& view) {
  using Key = std::pair<std::string, Kind>;
  std::map<Key, long> delta;                  // what earlier requests of the group added
  std::map<Key, std::set<std::string>> gone;  // evicted or deleted by earlier requests
  std::map<Key, std::set<std::string>> added;
  std::vector<PlannedWrite> out;
  out.reserve(requests.size());
  for (const auto* ops : requests) {
    PlannedWrite plan;
    std::map<Key, long> adds;
    std::set<Key> touched;
    std::set<std::pair<std::string, std::string>> seen;  // (agent, id) already counted here
    for (const auto& op : *ops) {
      const Key key{op.entry.agent, op.entry.kind};
      if (op.type != Op::Type::kPut) continue;
      if (!seen.insert({op.entry.agent, op.entry.id}).second) continue;
      bool is_new = op.new_id || !added[key].count(op.entry.id);
      if (is_new && !op.new_id) {  // a generated id is new without looking
        auto existing = view.kind_of(op.entry.agent, op.entry.id);
        // An existing id is an update; its kind still changes the counts when it changes.
        is_new = !existing || gone[{op.entry.agent, *existing}].count(op.entry.id) ||
                 *existing != op.entry.kind;
      }
      if (is_new) {
        ++adds[key];
        touched.insert(key);
      }
    }
    for (const auto& key : touched) {
      const size_t bound =
          key.second == Kind::kFact ? limits.max_entries_per_agent : limits.max_exchanges_per_agent;
      const long have = static_cast<long>(view.count(key.first, key.second)) + delta[key] -
                        static_cast<long>(gone[key].size());
      const long over = have + adds[key] - static_cast<long>(bound);
      if (over <= 0) continue;
      if (key.second == Kind::kFact && limits.on_full == Limits::OnFull::kRefuse) {
        plan.status = memory_full(key.first, bound);
        break;
      }
      // As if the request were written and then the oldest removed: what the store holds first
      // (skipping what this group removed already), then, when the request alone is over the
      // bound, its own first puts.
      long taken = 0;
      auto evict = [&](std::string id) {
        Op del;
        del.type = Op::Type::kDelete;
        del.entry.agent = key.first;
        del.entry.id = std::move(id);
        del.entry.kind = key.second;
        plan.evictions.push_back(std::move(del));
        ++taken;
      };
      for (auto& id :
           view.oldest(key.first, key.second, static_cast<size_t>(over) + gone[key].size())) {
        if (taken == over) break;
        if (!gone[key].count(id) && !added[key].count(id)) evict(std::move(id));
      }
      std::set<std::string> own;
      for (const auto& op : *ops) {
        if (taken == over) break;
        if (op.type == Op::Type::kPut && op.entry.agent == key.first &&
            op.entry.kind == key.second && own.insert(op.entry.id).second &&
            (op.new_id || !view.kind_of(op.entry.agent, op.entry.id)))
          evict(op.entry.id);
      }
    }
    if (plan.status) {
      for (const auto& [key, n] : adds) delta[key] += n;
      for (const auto& op : *ops) {
        if (op.type == Op::Type::kPut) added[{op.entry.agent, op.entry.kind}].insert(op.entry.id);
      }
      for (const auto& del : plan.evictions)
        gone[{del.entry.agent, del.entry.kind}].insert(del.entry.id);
    } else {
      plan.evictions.clear();
    }
    out.push_back(std::move(plan));
  }
  return out;
}

}  // namespace agentry::memory
