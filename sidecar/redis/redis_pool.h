// Redis through hiredis (RESP2): a reply type, one connection, and the connection pool.
//
// The pool follows the guidelines' database pool: base 20 connections kept, 30 more under load,
// at most 30 s waiting for one, connections recycled after an hour and PINGed before reuse when
// they sat idle. Every call carries a deadline (op_timeout) that bounds the wait for a connection,
// each socket read/write and the retries (backoff with full jitter) together, so no caller is held
// longer than configured. When Redis cannot be reached the pool is marked down and calls fail fast
// (kUnavailable) while a monitor thread reconnects with backoff and marks it up again.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/backoff.h"
#include "common/result.h"

struct redisContext;

namespace agentry::redis {

using Ms = std::chrono::milliseconds;

struct Reply {
  enum class Type { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  std::string str;  // string, status and error replies
  long long integer = 0;
  std::vector<Reply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

using Argv = std::vector<std::string>;

// The replies in a buffer of RESP bytes, read with hiredis' own reader exactly as a connection
// reads them (a trailing partial reply is left out); kInvalidArgument for a protocol error. For
// tests and fuzzing of everything that reads replies.
Result<std::vector<Reply>> parse_resp(std::string_view bytes);

// One hiredis connection. Not thread-safe; the pool hands it to one caller at a time.
class RedisConn {
 public:
  using Clock = std::chrono::steady_clock;
  static Result<std::unique_ptr<RedisConn>> connect(const std::string& host, int port,
                                                    const std::string& password, Ms timeout);
  ~RedisConn();
  RedisConn(const RedisConn&) = delete;
  RedisConn& operator=(const RedisConn&) = delete;

  // Socket read/write timeout for the following calls.
  void set_timeout(Ms timeout);
  // I/O failures come back as kUnavailable and leave the connection broken(); Redis error replies
  // come back as a Reply of type kError.
  Result<Reply> command(const Argv& argv);
  Result<std::vector<Reply>> pipeline(const std::vector<Argv>& cmds);
  // For pub/sub: send without waiting, then read pushed replies one by one.
  Status send(const Argv& argv);
  // Waits up to `wait` for one reply; ok with nullopt-like kNil type and `*got=false` on timeout.
  Result<Reply> read(Ms wait, bool* got);

  bool broken() const { return broken_; }
  Clock::time_point created() const { return created_; }
  Clock::time_point last_used() const { return last_used_; }
  void touch() { last_used_ = Clock::now(); }

 private:
  explicit RedisConn(redisContext* c);
  Status io_error(const char* what);
  redisContext* c_;
  bool broken_ = false;
  Clock::time_point created_, last_used_;
};

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  std::string name = "default";  // the `pool` label of the metrics
  size_t pool_size = 20;         // connections kept
  size_t max_overflow = 30;      // extra connections under load, closed when returned
  Ms pool_timeout{30000};        // longest wait for a free connection (also capped by op_timeout)
  std::chrono::seconds recycle{3600};
  Ms validate_idle{5000};  // PING a connection that sat idle longer than this before use
  Ms connect_timeout{500};
  Ms op_timeout{1000};  // a call's whole budget: pool wait, I/O and retries
  int max_attempts = 3;
  BackoffPolicy retry{
      .initial = Ms(5), .max = Ms(100), .factor = 2.0, .jitter = 1.0, .full_jitter = true};
  BackoffPolicy reconnect{
      .initial = Ms(50), .max = Ms(2000), .factor = 2.0, .jitter = 1.0, .full_jitter = true};
};

class RedisPool {
 public:
  explicit RedisPool(RedisOptions opts);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  Result<Reply> command(const Argv& argv, Ms budget = Ms(0));  // 0: op_timeout
  Result<std::vector<Reply>> pipeline(const std::vector<Argv>& cmds, Ms budget = Ms(0));
  // A connection of its own for long-lived uses (pub/sub, XREAD BLOCK); not counted in the pool.
  Result<std::unique_ptr<RedisConn>> dedicated();

  bool up() const { return up_.load(std::memory_order_acquire); }
  // Called by users that saw Redis fail on their own connections.
  void report_down(const std::string& why);
  std::string last_error() const;
  struct Stats {
    size_t in_use = 0, open = 0, idle = 0, capacity = 0;
    uint64_t errors = 0, wait_timeouts = 0;
    bool up = false;
  };
  Stats stats() const;
  const RedisOptions& options() const { return opts_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Lease;
  Result<std::unique_ptr<RedisConn>> acquire(Clock::time_point deadline);
  void release(std::unique_ptr<RedisConn> c);
  template <typename T, typename F>
  Result<T> run(Ms budget, F&& fn);
  void purge_idle();
  void monitor_loop();
  void update_gauges();

  RedisOptions opts_;
  std::atomic<bool> up_{true};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<RedisConn>> idle_;
  size_t open_ = 0;
  size_t in_use_ = 0;
  uint64_t errors_ = 0, wait_timeouts_ = 0;
  std::string last_error_;
  bool stop_ = false;
  std::condition_variable monitor_cv_;
  std::thread monitor_;

  prometheus::Gauge* g_in_use_;
  prometheus::Gauge* g_open_;
  prometheus::Gauge* g_capacity_;
  prometheus::Gauge* g_up_;
  prometheus::Counter* c_errors_;
  prometheus::Counter* c_wait_timeouts_;
};

}  // namespace agentry::redis
