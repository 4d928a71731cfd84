#include "operator/controllers/agent_memory.h"

#include <cmath>

namespace agentry::controllers {

using nlohmann::json;

namespace {

int64_t int_of(const json& j, const char* ptr) {
  const json::json_pointer p(ptr);
  if (!j.contains(p)) return -1;
  const json& v = j.at(p);
  return v.is_number_integer() || v.is_number_unsigned() ? v.get<int64_t>() : -1;
}

int percent_of(const json& j, const char* ptr) {
  const json::json_pointer p(ptr);
  if (!j.contains(p) || !j.at(p).is_number()) return -1;
  const double v = j.at(p).get<double>();
  return std::isfinite(v) ? static_cast<int>(std::lround(v * 100)) : -1;
}

std::string part(const char* what, int pct, int64_t n, int64_t bound) {
  return std::string(what) + " " + std::to_string(pct) + "% of bound (" + std::to_string(n) + "/" +
         std::to_string(bound) + ")";
}

}  // namespace

json memory_status(const json& stats, const std::string& observed_at) {
  json m = json::object();
  if (!stats.is_object()) return m;
  const int64_t facts = int_of(stats, "/facts"), exchanges = int_of(stats, "/exchanges");
  const int64_t fb = int_of(stats, "/limits/maxEntriesPerAgent");
  const int64_t xb = int_of(stats, "/limits/exchangesMaxEntriesPerAgent");
  const int fp = percent_of(stats, "/fill/facts"), xp = percent_of(stats, "/fill/exchanges");
  if (facts >= 0) m["facts"] = facts;
  if (fb >= 0) m["factsBound"] = fb;
  if (fp >= 0) m["factsPercent"] = fp;
  if (exchanges >= 0) m["exchanges"] = exchanges;
  if (xb >= 0) m["exchangesBound"] = xb;
  if (xp >= 0) m["exchangesPercent"] = xp;
  json ev = json::object();
  for (const char* kind : {"fact", "exchange"}) {
    for (const char* reason : {"bound", "ttl"}) {
      const int64_t n = int_of(stats, (std::string("/evictions/") + kind + "/" + reason).c_str());
      if (n >= 0) ev[std::string(kind) + (reason[0] == 'b' ? "Bound" : "Ttl")] = n;
    }
  }
  if (!ev.empty()) m["evictions"] = ev;
  if (int64_t r = int_of(stats, "/refusedFull"); r >= 0) m["refusedFull"] = r;
  if (stats.contains("evictions") && stats["evictions"].is_object() &&
      stats["evictions"].contains("last") && stats["evictions"]["last"].is_string())
    m["lastEviction"] = stats["evictions"]["last"];
  std::string summary;
  if (fp >= 0 && facts >= 0 && fb >= 0) summary = part("facts", fp, facts, fb);
  if (xp >= 0 && exchanges >= 0 && xb >= 0)
    summary += (summary.empty() ? "" : ", ") + part("exchanges", xp, exchanges, xb);
  if (!summary.empty()) m["summary"] = summary;
  m["observedAt"] = observed_at;
  return m;
}

std::optional<std::string> memory_crossing_note(const json& old_memory, const json& new_memory) {
  auto pct = [](const json& m) {
    return m.is_object() && m.contains("factsPercent") && m["factsPercent"].is_number_integer()
               ? m["factsPercent"].get<int>()
               : -1;
  };
  const int before = pct(old_memory), now = pct(new_memory);
  if (now < kMemoryWarnPercent || before >= kMemoryWarnPercent) return std::nullopt;
  return "memory holds " +
         new_memory.value("summary", std::to_string(now) + "% of the fact bound") +
         "; at 100% fact writes get 507 (raise spec.memory.maxEntries, delete facts, or set "
         "spec.memory.onFull: evictOldest)";
}

}  // namespace agentry::controllers
