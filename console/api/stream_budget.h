// How many event streams (watch, chat) may be open at once, in all and per identity. Each open
// stream holds one of the HTTP server's worker threads for as long as it lasts (hours, for a
// browser tab's watch), so without a budget enough tabs would take every worker and leave none for
// the API's own requests: the console would hang. The server gets more workers than the budget
// (app/console.cc), so some are always free for requests; a stream over budget is a 429.
//
//   auto slot = budget.acquire(who.key());   // nullptr: over budget, answer 429
//   ... capture slot in the stream's provider: it is given back when the stream ends.
//
// Thread-safe (mu_).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace agentry::console {

class StreamBudget : public std::enable_shared_from_this<StreamBudget> {
 public:
  StreamBudget(size_t total, size_t per_identity) : total_(total), per_identity_(per_identity) {}

  // A slot held until the returned pointer is dropped; nullptr when the total or the identity's
  // share is used up.
  std::shared_ptr<void> acquire(const std::string& identity);
  size_t open() const;

 private:
  void release(const std::string& identity);

  const size_t total_, per_identity_;
  mutable std::mutex mu_;
  size_t open_ = 0;                       // guarded by mu_
  std::map<std::string, size_t> by_who_;  // guarded by mu_
};

}  // namespace agentry::console
