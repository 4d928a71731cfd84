#include "console/api/stream_budget.h"

namespace agentry::console {

std::shared_ptr<void> StreamBudget::acquire(const std::string& identity) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    size_t& mine = by_who_[identity];
    if (open_ >= total_ || mine >= per_identity_) {
      if (mine == 0) by_who_.erase(identity);
      return nullptr;
    }
    ++open_;
    ++mine;
  }
  // The slot keeps the budget alive (a stream may outlive the request that opened it).
  auto self = shared_from_this();
  return std::shared_ptr<void>(self.get(), [self, identity](void*) { self->release(identity); });
}

void StreamBudget::release(const std::string& identity) {
  std::lock_guard<std::mutex> lock(mu_);
  --open_;
  auto it = by_who_.find(identity);
  if (it != by_who_.end() && --it->second == 0) by_who_.erase(it);
}

size_t StreamBudget::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

}  // namespace agentry::console
