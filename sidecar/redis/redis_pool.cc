#include "sidecar/redis/redis_pool.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "common/guarded.h"
#include "common/log.h"
#include "common/metrics.h"

namespace agentry::redis {
namespace {

timeval to_timeval(Ms d) {
  auto ms = std::max<int64_t>(1, d.count());
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

// hiredis 0.14 (Debian's) allocates an array reply's element table from the count the peer
// declares: "*2000000000" is a 16 GB calloc before a single element arrives (found by
// memory_records_fuzz). No reply of ours holds more than kMaxReplyElements in one array (SCAN and
// XREAD ask for 1,000 and 512), so a larger or negative count is refused as an out-of-memory
// protocol error (the connection is dropped) before anything is allocated. hiredis has no
// setting for this in 0.14, so its reply functions are wrapped: a copy of the reader's default
// table, the same for every reader, with createArray checked.
constexpr int kMaxReplyElements = 1 << 20;
const redisReplyObjectFunctions* g_default_reply_functions = nullptr;  // set once, never changes
redisReplyObjectFunctions g_checked_reply_functions;                   // likewise
std::once_flag g_reply_functions_once;

void* create_checked_array(const redisReadTask* task, int elements) {
  if (elements < 0 || elements > kMaxReplyElements) return nullptr;
  return g_default_reply_functions->createArray(task, elements);
}

void check_array_sizes(redisReader* reader) {
  std::call_once(g_reply_functions_once, [reader] {
    g_default_reply_functions = reader->fn;
    g_checked_reply_functions = *reader->fn;
    g_checked_reply_functions.createArray = create_checked_array;
  });
  reader->fn = &g_checked_reply_functions;
}

}  // namespace

Result<std::vector<Reply>> parse_resp(std::string_view bytes) {
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
  if (!reader) return internal_error("out of memory");
  check_array_sizes(reader.get());
  if (redisReaderFeed(reader.get(), bytes.data(), bytes.size()) != REDIS_OK)
    return invalid_argument(std::string("RESP: ") + reader->errstr);
  std::vector<Reply> out;
  for (;;) {
    void* r = nullptr;
    if (redisReaderGetReply(reader.get(), &r) != REDIS_OK)
      return invalid_argument(std::string("RESP: ") + reader->errstr);
    if (!r) return out;
    out.push_back(convert(static_cast<redisReply*>(r)));
    freeReplyObject(r);
  }
}

namespace {

void argv_arrays(const Argv& argv, std::vector<const char*>* p, std::vector<size_t>* l) {
  p->clear();
  l->clear();
  for (const auto& a : argv) {
    p->push_back(a.data());
    l->push_back(a.size());
  }
}

}  // namespace

// ---- RedisConn ------------------------------------------------------------------------------

RedisConn::RedisConn(redisContext* c) : c_(c), created_(Clock::now()), last_used_(created_) {}

RedisConn::~RedisConn() {
  if (c_) redisFree(c_);
}

Result<std::unique_ptr<RedisConn>> RedisConn::connect(const std::string& host, int port,
                                                      const std::string& password, Ms timeout) {
  redisContext* c = redisConnectWithTimeout(host.c_str(), port, to_timeval(timeout));
  if (c == nullptr) return unavailable("redis connect: out of memory");
  if (c->err) {
    std::string msg =
        std::string("redis connect ") + host + ":" + std::to_string(port) + ": " + c->errstr;
    redisFree(c);
    return unavailable(msg);
  }
  check_array_sizes(c->reader);
  redisEnableKeepAlive(c);
  std::unique_ptr<RedisConn> conn(new RedisConn(c));
  conn->set_timeout(timeout);
  if (!password.empty()) {
    auto r = conn->command({"AUTH", password});
    if (!r.ok()) return r.status();
    if (r->is_error()) return Status(Code::kUnauthenticated, "redis AUTH: " + r->str, 503);
  }
  return conn;
}

void RedisConn::set_timeout(Ms timeout) {
  redisSetTimeout(c_, to_timeval(timeout));
}

Status RedisConn::io_error(const char* what) {
  broken_ = true;
  return unavailable(std::string("redis ") + what + ": " + (c_->err ? c_->errstr : "no reply"));
}

Result<Reply> RedisConn::command(const Argv& argv) {
  std::vector<const char*> p;
  std::vector<size_t> l;
  argv_arrays(argv, &p, &l);
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c_, static_cast<int>(argv.size()), p.data(), l.data()));
  if (r == nullptr) return io_error("command");
  Reply out = convert(r);
  freeReplyObject(r);
  touch();
  return out;
}

Result<std::vector<Reply>> RedisConn::pipeline(const std::vector<Argv>& cmds) {
  std::vector<const char*> p;
  std::vector<size_t> l;
  for (const auto& argv : cmds) {
    argv_arrays(argv, &p, &l);
    if (redisAppendCommandArgv(c_, static_cast<int>(argv.size()), p.data(), l.data()) != REDIS_OK)
      return io_error("append");
  }
  std::vector<Reply> out;
  out.reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c_, &raw) != REDIS_OK || raw == nullptr) return io_error("pipeline");
    out.push_back(convert(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  touch();
  return out;
}

Status RedisConn::send(const Argv& argv) {
  std::vector<const char*> p;
  std::vector<size_t> l;
  argv_arrays(argv, &p, &l);
  if (redisAppendCommandArgv(c_, static_cast<int>(argv.size()), p.data(), l.data()) != REDIS_OK)
    return io_error("append");
  int done = 0;
  while (!done) {
    if (redisBufferWrite(c_, &done) != REDIS_OK) return io_error("write");
  }
  return ok_status();
}

Result<Reply> RedisConn::read(Ms wait, bool* got) {
  *got = false;
  void* raw = nullptr;
  if (redisGetReplyFromReader(c_, &raw) != REDIS_OK) return io_error("read");
  if (raw == nullptr) {
    pollfd pfd{c_->fd, POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(wait.count()));
    if (n < 0) return io_error("poll");
    if (n == 0) return Reply{};
    if (redisBufferRead(c_) != REDIS_OK) return io_error("read");
    if (redisGetReplyFromReader(c_, &raw) != REDIS_OK) return io_error("read");
    if (raw == nullptr) return Reply{};
  }
  Reply out = convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  *got = true;
  touch();
  return out;
}

// ---- RedisPool ------------------------------------------------------------------------------

namespace {
prometheus::Gauge* pool_gauge(const char* name, const char* help, const std::string& pool) {
  return &prometheus::BuildGauge()
              .Name(name)
              .Help(help)
              .Register(*metrics::registry())
              .Add({{"pool", pool}});
}
prometheus::Counter* pool_counter(const char* name, const char* help, const std::string& pool) {
  return &prometheus::BuildCounter()
              .Name(name)
              .Help(help)
              .Register(*metrics::registry())
              .Add({{"pool", pool}});
}
}  // namespace

RedisPool::RedisPool(RedisOptions opts) : opts_(std::move(opts)) {
  g_in_use_ = pool_gauge("agentry_redis_pool_in_use", "Redis connections handed out", opts_.name);
  g_open_ = pool_gauge("agentry_redis_pool_open", "Redis connections open", opts_.name);
  g_capacity_ = pool_gauge("agentry_redis_pool_capacity",
                           "Most connections the pool opens (base + overflow)", opts_.name);
  g_up_ = pool_gauge("agentry_redis_up", "1 when Redis answers, 0 while degraded", opts_.name);
  c_errors_ = pool_counter("agentry_redis_errors_total", "Failed Redis calls", opts_.name);
  c_wait_timeouts_ = pool_counter("agentry_redis_pool_wait_timeouts_total",
                                  "Calls that found no free connection in time", opts_.name);
  g_capacity_->Set(static_cast<double>(opts_.pool_size + opts_.max_overflow));
  g_up_->Set(1);
  monitor_ = std::thread([this] { run_guarded("redis-monitor", [this] { monitor_loop(); }); });
}

RedisPool::~RedisPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  monitor_cv_.notify_all();
  cv_.notify_all();
  monitor_.join();
}

void RedisPool::update_gauges() {
  g_in_use_->Set(static_cast<double>(in_use_));
  g_open_->Set(static_cast<double>(open_));
}

Result<std::unique_ptr<RedisConn>> RedisPool::acquire(Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  auto wait_until = std::min(deadline, Clock::now() + opts_.pool_timeout);
  for (;;) {
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      ++in_use_;
      update_gauges();
      lock.unlock();
      auto now = Clock::now();
      bool ok = now - c->created() < opts_.recycle;
      if (ok && now - c->last_used() > opts_.validate_idle) {
        c->set_timeout(std::max(Ms(1), std::chrono::duration_cast<Ms>(deadline - now)));
        auto pong = c->command({"PING"});
        ok = pong.ok() && !pong->is_error();
      }
      if (ok) return c;
      c.reset();
      lock.lock();
      --open_;
      --in_use_;
      update_gauges();
      continue;
    }
    if (open_ < opts_.pool_size + opts_.max_overflow) {
      ++open_;
      ++in_use_;
      update_gauges();
      lock.unlock();
      auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now());
      auto c = RedisConn::connect(opts_.host, opts_.port, opts_.password,
                                  std::clamp(left, Ms(1), opts_.connect_timeout));
      if (c.ok()) return c;
      lock.lock();
      --open_;
      --in_use_;
      update_gauges();
      lock.unlock();
      report_down(c.status().message());
      return c.status();
    }
    if (!cv_.wait_until(lock, wait_until, [&] {
          return stop_ || !idle_.empty() || open_ < opts_.pool_size + opts_.max_overflow;
        })) {
      ++wait_timeouts_;
      c_wait_timeouts_->Increment();
      return Status(Code::kDeadlineExceeded, "redis pool: no free connection in time", 503);
    }
    if (stop_) return unavailable("redis pool: shutting down");
  }
}

void RedisPool::release(std::unique_ptr<RedisConn> c) {
  std::lock_guard<std::mutex> lock(mu_);
  --in_use_;
  if (c->broken() || !up() || idle_.size() >= opts_.pool_size) {
    --open_;
    c.reset();
  } else {
    idle_.push_back(std::move(c));
  }
  update_gauges();
  cv_.notify_one();
}

template <typename T, typename F>
Result<T> RedisPool::run(Ms budget, F&& fn) {
  if (!up()) return unavailable("redis unavailable: " + last_error());
  auto deadline = Clock::now() + (budget.count() > 0 ? budget : opts_.op_timeout);
  Backoff backoff(opts_.retry);
  Status last = unavailable("redis: no attempt made");
  for (int attempt = 0; attempt < std::max(1, opts_.max_attempts); ++attempt) {
    auto c = acquire(deadline);
    if (!c.ok()) {
      last = c.status();
      break;  // connect failed (pool now down) or no connection in time: retrying cannot help
    }
    auto conn = std::move(c.value());
    conn->set_timeout(std::max(Ms(1), std::chrono::duration_cast<Ms>(deadline - Clock::now())));
    Result<T> r = fn(*conn);
    bool broken = conn->broken();
    release(std::move(conn));
    if (broken) purge_idle();  // whatever cut this one (a Redis restart) cut its idle siblings too
    if (r.ok()) return r;
    last = r.status();
    auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now());
    if (left.count() <= 0 || !up()) break;
    std::this_thread::sleep_for(std::min(left, backoff.next()));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++errors_;
  }
  c_errors_->Increment();
  return last;
}

Result<Reply> RedisPool::command(const Argv& argv, Ms budget) {
  return run<Reply>(budget, [&](RedisConn& c) { return c.command(argv); });
}

Result<std::vector<Reply>> RedisPool::pipeline(const std::vector<Argv>& cmds, Ms budget) {
  return run<std::vector<Reply>>(budget, [&](RedisConn& c) { return c.pipeline(cmds); });
}

Result<std::unique_ptr<RedisConn>> RedisPool::dedicated() {
  auto c = RedisConn::connect(opts_.host, opts_.port, opts_.password, opts_.connect_timeout);
  if (!c.ok()) report_down(c.status().message());
  return c;
}

void RedisPool::report_down(const std::string& why) {
  std::deque<std::unique_ptr<RedisConn>> drop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = why;
    if (!up_.exchange(false)) return;
    drop.swap(idle_);
    open_ -= drop.size();
    update_gauges();
  }
  g_up_->Set(0);
  log::warn("redis down, serving degraded", {{"pool", opts_.name}, {"error", why}});
  monitor_cv_.notify_all();
}

void RedisPool::purge_idle() {
  std::deque<std::unique_ptr<RedisConn>> drop;
  std::lock_guard<std::mutex> lock(mu_);
  drop.swap(idle_);
  open_ -= drop.size();
  update_gauges();
}

std::string RedisPool::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

RedisPool::Stats RedisPool::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Stats{in_use_, open_,          idle_.size(), opts_.pool_size + opts_.max_overflow,
               errors_, wait_timeouts_, up()};
}

void RedisPool::monitor_loop() {
  Backoff backoff(opts_.reconnect);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    monitor_cv_.wait(lock, [&] { return stop_ || !up(); });
    if (stop_) break;
    lock.unlock();
    auto c = RedisConn::connect(opts_.host, opts_.port, opts_.password, opts_.connect_timeout);
    bool ok = false;
    if (c.ok()) {
      auto pong = c.value()->command({"PING"});
      ok = pong.ok() && !pong->is_error();
    }
    lock.lock();
    if (ok) {
      up_.store(true, std::memory_order_release);
      g_up_->Set(1);
      backoff.reset();
      log::info("redis reachable again", {{"pool", opts_.name}});
      continue;
    }
    monitor_cv_.wait_for(lock, backoff.next(), [&] { return stop_; });
  }
}

}  // namespace agentry::redis
