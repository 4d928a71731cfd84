#include "sidecar/memory/memory_store.h"

#include <algorithm>
#include <mutex>

namespace agentry::memory {
namespace {

// A filtered set at most this large is scanned exactly instead of going through the graph.
constexpr size_t kExactCandidates = 20000;

bool matches(const Entry& e, const Filter& f, int64_t now) {
  if (e.expires_ms != 0 && e.expires_ms <= now) return false;
  if (f.session && e.session != *f.session) return false;
  if (f.kind && e.kind != *f.kind) return false;
  for (const auto& [k, v] : f.metadata) {
    auto it = e.metadata.find(k);
    if (it == e.metadata.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

uint64_t MemoryStore::text_key(std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](unsigned char c) {
    h ^= c;
    h *= 1099511628211ULL;
  };
  bool gap = false, started = false;
  for (unsigned char c : text) {
    bool ascii_word = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c < 0x80 && !ascii_word) {
      gap = started;
      continue;
    }
    if (gap) mix(' ');
    gap = false;
    started = true;
    mix(c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c - 'A' + 'a') : c);
  }
  return h;
}

MemoryStore::Agent* MemoryStore::find(const std::string& agent) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = agents_.find(agent);
  return it == agents_.end() ? nullptr : it->second.get();
}

MemoryStore::Agent& MemoryStore::find_or_add(const std::string& agent) {
  if (Agent* a = find(agent)) return *a;
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto& slot = agents_[agent];
  if (!slot) slot = std::make_unique<Agent>();
  return *slot;
}

void MemoryStore::erase_locked(Agent& a, std::map<std::string, Stored>::iterator it) {
  auto slot = it->second.slot;
  a.index->remove(slot);
  a.by_slot[slot] = nullptr;
  auto s = a.sessions.find(it->second.entry.session);
  if (s != a.sessions.end()) {
    s->second.erase(slot);
    if (s->second.empty()) a.sessions.erase(s);
  }
  a.by_age[static_cast<size_t>(it->second.entry.kind)].erase(
      {it->second.entry.created_ms, it->first});
  auto t = a.by_text.find(text_key(it->second.entry.text));
  if (t != a.by_text.end()) {
    std::erase(t->second, slot);
    if (t->second.empty()) a.by_text.erase(t);
  }
  a.entries.erase(it);
}

Status MemoryStore::apply(const Op& op) {
  const Entry& e = op.entry;
  if (op.type == Op::Type::kDelete) {
    Agent* a = find(e.agent);
    if (!a) return ok_status();
    std::unique_lock<std::shared_mutex> lock(a->mu);
    auto it = a->entries.find(e.id);
    if (it != a->entries.end()) erase_locked(*a, it);
    return ok_status();
  }
  Agent& a = find_or_add(e.agent);
  {
    // The change feed brings back this replica's own writes, already applied: seeing that under
    // the shared lock keeps reads of the agent running meanwhile.
    std::shared_lock<std::shared_mutex> lock(a.mu);
    auto it = a.entries.find(e.id);
    if (it != a.entries.end() && it->second.entry.rev == e.rev) return ok_status();
  }
  std::unique_lock<std::shared_mutex> lock(a.mu);
  if (!a.index) {
    if (e.embedding.empty()) return invalid_argument("entry has no embedding");
    a.index = std::make_unique<VectorIndex>(static_cast<int>(e.embedding.size()), opts_);
  }
  if (static_cast<int>(e.embedding.size()) != a.index->dim())
    return invalid_argument("embedding dimension " + std::to_string(e.embedding.size()) +
                            " does not match the agent's " + std::to_string(a.index->dim()));
  auto it = a.entries.find(e.id);
  if (it != a.entries.end()) {
    if (it->second.entry.rev == e.rev) return ok_status();  // already applied
    erase_locked(a, it);
  }
  auto slot = a.index->add(e.embedding.data());
  Stored st{e, slot};
  st.entry.embedding.clear();
  st.entry.embedding.shrink_to_fit();
  auto [pos, _] = a.entries.emplace(e.id, std::move(st));
  if (a.by_slot.size() <= slot) a.by_slot.resize(slot + 1, nullptr);
  a.by_slot[slot] = &pos->second;
  a.sessions[e.session].insert(slot);
  a.by_age[static_cast<size_t>(e.kind)].insert({e.created_ms, e.id});
  a.by_text[text_key(e.text)].push_back(slot);
  return ok_status();
}

std::optional<Entry> MemoryStore::get(const std::string& agent, const std::string& id,
                                      bool with_embedding) const {
  Agent* a = find(agent);
  if (!a) return std::nullopt;
  std::shared_lock<std::shared_mutex> lock(a->mu);
  auto it = a->entries.find(id);
  if (it == a->entries.end()) return std::nullopt;
  const Entry& e = it->second.entry;
  if (e.expires_ms != 0 && e.expires_ms <= now_ms()) return std::nullopt;
  Entry out = e;
  if (with_embedding) out.embedding = a->index->vector(it->second.slot);
  return out;
}

MemoryStore::Page MemoryStore::list(const std::string& agent, const Filter& f, size_t limit,
                                    const std::string& after) const {
  Page page;
  Agent* a = find(agent);
  if (!a) return page;
  int64_t now = now_ms();
  std::shared_lock<std::shared_mutex> lock(a->mu);
  auto it = after.empty() ? a->entries.begin() : a->entries.upper_bound(after);
  for (; it != a->entries.end(); ++it) {
    if (!matches(it->second.entry, f, now)) continue;
    if (page.items.size() == limit) {
      page.last_id = page.items.back().id;
      break;
    }
    page.items.push_back(it->second.entry);
  }
  return page;
}

std::vector<Hit> MemoryStore::search(const std::string& agent, const std::vector<float>& q,
                                     size_t k, float min_score, const Filter& filter, bool* exact,
                                     const std::string* query_text) const {
  *exact = true;
  std::vector<Hit> out;
  Agent* a = find(agent);
  if (!a) return out;
  int64_t now = now_ms();
  std::shared_lock<std::shared_mutex> lock(a->mu);
  if (!a->index || static_cast<int>(q.size()) != a->index->dim()) return out;
  bool filtered = filter.session || filter.kind || !filter.metadata.empty();
  bool any_ttl = true;  // cheap enough to always check expiry in accept
  VectorIndex::Accept accept;
  if (filtered || any_ttl) {
    accept = [&](VectorIndex::Slot s) {
      const Stored* st = s < a->by_slot.size() ? a->by_slot[s] : nullptr;
      return st && matches(st->entry, filter, now);
    };
  }
  std::vector<VectorIndex::Slot> cands;
  const std::vector<VectorIndex::Slot>* cand_ptr = nullptr;
  if (filter.session) {
    auto s = a->sessions.find(*filter.session);
    if (s == a->sessions.end()) return out;
    if (s->second.size() <= kExactCandidates) {
      cands.assign(s->second.begin(), s->second.end());
      cand_ptr = &cands;
    }
  }
  auto hits = a->index->search(q.data(), k, accept, cand_ptr, exact);
  if (query_text && !*exact) {
    auto same = a->by_text.find(text_key(*query_text));
    if (same != a->by_text.end()) {
      bool ignored;
      auto found = a->index->search(q.data(), k, accept, &same->second, &ignored);
      hits.insert(hits.end(), found.begin(), found.end());
      std::sort(hits.begin(), hits.end(), [](const auto& x, const auto& y) {
        return x.score != y.score ? x.score > y.score : x.slot < y.slot;
      });
      hits.erase(std::unique(hits.begin(), hits.end(),
                             [](const auto& x, const auto& y) { return x.slot == y.slot; }),
                 hits.end());
      if (hits.size() > k) hits.resize(k);
    }
  }
  for (const auto& h : hits) {
    if (h.score < min_score) continue;
    const Stored* st = a->by_slot[h.slot];
    if (!st) continue;
    out.push_back(Hit{st->entry, h.score});
  }
  // Equal scores: what someone chose to keep before the running conversation.
  std::stable_sort(out.begin(), out.end(), [](const Hit& x, const Hit& y) {
    if (x.score != y.score) return x.score > y.score;
    return x.entry.kind == Kind::kFact && y.entry.kind != Kind::kFact;
  });
  return out;
}

int MemoryStore::dimension(const std::string& agent) const {
  Agent* a = find(agent);
  if (!a) return 0;
  std::shared_lock<std::shared_mutex> lock(a->mu);
  return a->index ? a->index->dim() : 0;
}

size_t MemoryStore::count(const std::string& agent) const {
  Agent* a = find(agent);
  if (!a) return 0;
  std::shared_lock<std::shared_mutex> lock(a->mu);
  return a->entries.size();
}

size_t MemoryStore::count(const std::string& agent, Kind kind) const {
  Agent* a = find(agent);
  if (!a) return 0;
  std::shared_lock<std::shared_mutex> lock(a->mu);
  return a->by_age[static_cast<size_t>(kind)].size();
}

std::optional<Kind> MemoryStore::kind_of(const std::string& agent, const std::string& id) const {
  Agent* a = find(agent);
  if (!a) return std::nullopt;
  std::shared_lock<std::shared_mutex> lock(a->mu);
  auto it = a->entries.find(id);
  if (it == a->entries.end()) return std::nullopt;
  return it->second.entry.kind;
}

size_t MemoryStore::total(Kind kind) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [_, a] : agents_) {
    std::shared_lock<std::shared_mutex> al(a->mu);
    n += a->by_age[static_cast<size_t>(kind)].size();
  }
  return n;
}

size_t MemoryStore::max_count(Kind kind) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [_, a] : agents_) {
    std::shared_lock<std::shared_mutex> al(a->mu);
    n = std::max(n, a->by_age[static_cast<size_t>(kind)].size());
  }
  return n;
}

size_t MemoryStore::total() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [_, a] : agents_) {
    std::shared_lock<std::shared_mutex> al(a->mu);
    n += a->entries.size();
  }
  return n;
}

std::vector<std::string> MemoryStore::oldest(const std::string& agent, Kind kind, size_t n) const {
  std::vector<std::string> out;
  Agent* a = find(agent);
  if (!a) return out;
  std::shared_lock<std::shared_mutex> lock(a->mu);
  const auto& age = a->by_age[static_cast<size_t>(kind)];
  for (auto it = age.begin(); it != age.end() && out.size() < n; ++it) out.push_back(it->second);
  return out;
}

std::vector<Op> MemoryStore::expired(int64_t now) const {
  std::vector<Op> out;
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (const auto& [name, a] : agents_) {
    std::shared_lock<std::shared_mutex> al(a->mu);
    for (const auto& [id, st] : a->entries) {
      if (st.entry.expires_ms != 0 && st.entry.expires_ms <= now) {
        Op op;
        op.type = Op::Type::kDelete;
        op.entry.agent = name;
        op.entry.id = id;
        op.entry.kind = st.entry.kind;  // for the eviction counters
        out.push_back(std::move(op));
      }
    }
  }
  return out;
}

void MemoryStore::for_each(const std::function<void(const Entry&)>& fn) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (const auto& [name, a] : agents_) {
    std::shared_lock<std::shared_mutex> al(a->mu);
    for (const auto& [id, st] : a->entries) {
      Entry e = st.entry;
      e.embedding = a->index->vector(st.slot);
      fn(e);
    }
  }
}

bool MemoryStore::wait_indexed(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::shared_lock<std::shared_mutex> lock(mu_);  // clear() waits; indexes live as long as agents
  for (const auto& [_, a] : agents_) {
    VectorIndex* index;
    {
      std::shared_lock<std::shared_mutex> al(a->mu);
      index = a->index.get();
    }
    if (index && !index->wait_indexed(deadline)) return false;
  }
  return true;
}

size_t MemoryStore::index_backlog() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [_, a] : agents_) {
    std::shared_lock<std::shared_mutex> al(a->mu);
    if (a->index) n += a->index->backlog();
  }
  return n;
}

void MemoryStore::clear() {
  std::unique_lock<std::shared_mutex> lock(mu_);
  for (auto& [name, a] : agents_) {
    std::unique_lock<std::shared_mutex> al(a->mu);
    while (!a->entries.empty()) erase_locked(*a, a->entries.begin());
  }
}

void MemoryStore::build_indexes() {
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (auto& [name, a] : agents_) {
    std::shared_lock<std::shared_mutex> al(a->mu);
    if (a->index) a->index->build_now();
  }
}

bool MemoryStore::exact_only(const std::string& agent) const {
  Agent* a = find(agent);
  if (!a) return true;
  std::shared_lock<std::shared_mutex> lock(a->mu);
  return !a->index || !a->index->has_graph();
}

}  // namespace agentry::memory
