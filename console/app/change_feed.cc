#include "console/app/change_feed.h"

#include <algorithm>

namespace agentry::console {

void ChangeFeed::publish(Change c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    c.revision = ++head_;
    ring_.push_back(std::move(c));
    while (ring_.size() > capacity_) ring_.pop_front();
  }
  cv_.notify_all();
}

uint64_t ChangeFeed::head() const {
  std::lock_guard<std::mutex> lock(mu_);
  return head_;
}

ChangeFeed::Batch ChangeFeed::since(uint64_t after, std::chrono::milliseconds wait) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, wait, [&] { return stopped_ || head_ > after; });
  Batch b;
  b.stopped = stopped_;
  if (head_ <= after) return b;
  if (ring_.empty() || ring_.front().revision > after + 1) {
    b.lost = true;
    return b;
  }
  for (auto it = ring_.rbegin(); it != ring_.rend() && it->revision > after; ++it)
    b.changes.push_back(*it);
  std::reverse(b.changes.begin(), b.changes.end());
  return b;
}

void ChangeFeed::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

}  // namespace agentry::console
