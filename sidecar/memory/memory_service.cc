#include "sidecar/memory/memory_service.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/guarded.h"
#include "common/log.h"
#include "common/random_id.h"
#include "sidecar/memory/bounds.h"

namespace agentry::memory {
namespace {

constexpr size_t kRememberedMax = 8192;  // exchanges remembered for repeat detection

// Time-ordered: 12 hex digits of unix ms, a per-process sequence (order within a millisecond),
// and a per-process random tag (unique across replicas).
std::string new_id() {
  static const uint64_t tag = random64() & 0xffffffULL;
  static std::atomic<uint64_t> seq{random64() & 0xffffffULL};
  char buf[40];
  std::snprintf(buf, sizeof buf, "m%012llx%06llx%06llx", static_cast<unsigned long long>(now_ms()),
                static_cast<unsigned long long>(seq.fetch_add(1) & 0xffffffULL),
                static_cast<unsigned long long>(tag));
  return buf;
}

bool name_ok(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != ':')
      return false;
  return true;
}

}  // namespace

MemoryService::MemoryService(MemoryOptions opts, std::shared_ptr<Embedder> embedder)
    : opts_(std::move(opts)), embedder_(std::move(embedder)), store_(opts_.index) {}

Result<std::unique_ptr<MemoryService>> MemoryService::open(MemoryOptions opts,
                                                           std::shared_ptr<Embedder> embedder) {
  if (!embedder) embedder = std::make_shared<LocalEmbedder>();
  // Only the lexical and provider embedders existed before stores were marked (embedder_mark.h).
  const std::string eid = embedder->name() + "/" + std::to_string(embedder->dimension());
  const bool adopt =
      embedder->name() == LocalEmbedder::kName || embedder->name().rfind("provider:", 0) == 0;
  opts.log.mark = opts.redis_backend.mark = EmbedderMark{eid, adopt};
  std::unique_ptr<MemoryService> s(new MemoryService(std::move(opts), std::move(embedder)));
  auto apply = [svc = s.get()](const Op& op) {
    auto st = svc->store_.apply(op);
    if (!st) log::warn("memory op not applied", {{"id", op.entry.id}, {"error", st.message()}});
  };
  switch (s->opts_.persistence) {
    case MemoryOptions::Persistence::kNone:
      break;
    case MemoryOptions::Persistence::kEmbedded: {
      auto log = std::make_unique<LogStore>(s->opts_.log);
      s->log_ = log.get();
      s->backend_ = std::move(log);
      break;
    }
    case MemoryOptions::Persistence::kRedis: {
      if (!s->opts_.redis)
        return invalid_argument("memory: redis persistence without redis options");
      auto ro = *s->opts_.redis;
      ro.name += "-memory";
      s->pool_ = std::make_unique<redis::RedisPool>(ro);
      auto rb = std::make_unique<RedisBackend>(*s->pool_, s->opts_.redis_backend);
      rb->on_reload = [svc = s.get()] { svc->store_.clear(); };
      s->redis_backend_ = rb.get();
      s->backend_ = std::move(rb);
      break;
    }
  }
  if (s->backend_) {
    if (auto st = s->backend_->open(apply); !st) return st;
  }
  s->committer_ = std::make_unique<GroupCommitter>(
      [svc = s.get()](std::vector<GroupCommitter::Request>& group) { svc->flush_group(group); },
      s->opts_.max_pending_writes);
  s->remember_ = std::thread(
      [svc = s.get()] { run_guarded("memory-remember", [svc] { svc->remember_loop(); }); });
  s->maintenance_ = std::thread(
      [svc = s.get()] { run_guarded("memory-maintenance", [svc] { svc->maintenance_loop(); }); });
  return s;
}

MemoryService::~MemoryService() {
  if (!drain_for(Ms(10000))) log::error("memory: remember queue not drained at shutdown", {});
  {
    std::lock_guard<std::mutex> lock(q_mu_);
    stop_ = true;
  }
  q_cv_.notify_all();
  m_cv_.notify_all();
  if (remember_.joinable()) remember_.join();
  if (maintenance_.joinable()) maintenance_.join();
  committer_.reset();  // flushes what is queued
  backend_.reset();    // stops the follower before the pool goes
}

const std::string& MemoryService::agent_or_default(const std::string& agent) const {
  return agent.empty() ? opts_.default_agent : agent;
}

Status MemoryService::validate(const NewEntry& e) const {
  const Limits& l = opts_.limits;
  if (!name_ok(agent_or_default(e.agent), 128))
    return invalid_argument("agent must be 1-128 characters of [A-Za-z0-9._:-]");
  if (!e.id.empty() && !name_ok(e.id, l.max_id_bytes))
    return invalid_argument("id must be 1-" + std::to_string(l.max_id_bytes) +
                            " characters of [A-Za-z0-9._:-]");
  if (e.session.size() > 256) return invalid_argument("session longer than 256 bytes");
  if (e.text.find_first_not_of(" \t\r\n") == std::string::npos)
    return invalid_argument("text is empty");
  if (e.text.size() > l.max_text_bytes)
    return Status(Code::kResourceExhausted,
                  "text larger than " + std::to_string(l.max_text_bytes) + " bytes", 413);
  if (e.metadata.size() > l.max_metadata_pairs)
    return invalid_argument("more than " + std::to_string(l.max_metadata_pairs) +
                            " metadata pairs");
  for (const auto& [k, v] : e.metadata) {
    if (k.empty() || k.size() > l.max_metadata_key_bytes)
      return invalid_argument("metadata key empty or longer than " +
                              std::to_string(l.max_metadata_key_bytes) + " bytes");
    if (v.size() > l.max_metadata_value_bytes)
      return invalid_argument("metadata value of " + k + " longer than " +
                              std::to_string(l.max_metadata_value_bytes) + " bytes");
  }
  if (e.ttl_s < 0 || e.ttl_s > l.max_ttl_s)
    return invalid_argument("ttl must be between 0 and " + std::to_string(l.max_ttl_s) + " s");
  if (e.embedding) {
    if (e.embedding->empty()) return invalid_argument("embedding is empty");
    for (float x : *e.embedding)
      if (!std::isfinite(x)) return invalid_argument("embedding has a non-finite value");
  }
  return ok_status();
}

Status MemoryService::commit_and_apply(const std::vector<Op>& ops) {
  std::vector<GroupCommitter::Request> one(1);
  one[0].ops = ops;
  write_group(one);
  return one[0].result;
}

void MemoryService::flush_group(std::vector<GroupCommitter::Request>& group) {
  // Back-pressure from the index: while the graph is far behind, writes wait here (and further
  // writers queue behind them, then get 503s), so searches never scan an unbounded backlog.
  if (!store_.wait_indexed(opts_.index_wait)) {
    Status behind(Code::kUnavailable,
                  "memory index is behind (" + std::to_string(store_.index_backlog()) +
                      " vectors waiting); retry later",
                  503);
    for (auto& r : group) r.result = behind;
    ++index_refused_;
    return;
  }
  write_group(group);
}

// The bounds are decided here, where writes are serialised: by the Redis script for the Redis
// backend (replicas share it), else by plan_bounds against this store. Each request is then
// written whole (its puts and the evictions they cause) or refused whole.
void MemoryService::write_group(std::vector<GroupCommitter::Request>& group) {
  std::shared_lock<std::shared_mutex> gate(gate_);
  std::vector<const std::vector<Op>*> requests;
  requests.reserve(group.size());
  for (const auto& r : group) requests.push_back(&r.ops);
  std::vector<PlannedWrite> plans;
  if (redis_backend_) {
    auto r = redis_backend_->commit_bounded(requests, opts_.limits);
    if (!r.ok()) {
      for (auto& req : group) req.result = r.status();
      return;
    }
    for (auto& o : *r) {
      PlannedWrite p;
      if (o.full) p.status = memory_full(o.full_agent, opts_.limits.max_entries_per_agent);
      p.evictions = std::move(o.evictions);
      plans.push_back(std::move(p));
    }
  } else {
    BoundsView view;
    view.count = [this](const std::string& a, Kind k) { return store_.count(a, k); };
    view.oldest = [this](const std::string& a, Kind k, size_t n) { return store_.oldest(a, k, n); };
    view.kind_of = [this](const std::string& a, const std::string& id) {
      return store_.kind_of(a, id);
    };
    plans = plan_bounds(requests, opts_.limits, view);
    if (backend_) {
      std::vector<Op> all;
      for (size_t i = 0; i < group.size(); ++i) {
        if (!plans[i].status) continue;
        all.insert(all.end(), group[i].ops.begin(), group[i].ops.end());
        all.insert(all.end(), plans[i].evictions.begin(), plans[i].evictions.end());
      }
      if (!all.empty()) {
        if (auto s = backend_->commit(all); !s) {
          for (auto& req : group) req.result = s;
          return;
        }
      }
    }
  }
  for (size_t i = 0; i < group.size(); ++i) {
    auto& r = group[i];
    if (!plans[i].status) {
      r.result = plans[i].status;
      ++refused_full_;
      continue;
    }
    for (const auto& op : r.ops) {
      if (auto s = store_.apply(op); !s) {
        r.result = s;
        break;
      }
    }
    for (const auto& op : plans[i].evictions) (void)store_.apply(op);
    count_evictions(plans[i].evictions, /*ttl=*/false);
  }
}

void MemoryService::count_evictions(const std::vector<Op>& deletes, bool ttl) {
  if (deletes.empty()) return;
  uint64_t facts = 0;
  for (const auto& d : deletes) {
    ++evicted_[static_cast<size_t>(d.entry.kind)][ttl ? 1 : 0];
    if (d.entry.kind == Kind::kFact) ++facts;
  }
  const int64_t now = now_ms();
  last_eviction_ms_ = now;
  // Never silent, never a flood: one line a minute at most, saying what went since.
  int64_t logged = last_eviction_log_ms_.load();
  if (now - logged >= 60000 && last_eviction_log_ms_.compare_exchange_strong(logged, now)) {
    const Evictions e = evictions();
    log::warn("memory entries evicted", {{"reason", ttl ? "ttl" : "bound"},
                                         {"facts_now", facts},
                                         {"entries_now", deletes.size()},
                                         {"facts_bound_total", e.fact_bound},
                                         {"facts_ttl_total", e.fact_ttl},
                                         {"exchanges_bound_total", e.exchange_bound},
                                         {"exchanges_ttl_total", e.exchange_ttl}});
  }
}

MemoryService::Evictions MemoryService::evictions() const {
  Evictions e;
  e.fact_bound = evicted_[0][0].load();
  e.fact_ttl = evicted_[0][1].load();
  e.exchange_bound = evicted_[1][0].load();
  e.exchange_ttl = evicted_[1][1].load();
  e.last_ms = last_eviction_ms_.load();
  return e;
}

Result<std::vector<Entry>> MemoryService::add(std::vector<NewEntry> batch) {
  auto p = prepare_add(std::move(batch));
  if (!p.ok()) return p.status();
  if (auto s = committer_->commit(std::move(p->ops)); !s) return s;
  return std::move(p->out);
}

void MemoryService::add_async(std::vector<NewEntry> batch, AddDone done) {
  auto p = prepare_add(std::move(batch));
  if (!p.ok()) return done(p.status());
  auto out = std::make_shared<std::vector<Entry>>(std::move(p->out));
  auto finish = std::make_shared<AddDone>(std::move(done));
  bool queued = committer_->submit(std::move(p->ops), [out, finish](const Status& s) {
    if (s) {
      (*finish)(std::move(*out));
    } else {
      (*finish)(s);
    }
  });
  if (!queued) (*finish)(GroupCommitter::refused());
}

Result<MemoryService::PreparedAdd> MemoryService::prepare_add(std::vector<NewEntry> batch) {
  if (batch.empty()) return invalid_argument("no entries");
  if (batch.size() > opts_.limits.max_batch)
    return invalid_argument("more than " + std::to_string(opts_.limits.max_batch) +
                            " entries in one request");
  std::vector<std::string> to_embed;
  for (auto& e : batch) {
    if (auto s = validate(e); !s) return s;
    e.agent = agent_or_default(e.agent);
    if (!e.embedding) to_embed.push_back(e.text);
  }
  std::vector<Vector> vecs;
  if (!to_embed.empty()) {
    auto r = embedder_->embed(to_embed);
    if (!r.ok()) return r.status();
    vecs = std::move(r.value());
  }
  std::vector<Op> ops;
  int64_t now = now_ms();
  size_t vi = 0;
  for (auto& e : batch) {
    Op op;
    Entry& en = op.entry;
    if (e.embedding) {
      en.embedding = std::move(*e.embedding);
      l2_normalize(en.embedding);
    } else {
      en.embedding = std::move(vecs[vi++]);
    }
    int dim = store_.dimension(e.agent);
    if (dim != 0 && static_cast<int>(en.embedding.size()) != dim)
      return invalid_argument("embedding dimension " + std::to_string(en.embedding.size()) +
                              " does not match agent " + e.agent + "'s " + std::to_string(dim));
    op.new_id = e.id.empty();
    en.id = op.new_id ? new_id() : e.id;
    en.kind = e.kind;
    en.agent = e.agent;
    en.session = std::move(e.session);
    en.text = std::move(e.text);
    en.metadata = std::move(e.metadata);
    en.created_ms = now;
    const int64_t ttl_s = e.ttl_s > 0                 ? e.ttl_s
                          : e.kind == Kind::kExchange ? opts_.limits.exchange_ttl_s
                                                      : opts_.limits.default_ttl_s;
    en.expires_ms = ttl_s > 0 ? now + ttl_s * 1000 : 0;
    en.rev = random64();
    ops.push_back(std::move(op));
  }
  std::vector<Entry> out;
  out.reserve(ops.size());
  for (const auto& op : ops) {
    Entry e = op.entry;
    e.embedding.clear();
    out.push_back(std::move(e));
  }
  return PreparedAdd{std::move(ops), std::move(out)};
}

Result<Entry> MemoryService::get(const std::string& agent, const std::string& id,
                                 bool with_embedding) {
  auto e = store_.get(agent_or_default(agent), id, with_embedding);
  if (!e) return not_found("memory " + id + " not found");
  return std::move(*e);
}

Status MemoryService::remove(const std::string& agent, const std::string& id) {
  const std::string& a = agent_or_default(agent);
  if (!store_.get(a, id, false)) return not_found("memory " + id + " not found");
  Op op;
  op.type = Op::Type::kDelete;
  op.entry.agent = a;
  op.entry.id = id;
  return commit_and_apply({op});
}

Result<MemoryStore::Page> MemoryService::list(const std::string& agent, const Filter& filter,
                                              size_t limit, const std::string& after) {
  if (limit < 1 || limit > 1000) return invalid_argument("limit must be between 1 and 1000");
  return store_.list(agent_or_default(agent), filter, limit, after);
}

Result<SearchResult> MemoryService::search(SearchRequest req) {
  auto t0 = std::chrono::steady_clock::now();
  const std::string& agent = agent_or_default(req.agent);
  if (req.k < 1 || req.k > static_cast<size_t>(opts_.limits.max_k))
    return invalid_argument("k must be between 1 and " + std::to_string(opts_.limits.max_k));
  if (req.query.has_value() == req.vector.has_value())
    return invalid_argument("give exactly one of query (text) and vector");
  if (!(req.min_score >= -1.0f && req.min_score <= 1.0f))
    return invalid_argument("minScore must be between -1 and 1");
  Vector q;
  if (req.query) {
    if (req.query->find_first_not_of(" \t\r\n") == std::string::npos)
      return invalid_argument("query is empty");
    if (req.query->size() > opts_.limits.max_text_bytes)
      return Status(Code::kResourceExhausted, "query too large", 413);
    auto r = embedder_->embed({*req.query});
    if (!r.ok()) return r.status();
    q = std::move(r.value()[0]);
  } else {
    q = std::move(*req.vector);
    for (float x : q)
      if (!std::isfinite(x)) return invalid_argument("vector has a non-finite value");
    l2_normalize(q);
  }
  int dim = store_.dimension(agent);
  if (dim != 0 && static_cast<int>(q.size()) != dim)
    return invalid_argument("query vector dimension " + std::to_string(q.size()) +
                            " does not match agent " + agent + "'s " + std::to_string(dim));
  SearchResult out;
  out.hits = store_.search(agent, q, req.k, req.min_score, req.filter, &out.exact,
                           req.query ? &*req.query : nullptr);
  out.took_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

std::vector<RecallHit> MemoryService::recall(const std::string& agent, const std::string& session,
                                             const std::string& query, int k) {
  SearchRequest req;
  req.agent = agent;
  req.query = query;
  req.k = static_cast<size_t>(std::clamp(k, 1, opts_.limits.max_k));
  if (!session.empty()) req.filter.session = session;
  std::vector<RecallHit> out;
  auto r = search(std::move(req));
  if (!r.ok()) return out;
  for (auto& h : r->hits) out.push_back({h.entry.id, h.entry.text, h.score});
  return out;
}

void MemoryService::remember(const std::string& agent, const std::string& session,
                             const std::string& input, const std::string& output) {
  NewEntry e;
  e.kind = Kind::kExchange;
  e.agent = agent;
  e.session = session;
  e.text = "User: " + input + "\nAssistant: " + output;
  if (e.text.size() > opts_.limits.max_text_bytes) e.text.resize(opts_.limits.max_text_bytes);
  e.metadata["kind"] = "exchange";
  {
    std::lock_guard<std::mutex> lock(q_mu_);
    if (queue_.size() < opts_.remember_queue) {
      queue_.push_back(std::move(e));
      q_cv_.notify_one();
      return;
    }
  }
  // Full: write it here rather than drop it (back-pressure on a flooded engine).
  auto r = add({std::move(e)});
  if (r.ok()) {
    ++remember_written_;
  } else {
    ++remember_failed_;
    // One line a minute at most: during a Redis outage every execution lands here.
    const int64_t now = now_ms();
    int64_t logged = last_remember_error_log_ms_.load();
    if (now - logged >= 60000 && last_remember_error_log_ms_.compare_exchange_strong(logged, now))
      log::error("memory remember failed (exchanges not kept; counted in remember.failed)",
                 {{"error", r.status().message()}, {"failed_total", remember_failed_.load()}});
  }
}

void MemoryService::drain() {
  std::unique_lock<std::mutex> lock(q_mu_);
  q_done_cv_.wait(lock, [&] { return (queue_.empty() && in_flight_ == 0) || stop_; });
}

size_t MemoryService::remember_pending() const {
  std::lock_guard<std::mutex> lock(q_mu_);
  return queue_.size() + in_flight_;
}

bool MemoryService::drain_for(Ms timeout) {
  std::unique_lock<std::mutex> lock(q_mu_);
  return q_done_cv_.wait_for(lock, timeout, [&] { return queue_.empty() && in_flight_ == 0; });
}

// An agent asked the same thing in the same session gets the same exchange again: storing each
// copy costs an embedding and an index insert and adds nothing to recall (k copies of one text
// crowd out everything else). A repeat is dropped while the stored original still exists.
void MemoryService::drop_repeated(std::vector<NewEntry>* batch, std::vector<uint64_t>* keys) {
  std::vector<NewEntry> kept;
  keys->clear();
  for (auto& e : *batch) {
    uint64_t key = std::hash<std::string>{}(e.agent + '\x1f' + e.session + '\x1f' + e.text);
    if (std::find(keys->begin(), keys->end(), key) != keys->end()) {
      ++remember_repeated_;
      continue;
    }
    auto it = remembered_.find(key);
    if (it != remembered_.end()) {
      // The stored entry itself decides: a hash collision must never drop a different exchange.
      auto stored = get(e.agent, it->second, false);
      if (stored.ok() && stored->session == e.session && stored->text == e.text) {
        ++remember_repeated_;
        continue;
      }
      remembered_.erase(it);  // deleted or expired since (or a collision): store it
    }
    keys->push_back(key);
    kept.push_back(std::move(e));
  }
  *batch = std::move(kept);
}

constexpr Ms kRememberGather{10};

void MemoryService::remember_loop() {
  Backoff backoff({.initial = Ms(50), .max = Ms(2000), .full_jitter = true});
  std::unique_lock<std::mutex> lock(q_mu_);
  for (;;) {
    q_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    std::vector<NewEntry> batch;
    while (!queue_.empty() && batch.size() < opts_.limits.max_batch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    in_flight_ = batch.size();
    lock.unlock();
    std::vector<uint64_t> keys;
    drop_repeated(&batch, &keys);
    for (; !batch.empty();) {
      auto copy = batch;
      auto r = add(std::move(copy));
      if (r.ok()) {
        remember_written_ += batch.size();
        if (remembered_.size() + r->size() > kRememberedMax) remembered_.clear();
        for (size_t i = 0; i < r->size() && i < keys.size(); ++i) remembered_[keys[i]] = (*r)[i].id;
        backoff.reset();
        break;
      }
      bool retry =
          r.status().code() == Code::kUnavailable || r.status().code() == Code::kDeadlineExceeded;
      bool stopping;
      {
        std::lock_guard<std::mutex> l(q_mu_);
        stopping = stop_;
      }
      if (!retry || stopping) {
        remember_failed_ += batch.size();
        log::error("memory remember dropped",
                   {{"entries", batch.size()}, {"error", r.status().message()}});
        break;
      }
      std::this_thread::sleep_for(backoff.next());
    }
    lock.lock();
    in_flight_ = 0;
    q_done_cv_.notify_all();
    if (stop_) continue;
    // Gather for a moment before waiting again: an engine remembering an exchange per execution
    // would otherwise wake this thread once per execution (a context switch each); while it
    // sleeps, remember() finds no waiter and its notify costs nothing.
    lock.unlock();
    std::this_thread::sleep_for(kRememberGather);
    lock.lock();
  }
}

Status MemoryService::compact() {
  if (!log_) return ok_status();
  if (compacting_.exchange(true)) return ok_status();
  std::vector<Entry> state;
  uint64_t seq = 0;
  {
    std::unique_lock<std::shared_mutex> gate(gate_);
    auto r = log_->rotate();
    if (!r.ok()) {
      compacting_ = false;
      return r.status();
    }
    seq = r.value();
    store_.for_each([&](const Entry& e) { state.push_back(e); });
  }
  int64_t now = now_ms();
  auto s = log_->write_snapshot(seq, [&](const std::function<void(const Entry&)>& emit) {
    for (const auto& e : state)
      if (e.expires_ms == 0 || e.expires_ms > now) emit(e);
  });
  compacting_ = false;
  return s;
}

void MemoryService::maintenance_loop() {
  std::unique_lock<std::mutex> lock(q_mu_);
  while (!stop_) {
    m_cv_.wait_for(lock, opts_.sweep_interval, [&] { return stop_; });
    if (stop_) break;
    lock.unlock();
    // Expired entries leave the index; the log and Redis drop them by themselves (compaction,
    // PEXPIREAT), so this is not written anywhere.
    const auto expired = store_.expired(now_ms());
    for (const auto& op : expired) (void)store_.apply(op);
    count_evictions(expired, /*ttl=*/true);
    if (log_ && log_->wants_compaction()) {
      if (auto s = compact(); !s) log::error("memory compaction failed", {{"error", s.message()}});
    }
    lock.lock();
  }
}

MemoryService::WriteStats MemoryService::write_stats() const {
  WriteStats w;
  w.entries = store_.total();
  w.facts = store_.total(Kind::kFact);
  w.exchanges = store_.total(Kind::kExchange);
  auto fill = [](size_t n, size_t bound) {
    return bound ? static_cast<double>(n) / static_cast<double>(bound) : 0.0;
  };
  w.fill_facts = fill(store_.max_count(Kind::kFact), opts_.limits.max_entries_per_agent);
  w.fill_exchanges = fill(store_.max_count(Kind::kExchange), opts_.limits.max_exchanges_per_agent);
  w.refused_full = refused_full_.load();
  w.waiting = committer_ ? committer_->pending() : 0;
  w.groups = committer_ ? committer_->groups() : 0;
  w.index_backlog = store_.index_backlog();
  w.refused_index_behind = index_refused_.load();
  return w;
}

nlohmann::json MemoryService::stats() const {
  const WriteStats w = write_stats();
  const Evictions ev = evictions();
  const uint64_t ev_total = ev.fact_bound + ev.fact_ttl + ev.exchange_bound + ev.exchange_ttl;
  nlohmann::json j = {
      {"entries", w.entries},
      {"persistence", backend_ ? backend_->name() : "none"},
      {"embedder", embedder_->name()},
      {"dimension", embedder_->dimension()},
      {"facts", w.facts},
      {"exchanges", w.exchanges},
      {"evicted", ev_total},
      {"evictions",
       {{"fact", {{"bound", ev.fact_bound}, {"ttl", ev.fact_ttl}}},
        {"exchange", {{"bound", ev.exchange_bound}, {"ttl", ev.exchange_ttl}}},
        {"last", ev.last_ms ? nlohmann::json(rfc3339_ms(ev.last_ms)) : nlohmann::json()}}},
      {"refusedFull", w.refused_full},
      {"fill", {{"facts", w.fill_facts}, {"exchanges", w.fill_exchanges}}},
      {"writes",
       {{"waiting", w.waiting},
        {"groups", w.groups},
        {"indexBacklog", w.index_backlog},
        {"refusedIndexBehind", w.refused_index_behind}}},
      {"remember",
       {{"written", remember_written_.load()},
        {"failed", remember_failed_.load()},
        {"repeated", remember_repeated_.load()}}},
      {"limits",
       {{"maxEntriesPerAgent", opts_.limits.max_entries_per_agent},
        {"onFull", opts_.limits.on_full == Limits::OnFull::kEvictOldest ? "evictOldest" : "refuse"},
        {"exchangesMaxEntriesPerAgent", opts_.limits.max_exchanges_per_agent},
        {"exchangesTtlSeconds", opts_.limits.exchange_ttl_s},
        {"maxTextBytes", opts_.limits.max_text_bytes},
        {"maxMetadataPairs", opts_.limits.max_metadata_pairs},
        {"evictionPolicy", "exchanges: oldest createdAt first; facts: per onFull"}}},
  };
  if (log_) j["log"] = {{"bytes", log_->log_bytes()}, {"segment", log_->segment()}};
  if (redis_backend_)
    j["feed"] = {{"following", redis_backend_->following()},
                 {"lastId", redis_backend_->last_id()},
                 {"applied", redis_backend_->applied()}};
  auto why = degraded_reason();
  j["degraded"] = !why.empty();
  if (!why.empty()) j["degradedReason"] = why;
  return j;
}

std::string MemoryService::degraded_reason() const {
  return backend_ ? backend_->degraded_reason() : "";
}

}  // namespace agentry::memory
