#include "sidecar/memory/batching_embedder.h"

#include <algorithm>

namespace agentry::memory {
namespace {

Status check_dims(const std::vector<Vector>& v, size_t want_count, int dim) {
  if (v.size() != want_count)
    return internal_error("embedder returned " + std::to_string(v.size()) + " vectors for " +
                          std::to_string(want_count) + " texts");
  for (const auto& x : v)
    if (static_cast<int>(x.size()) != dim)
      return internal_error("embedder returned a vector of " + std::to_string(x.size()) +
                            " numbers, want " + std::to_string(dim));
  return ok_status();
}

}  // namespace

BatchingEmbedder::BatchingEmbedder(std::shared_ptr<Embedder> inner, BatchingOptions opts)
    : inner_(std::move(inner)), opts_(opts) {
  opts_.passes = std::max(1, opts_.passes);
  opts_.max_texts = std::max<size_t>(1, opts_.max_texts);
}

Result<std::vector<Vector>> BatchingEmbedder::embed(const std::vector<std::string>& texts) {
  if (texts.empty()) return std::vector<Vector>{};
  Job mine{&texts};
  std::unique_lock<std::mutex> lock(mu_);
  ++stats_.requests;
  stats_.texts += texts.size();
  queue_.push_back(&mine);
  while (!mine.done) {
    if (running_ >= opts_.passes || queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    // Whole requests from the front, up to max_texts (the first one goes even when larger).
    std::vector<Job*> batch;
    size_t n = 0;
    while (!queue_.empty() &&
           (batch.empty() || n + queue_.front()->texts->size() <= opts_.max_texts)) {
      n += queue_.front()->texts->size();
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    ++running_;
    ++stats_.passes;
    lock.unlock();
    run_batch(batch);
    lock.lock();
    --running_;
    for (Job* j : batch) j->done = true;
    cv_.notify_all();
  }
  return std::move(mine.out);
}

// Whatever the inner embedder does, every job of the batch ends with a result: a throw would leave
// running_ counted and its waiters asleep.
Result<std::vector<Vector>> BatchingEmbedder::inner_embed(const std::vector<std::string>& texts) {
  try {
    return inner_->embed(texts);
  } catch (const std::exception& e) {
    return internal_error(std::string("embedder: ") + e.what());
  } catch (...) {
    return internal_error("embedder: unknown exception");
  }
}

void BatchingEmbedder::run_batch(std::vector<Job*>& batch) {
  const int dim = inner_->dimension();
  auto alone = [&](Job* j) {
    auto r = inner_embed(*j->texts);
    if (r.ok())
      if (Status s = check_dims(*r, j->texts->size(), dim); !s) r = s;
    j->out = std::move(r);
  };
  if (batch.size() == 1) return alone(batch[0]);
  std::vector<std::string> all;
  for (Job* j : batch) all.insert(all.end(), j->texts->begin(), j->texts->end());
  auto r = inner_embed(all);
  if (!r.ok() || !check_dims(*r, all.size(), dim)) {
    for (Job* j : batch) alone(j);  // whose input failed is that request's error alone
    return;
  }
  size_t at = 0;
  for (Job* j : batch) {
    const size_t k = j->texts->size();
    std::vector<Vector> mine(std::make_move_iterator(r->begin() + at),
                             std::make_move_iterator(r->begin() + at + k));
    j->out = std::move(mine);
    at += k;
  }
}

BatchingEmbedder::Stats BatchingEmbedder::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace agentry::memory
