#include "sidecar/memory/redis_backend.h"

#include <charconv>
#include <cstdint>

#include "common/guarded.h"
#include "common/log.h"

namespace agentry::memory {

using cache::Argv;
using cache::Reply;

std::optional<std::pair<uint64_t, uint64_t>> parse_stream_id(std::string_view id) {
  auto dash = id.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  uint64_t ms = 0, seq = 0;
  auto a = std::from_chars(id.data(), id.data() + dash, ms);
  auto b = std::from_chars(id.data() + dash + 1, id.data() + id.size(), seq);
  if (a.ec != std::errc() || a.ptr != id.data() + dash || b.ec != std::errc() ||
      b.ptr != id.data() + id.size() || dash == 0)
    return std::nullopt;
  return std::make_pair(ms, seq);
}

std::string first_stream_id(const Reply& range) {
  if (range.type != Reply::Type::kArray || range.elements.empty()) return "";
  const Reply& item = range.elements[0];
  if (item.type != Reply::Type::kArray || item.elements.empty() ||
      item.elements[0].type != Reply::Type::kString || !parse_stream_id(item.elements[0].str))
    return "";
  return item.elements[0].str;
}

std::vector<FeedItem> feed_items(const Reply& xread) {
  std::vector<FeedItem> out;
  if (xread.type != Reply::Type::kArray) return out;  // nil: nothing new within BLOCK
  for (const auto& stream : xread.elements) {
    if (stream.elements.size() != 2) continue;
    for (const auto& item : stream.elements[1].elements) {
      if (item.elements.size() != 2 || !parse_stream_id(item.elements[0].str)) continue;
      FeedItem f{item.elements[0].str, {}};
      const auto& fields = item.elements[1].elements;
      for (size_t i = 0; i + 1 < fields.size(); i += 2)
        if (fields[i].str == "op") f.ops.push_back(fields[i + 1].str);
      out.push_back(std::move(f));
    }
  }
  return out;
}

Result<std::vector<ScriptOutcome>> parse_write_reply(const Reply& reply, size_t n) {
  if (reply.is_error()) return internal_error("redis memory script: " + reply.str);
  if (reply.type != Reply::Type::kArray || reply.elements.size() != n)
    return internal_error("redis memory script: unexpected reply");
  std::vector<ScriptOutcome> out(n);
  for (size_t i = 0; i < n; ++i) {
    const auto& r = reply.elements[i];
    if (r.type != Reply::Type::kArray || r.elements.empty() ||
        r.elements[0].type != Reply::Type::kString)
      return internal_error("redis memory script: unexpected reply");
    const auto& el = r.elements;
    if (el[0].str == "full" && el.size() == 2) {
      out[i].full = true;
      out[i].full_agent = el[1].str;
      continue;
    }
    if (el[0].str != "ok" || (el.size() - 1) % 3 != 0)
      return internal_error("redis memory script: unexpected reply");
    for (size_t j = 1; j + 2 < el.size(); j += 3) {
      Op del;
      del.type = Op::Type::kDelete;
      del.entry.agent = el[j].str;
      del.entry.kind = el[j + 1].str == "1" ? Kind::kExchange : Kind::kFact;
      del.entry.id = el[j + 2].str;
      out[i].evictions.push_back(std::move(del));
    }
  }
  return out;
}

namespace {

// The write script (see redis_backend.h). ARGV: prefix, maxFacts, maxExchanges, onFull ("refuse" |
// "evict"), stream maxlen, now (unix ms), the number of requests; then per request its number of
// ops and per op 9 values: "p" | "d", agent, id, kind ("0" fact, "1" exchange), createdAt,
// expiresAt (0: none), the encoded op, session, text. Returns per request ["ok", agent, kind, id,
// ...] (what it evicted) or ["full", agent] (nothing of that request written).
constexpr const char* kWriteScript = R"lua(
local prefix, maxf, maxx = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local evict_facts, maxlen, now = ARGV[4] == 'evict', ARGV[5], tonumber(ARGV[6])
local feed = prefix .. 'feed'
local function ekey(a, id) return prefix .. 'e:' .. a .. ':' .. id end
local function zkey(a, k) return prefix .. 'z:' .. a .. ':' .. k end
local function xkey(a, k) return prefix .. 'x:' .. a .. ':' .. k end
local function forget(a, id)
  redis.call('DEL', ekey(a, id))
  for _, k in ipairs({'0', '1'}) do
    redis.call('ZREM', zkey(a, k), id)
    redis.call('ZREM', xkey(a, k), id)
  end
end
local function del_record(a, id)
  return struct.pack('<BBI4', 2, 2, #a) .. a .. struct.pack('<I4', #id) .. id
end
local pruned = {}
local function prune(a, k)
  if pruned[a .. '\0' .. k] then return end
  pruned[a .. '\0' .. k] = true
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', xkey(a, k), '-inf', now, 'LIMIT', 0, 10000)) do
    forget(a, id)
  end
end
local i, out = 8, {}
for r = 1, tonumber(ARGV[7]) do
  local ops = {}
  local n = tonumber(ARGV[i]); i = i + 1
  for o = 1, n do
    ops[o] = {ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5],
              ARGV[i + 6], ARGV[i + 7], ARGV[i + 8]}
    i = i + 9
  end
  local adds, order, seen = {}, {}, {}
  for _, op in ipairs(ops) do
    local z = zkey(op[2], op[4])
    if op[1] == 'p' and not seen[z .. '\0' .. op[3]] then
      seen[z .. '\0' .. op[3]] = true
      if not redis.call('ZSCORE', z, op[3]) then
        if not adds[z] then
          adds[z] = {a = op[2], k = op[4], n = 0}
          order[#order + 1] = z
        end
        adds[z].n = adds[z].n + 1
      end
    end
  end
  local refused, evict = nil, {}
  for _, z in ipairs(order) do
    local a = adds[z]
    prune(a.a, a.k)
    local over = redis.call('ZCARD', z) + a.n - (a.k == '0' and maxf or maxx)
    if over > 0 then
      if a.k == '0' and not evict_facts then
        refused = a.a
        break
      end
      evict[#evict + 1] = {z = z, a = a.a, k = a.k}
    end
  end
  if refused then
    out[#out + 1] = {'full', refused}
  else
    local done = {'ok'}
    for _, op in ipairs(ops) do
      local a, id, k = op[2], op[3], op[4]
      if op[1] == 'p' then
        local other = k == '0' and '1' or '0'
        redis.call('ZREM', zkey(a, other), id)
        redis.call('ZREM', xkey(a, other), id)
        redis.call('HSET', ekey(a, id), 'data', op[7], 'session', op[8], 'text', op[9],
                   'createdAt', op[5], 'kind', k)
        redis.call('ZADD', zkey(a, k), op[5], id)
        if op[6] ~= '0' then
          redis.call('PEXPIREAT', ekey(a, id), op[6])
          redis.call('ZADD', xkey(a, k), op[6], id)
        else
          redis.call('PERSIST', ekey(a, id))
          redis.call('ZREM', xkey(a, k), id)
        end
      else
        forget(a, id)
      end
      redis.call('XADD', feed, 'MAXLEN', '~', maxlen, '*', 'op', op[7])
    end
    -- Written; now trim each set over its bound, oldest first (the request's own puts last).
    for _, e in ipairs(evict) do
      local over = redis.call('ZCARD', e.z) - (e.k == '0' and maxf or maxx)
      if over > 0 then
        for _, id in ipairs(redis.call('ZRANGE', e.z, 0, over - 1)) do
          forget(e.a, id)
          redis.call('XADD', feed, 'MAXLEN', '~', maxlen, '*', 'op', del_record(e.a, id))
          done[#done + 1] = e.a
          done[#done + 1] = e.k
          done[#done + 1] = id
        end
      end
    end
    out[#out + 1] = done
  end
end
return out
)lua";

const char* kind_arg(Kind k) {
  return k == Kind::kExchange ? "1" : "0";
}

}  // namespace

RedisBackend::RedisBackend(cache::RedisPool& pool, RedisBackendOptions opts)
    : pool_(pool), opts_(std::move(opts)) {}

RedisBackend::~RedisBackend() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (follower_.joinable()) follower_.join();
}

std::string RedisBackend::entry_key(const Entry& e) const {
  return opts_.prefix + "e:" + e.agent + ":" + e.id;
}

std::string RedisBackend::last_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_id_;
}

Result<Reply> RedisBackend::run_script(const Argv& args) {
  std::string sha;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sha = script_sha_;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (sha.empty()) {
      auto loaded = pool_.command({"SCRIPT", "LOAD", kWriteScript}, cache::Ms(5000));
      if (!loaded.ok()) return loaded.status();
      if (loaded->type != Reply::Type::kString)
        return unavailable("redis SCRIPT LOAD: " + loaded->str);
      sha = loaded->str;
      std::lock_guard<std::mutex> lock(mu_);
      script_sha_ = sha;
    }
    Argv argv = {"EVALSHA", sha, "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = pool_.command(argv, cache::Ms(5000));
    if (!r.ok()) return r.status();
    // A restarted Redis has forgotten the script: load it again once.
    if (r->is_error() && r->str.rfind("NOSCRIPT", 0) == 0) {
      sha.clear();
      continue;
    }
    // LOADING, READONLY, OOM...: Redis cannot take the write now.
    if (r->is_error() && r->str.rfind("ERR", 0) != 0) return unavailable("redis: " + r->str);
    return r;
  }
  return unavailable("redis: the memory script could not be loaded");
}

Result<std::vector<ScriptOutcome>> RedisBackend::commit_bounded(
    const std::vector<const std::vector<Op>*>& requests, const Limits& limits) {
  Argv args = {opts_.prefix,
               std::to_string(limits.max_entries_per_agent),
               std::to_string(limits.max_exchanges_per_agent),
               limits.on_full == Limits::OnFull::kEvictOldest ? "evict" : "refuse",
               std::to_string(opts_.stream_maxlen),
               std::to_string(now_ms()),
               std::to_string(requests.size())};
  for (const auto* ops : requests) {
    args.push_back(std::to_string(ops->size()));
    for (const auto& op : *ops) {
      const Entry& e = op.entry;
      const bool put = op.type == Op::Type::kPut;
      args.push_back(put ? "p" : "d");
      args.push_back(e.agent);
      args.push_back(e.id);
      args.push_back(kind_arg(e.kind));
      args.push_back(std::to_string(e.created_ms));
      args.push_back(std::to_string(put ? e.expires_ms : 0));
      args.push_back(encode(op));
      args.push_back(put ? e.session : "");
      args.push_back(put ? e.text : "");
    }
  }
  auto r = run_script(args);
  if (!r.ok()) return r.status();
  return parse_write_reply(*r, requests.size());
}

Status RedisBackend::commit(const std::vector<Op>& ops) {
  Limits unbounded;
  unbounded.max_entries_per_agent = unbounded.max_exchanges_per_agent = SIZE_MAX / 2;
  auto r = commit_bounded({&ops}, unbounded);
  return r.ok() ? ok_status() : r.status();
}

// Data written before the kinds existed has no sorted sets: add every loaded entry to its set once
// (ZADD NX: harmless when another replica does the same at the same time), then mark it done.
Status RedisBackend::migrate_sets(const std::vector<Entry>& entries) {
  std::vector<Argv> cmds;
  auto flush = [&]() -> Status {
    if (cmds.empty()) return ok_status();
    auto r = pool_.pipeline(cmds, cache::Ms(10000));
    cmds.clear();
    if (!r.ok()) return r.status();
    for (const auto& x : *r)
      if (x.is_error()) return unavailable("redis ZADD: " + x.str);
    return ok_status();
  };
  for (const auto& e : entries) {
    const std::string k = kind_arg(e.kind);
    cmds.push_back({"ZADD", opts_.prefix + "z:" + e.agent + ":" + k, "NX",
                    std::to_string(e.created_ms), e.id});
    if (e.expires_ms != 0)
      cmds.push_back({"ZADD", opts_.prefix + "x:" + e.agent + ":" + k, "NX",
                      std::to_string(e.expires_ms), e.id});
    if (cmds.size() >= 1000)
      if (auto s = flush(); !s) return s;
  }
  if (auto s = flush(); !s) return s;
  auto done = pool_.command({"SET", opts_.prefix + "zver", "1"}, cache::Ms(5000));
  if (!done.ok()) return done.status();
  log::info("memory: per-kind sets built for data written before kinds",
            {{"entries", entries.size()}});
  return ok_status();
}

Status RedisBackend::load_all(std::string* last_id) {
  // The feed position first: anything written after it is replayed by the follower (idempotent).
  auto tail =
      pool_.command({"XREVRANGE", opts_.prefix + "feed", "+", "-", "COUNT", "1"}, cache::Ms(5000));
  if (!tail.ok()) return tail.status();
  // An error reply (e.g. LOADING while Redis reads its AOF at start) says why; the caller retries.
  if (tail->is_error()) return unavailable("redis XREVRANGE: " + tail->str);
  *last_id = first_stream_id(*tail);
  if (last_id->empty()) *last_id = "0-0";
  auto ver = pool_.command({"GET", opts_.prefix + "zver"}, cache::Ms(5000));
  if (!ver.ok()) return ver.status();
  if (ver->is_error()) return unavailable("redis GET: " + ver->str);
  const bool migrate = ver->str != "1";
  std::vector<Entry> unindexed;  // migrate: what the sets need of each entry
  std::string cursor = "0";
  size_t n = 0;
  do {
    auto scan = pool_.command({"SCAN", cursor, "MATCH", opts_.prefix + "e:*", "COUNT", "1000"},
                              cache::Ms(5000));
    if (!scan.ok()) return scan.status();
    if (scan->is_error()) return unavailable("redis SCAN: " + scan->str);
    if (scan->type != Reply::Type::kArray || scan->elements.size() != 2)
      return internal_error("redis SCAN: unexpected reply");
    cursor = scan->elements[0].str;
    std::vector<Argv> gets;
    for (const auto& k : scan->elements[1].elements) gets.push_back({"HGET", k.str, "data"});
    if (gets.empty()) continue;
    auto vals = pool_.pipeline(gets, cache::Ms(5000));
    if (!vals.ok()) return vals.status();
    for (const auto& v : vals.value()) {
      if (v.type != Reply::Type::kString) continue;
      auto op = decode(v.str);
      if (op.ok()) {
        if (migrate) {
          Entry e;
          e.agent = op->entry.agent;
          e.id = op->entry.id;
          e.kind = op->entry.kind;
          e.created_ms = op->entry.created_ms;
          e.expires_ms = op->entry.expires_ms;
          unindexed.push_back(std::move(e));
        }
        apply_(op.value());
        ++n;
      }
    }
  } while (cursor != "0");
  if (migrate)
    if (auto s = migrate_sets(unindexed); !s) return s;
  log::info("memory loaded from redis", {{"entries", n}, {"feed", *last_id}});
  return ok_status();
}

Status RedisBackend::open(const Apply& apply) {
  apply_ = apply;
  std::string last;
  if (auto s = load_all(&last); !s) {
    // Start anyway (reads see nothing yet, writes answer 503); the follower loads once Redis is up.
    log::warn("memory: redis unavailable at start; loading when it is back",
              {{"error", s.message()}});
    need_load_ = true;
  } else {
    std::lock_guard<std::mutex> lock(mu_);
    last_id_ = last;
  }
  follower_ = std::thread([this] { run_guarded("memory-follower", [this] { follow_loop(); }); });
  return ok_status();
}

std::string RedisBackend::degraded_reason() const {
  if (!pool_.up()) return "redis unavailable: " + pool_.last_error();
  if (need_load_) return "memory not loaded from redis yet";
  if (!following_.load()) return "not following the memory change feed in redis (reconnecting)";
  return "";
}

void RedisBackend::follow_loop() {
  Backoff backoff(pool_.options().reconnect);
  std::string feed = opts_.prefix + "feed";
  auto stopping = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  };
  auto pause = [&](cache::Ms d) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, d, [&] { return stop_; });
  };
  while (!stopping()) {
    auto conn = pool_.dedicated();
    if (!conn.ok()) {
      following_ = false;
      pause(backoff.next());
      continue;
    }
    auto& c = *conn.value();
    c.set_timeout(opts_.block + cache::Ms(2000));
    if (need_load_) {
      std::string fresh;
      if (!load_all(&fresh).is_ok()) {
        pause(backoff.next());
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      last_id_ = fresh;
      need_load_ = false;
    }
    std::string last = last_id();
    // Caught up with a trimmed stream? Then what we missed is gone from the feed: reload.
    if (last != "0-0") {
      auto first = c.command({"XRANGE", feed, "-", "+", "COUNT", "1"});
      if (!first.ok()) {
        pause(backoff.next());
        continue;
      }
      std::string oldest = first_stream_id(*first);
      if (!oldest.empty()) {
        if (parse_stream_id(oldest) > parse_stream_id(last)) {
          log::warn("memory feed trimmed past our position; reloading", {{"last", last}});
          if (on_reload) on_reload();
          std::string fresh;
          if (!load_all(&fresh).is_ok()) {
            pause(backoff.next());
            continue;
          }
          std::lock_guard<std::mutex> lock(mu_);
          last_id_ = fresh;
        }
      }
    }
    following_ = true;
    backoff.reset();
    while (!stopping()) {
      auto r = c.command({"XREAD", "COUNT", "512", "BLOCK", std::to_string(opts_.block.count()),
                          "STREAMS", feed, last_id()});
      if (!r.ok()) break;
      for (const auto& item : feed_items(*r)) {
        for (const auto& bytes : item.ops) {
          auto op = decode(bytes);
          if (op.ok()) apply_(op.value());
        }
        ++applied_;
        std::lock_guard<std::mutex> lock(mu_);
        last_id_ = item.id;
      }
    }
    following_ = false;
    if (!stopping()) {
      log::warn("memory change feed lost; catching up after reconnect", {{"last", last_id()}});
      pause(backoff.next());
    }
  }
}

}  // namespace agentry::memory
