// Login attempts, limited per client address and per account name (token buckets): a client may
// try `burst` times at once and then once every `refill`; an account name likewise, whichever
// client tries it, so spreading a guess over many addresses does not help either. An attempt is
// taken before the password is checked (a burst of parallel guesses cannot overrun the limit) and
// given back when it succeeds, so logging in right, however often (a load test's users sharing
// one account), never locks anyone out; only wrong guesses use the budget up. Unknown and known
// account names are limited alike (a limit that only applied to real accounts would tell which
// exist).
//
// At most max_keys buckets are kept per kind; full buckets are dropped first, then the stalest.
// Thread-safe (mu_).
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace agentry::console {

class LoginLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  struct Limit {
    double burst;
    std::chrono::milliseconds refill;  // one more attempt per refill
  };
  struct Options {
    Limit per_client{20, std::chrono::seconds(3)};
    Limit per_account{5, std::chrono::seconds(12)};
    size_t max_keys = 10000;
    std::function<Clock::time_point()> now = [] { return Clock::now(); };
  };

  explicit LoginLimiter(Options opts);

  // Takes one attempt for (client, account) if both have one; otherwise takes none and returns
  // the seconds until both would (at least 1). 0 means allowed.
  int try_acquire(const std::string& client, const std::string& account);
  // Gives back the attempt try_acquire took for (client, account): it succeeded.
  void refund(const std::string& client, const std::string& account);

 private:
  struct Bucket {
    double tokens;
    Clock::time_point at;
  };
  using Table = std::unordered_map<std::string, Bucket>;
  static double level(const Bucket& b, const Limit& l, Clock::time_point now);
  static void prune(Table& t, const Limit& l, Clock::time_point now, size_t max_keys);

  Options opts_;
  std::mutex mu_;
  Table clients_;   // guarded by mu_
  Table accounts_;  // guarded by mu_
};

}  // namespace agentry::console
