#include "sidecar/memory/redis_backend.h"

#include <charconv>

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

Status RedisBackend::commit(const std::vector<Op>& ops) {
  std::vector<Argv> cmds;
  cmds.push_back({"MULTI"});
  std::string feed = opts_.prefix + "feed";
  for (const auto& op : ops) {
    std::string data = encode(op);
    if (op.type == Op::Type::kPut) {
      cmds.push_back({"HSET", entry_key(op.entry), "data", data, "session", op.entry.session,
                      "text", op.entry.text, "createdAt", std::to_string(op.entry.created_ms)});
      if (op.entry.expires_ms != 0)
        cmds.push_back({"PEXPIREAT", entry_key(op.entry), std::to_string(op.entry.expires_ms)});
    } else {
      cmds.push_back({"DEL", entry_key(op.entry)});
    }
    cmds.push_back(
        {"XADD", feed, "MAXLEN", "~", std::to_string(opts_.stream_maxlen), "*", "op", data});
  }
  cmds.push_back({"EXEC"});
  auto r = pool_.pipeline(cmds, cache::Ms(5000));
  if (!r.ok()) return r.status();
  const Reply& exec = r->back();
  if (exec.type != Reply::Type::kArray) return unavailable("redis EXEC failed: " + exec.str);
  for (const auto& e : exec.elements)
    if (e.is_error()) return internal_error("redis: " + e.str);
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
        apply_(op.value());
        ++n;
      }
    }
  } while (cursor != "0");
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
