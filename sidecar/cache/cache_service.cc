#include "sidecar/cache/cache_service.h"

#include <algorithm>

#include "common/guarded.h"
#include "common/log.h"
#include "common/metrics.h"

namespace agentry::cache {
namespace {

constexpr const char* kInvalidateChannel = "__redis__:invalidate";

prometheus::Gauge* cache_gauge(const char* name, const char* help, const std::string& cache) {
  return &prometheus::BuildGauge()
              .Name(name)
              .Help(help)
              .Register(*metrics::registry())
              .Add({{"cache", cache}});
}

Status too_large(std::string m) {
  return {Code::kResourceExhausted, std::move(m), 413};
}

}  // namespace

CacheService::CacheService(CacheOptions opts) : opts_(std::move(opts)), l1_(opts_.l1) {
  g_degraded_ =
      cache_gauge("agentry_cache_degraded",
                  "1 while Redis is unreachable and the cache serves from L1 only", opts_.l1.name);
  g_tracking_ = cache_gauge("agentry_cache_invalidation_connected",
                            "1 while the Redis invalidation channel is subscribed", opts_.l1.name);
  if (opts_.redis) {
    pool_ = std::make_unique<redis::RedisPool>(*opts_.redis);
    listener_ = std::thread([this] { run_guarded("cache-listener", [this] { listener_loop(); }); });
  }
  maintenance_ =
      std::thread([this] { run_guarded("cache-maintenance", [this] { maintenance_loop(); }); });
}

CacheService::~CacheService() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (listener_.joinable()) listener_.join();
  maintenance_.join();
}

Status CacheService::check_key(const std::string& key, size_t max_bytes) const {
  if (key.empty()) return invalid_argument("cache key is empty");
  if (key.size() > max_bytes)
    return invalid_argument("cache key longer than " + std::to_string(max_bytes) + " bytes");
  for (unsigned char ch : key) {
    if (ch <= 0x20 || ch == 0x7f)
      return invalid_argument("cache key contains whitespace or a control character");
  }
  return ok_status();
}

Status CacheService::validate_ttl(Ms ttl) const {
  if (ttl.count() < 0) return invalid_argument("ttl must be positive");
  if (ttl > opts_.max_ttl)
    return invalid_argument("ttl longer than the maximum of " +
                            std::to_string(opts_.max_ttl.count() / 1000) + " s");
  return ok_status();
}

Result<CacheService::Value> CacheService::get(const std::string& key) {
  if (auto s = check_key(key, opts_.max_key_bytes + kMaxTagBytes); !s) return s;
  if (!pool_) {
    auto hit = l1_.get(key);
    if (!hit) return not_found("cache key not found");
    return Value{std::move(hit->value), hit->ttl_left, "l1", false};
  }
  bool tracked = tracking_ok_.load(std::memory_order_acquire);
  if (tracked) {
    if (auto hit = l1_.get(key)) return Value{std::move(hit->value), hit->ttl_left, "l1", false};
  }
  if (pool_->up()) {
    uint64_t epoch = epoch_.load(std::memory_order_acquire);
    std::string rk = opts_.key_prefix + key;
    auto r = pool_->pipeline({{"GET", rk}, {"PTTL", rk}});
    if (r.ok()) {
      const redis::Reply& v = r->at(0);
      if (v.is_error()) return internal_error("redis GET: " + v.str);
      if (v.type != redis::Reply::Type::kString) {
        ++l2_misses_;
        return not_found("cache key not found");
      }
      ++l2_hits_;
      long long pttl = r->at(1).integer;
      Ms left = pttl == -1 ? opts_.l1_max_ttl : Ms(std::max<long long>(0, pttl));
      // Promote only when no invalidation (of any key) arrived since the GET was sent: the value
      // read might be older than one whose invalidation already passed.
      if (tracked && left.count() > 0 && tracking_ok_.load() && epoch_.load() == epoch)
        l1_.put(key, v.str, std::min(left, opts_.l1_max_ttl));
      return Value{v.str, left, "l2", false};
    }
  }
  if (auto hit = l1_.get(key)) {
    ++degraded_reads_;
    return Value{std::move(hit->value), hit->ttl_left, "l1", true};
  }
  return unavailable("cache backend unavailable and key not in this replica's L1");
}

Result<CacheService::WriteResult> CacheService::put(const std::string& key, std::string value,
                                                    Ms ttl) {
  if (auto s = check_key(key, opts_.max_key_bytes + kMaxTagBytes); !s) return s;
  if (ttl.count() == 0) ttl = opts_.default_ttl;
  if (auto s = validate_ttl(ttl); !s) return s;
  if (value.size() > opts_.max_value_bytes)
    return too_large("cache value larger than " + std::to_string(opts_.max_value_bytes) + " bytes");
  if (pool_ && pool_->up()) {
    auto r =
        pool_->command({"SET", opts_.key_prefix + key, value, "PX", std::to_string(ttl.count())});
    if (r.ok()) {
      if (r->is_error()) return internal_error("redis SET: " + r->str);
      l1_.erase(key);  // the next read promotes the value with its TTL
      return WriteResult{false};
    }
  }
  Ms l1_ttl = pool_ ? std::min(ttl, opts_.l1_max_ttl) : ttl;
  if (!l1_.put(key, std::move(value), l1_ttl))
    return too_large("cache value does not fit the L1 byte budget");
  return WriteResult{pool_ != nullptr};
}

Result<CacheService::WriteResult> CacheService::erase(const std::string& key) {
  if (auto s = check_key(key, opts_.max_key_bytes + kMaxTagBytes); !s) return s;
  bool in_l1 = l1_.erase(key);
  if (pool_ && pool_->up()) {
    auto r = pool_->command({"DEL", opts_.key_prefix + key});
    if (r.ok()) {
      if (r->is_error()) return internal_error("redis DEL: " + r->str);
      if (r->integer == 0 && !in_l1) return not_found("cache key not found");
      return WriteResult{false};
    }
  }
  if (!in_l1 && !pool_) return not_found("cache key not found");
  if (!in_l1) return unavailable("cache backend unavailable; key not in this replica's L1");
  return WriteResult{pool_ != nullptr};
}

bool CacheService::degraded() const {
  return pool_ && !pool_->up();
}

std::string CacheService::degraded_reason() const {
  if (!degraded()) return "";
  return "redis unavailable, serving from L1 only: " + pool_->last_error();
}

nlohmann::json CacheService::stats() const {
  auto l1 = l1_.stats();
  nlohmann::json j = {
      {"l1",
       {{"entries", l1.entries},
        {"bytes", l1.bytes},
        {"maxEntries", l1_.options().max_entries},
        {"maxBytes", l1_.options().max_bytes},
        {"hits", l1.hits},
        {"misses", l1.misses},
        {"evictions", l1.evictions},
        {"expirations", l1.expirations}}},
      {"degraded", degraded()},
  };
  if (pool_) {
    auto p = pool_->stats();
    j["l2"] = {{"configured", true},
               {"up", p.up},
               {"hits", l2_hits_.load()},
               {"misses", l2_misses_.load()},
               {"errors", p.errors},
               {"pool",
                {{"inUse", p.in_use},
                 {"open", p.open},
                 {"idle", p.idle},
                 {"capacity", p.capacity},
                 {"waitTimeouts", p.wait_timeouts}}}};
    j["invalidation"] = {{"connected", tracking_ok_.load()},
                         {"received", invalidations_.load()},
                         {"prefix", opts_.key_prefix}};
    j["degradedReads"] = degraded_reads_.load();
    if (degraded()) j["degradedReason"] = degraded_reason();
  } else {
    j["l2"] = {{"configured", false}};
  }
  return j;
}

void CacheService::on_invalidate(const redis::Reply& payload) {
  ++invalidations_;
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  if (payload.type != redis::Reply::Type::kArray) {  // nil: FLUSHDB/FLUSHALL
    l1_.clear();
    return;
  }
  for (const auto& k : payload.elements) {
    if (k.str.compare(0, opts_.key_prefix.size(), opts_.key_prefix) == 0)
      l1_.erase(std::string_view(k.str).substr(opts_.key_prefix.size()));
  }
}

void CacheService::listener_loop() {
  Backoff backoff(opts_.redis->reconnect);
  auto stopping = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  };
  auto pause = [&](Ms d) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, d, [&] { return stop_; });
  };
  while (!stopping()) {
    auto conn = pool_->dedicated();
    if (!conn.ok()) {
      pause(backoff.next());
      continue;
    }
    redis::RedisConn& c = *conn.value();
    auto id = c.command({"CLIENT", "ID"});
    auto on = id.ok()
                  ? c.command({"CLIENT", "TRACKING", "ON", "REDIRECT", std::to_string(id->integer),
                               "BCAST", "PREFIX", opts_.key_prefix})
                  : id;
    if (!on.ok() || on->is_error() || !c.send({"SUBSCRIBE", kInvalidateChannel}).is_ok()) {
      log::warn("cache invalidation channel setup failed",
                {{"error", on.ok() ? on->str : on.status().message()}});
      pause(backoff.next());
      continue;
    }
    bool got = false;
    auto sub = c.read(opts_.redis->op_timeout, &got);
    // Only the confirmation ["subscribe", channel, n] means invalidations will flow (an ACL that
    // denies SUBSCRIBE answers with an error instead).
    bool subscribed = sub.ok() && got && sub->type == redis::Reply::Type::kArray &&
                      !sub->elements.empty() && sub->elements[0].str == "subscribe";
    if (!subscribed) {
      if (sub.ok() && got && sub->is_error())
        log::warn("cache invalidation channel setup failed", {{"error", sub->str}});
      pause(backoff.next());
      continue;
    }
    // Whatever L1 held may have missed invalidations while the channel was down.
    l1_.clear();
    epoch_.fetch_add(1);
    tracking_ok_.store(true, std::memory_order_release);
    g_tracking_->Set(1);
    backoff.reset();
    log::info("cache invalidation channel subscribed", {{"prefix", opts_.key_prefix}});
    auto last_rx = redis::RedisConn::Clock::now();
    bool ping_out = false;
    while (!stopping()) {
      auto r = c.read(Ms(100), &got);
      if (!r.ok()) break;
      auto now = redis::RedisConn::Clock::now();
      if (got) {
        last_rx = now;
        ping_out = false;
        if (r->type == redis::Reply::Type::kArray && r->elements.size() == 3 &&
            r->elements[0].str == "message")
          on_invalidate(r->elements[2]);
        continue;
      }
      // Quiet channel: PING so a half-open connection is found out within about 3 s.
      if (!ping_out && now - last_rx > Ms(1000)) {
        if (!c.send({"PING"}).is_ok()) break;
        ping_out = true;
      } else if (ping_out && now - last_rx > Ms(3000)) {
        break;
      }
    }
    tracking_ok_.store(false, std::memory_order_release);
    epoch_.fetch_add(1);
    g_tracking_->Set(0);
    if (!stopping()) {
      log::warn("cache invalidation channel lost; L1 bypassed until it is back", {});
      pause(backoff.next());
    }
  }
}

void CacheService::maintenance_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, opts_.maintenance_interval, [&] { return stop_; });
    lock.unlock();
    l1_.purge_expired();
    l1_.publish_metrics();
    g_degraded_->Set(degraded() ? 1 : 0);
    lock.lock();
  }
}

}  // namespace agentry::cache
