// Coalesces concurrent embed() calls into fewer, larger calls of the embedder it wraps.
//
//   auto e = std::make_shared<BatchingEmbedder>(std::move(minilm), BatchingOptions{.passes = 2});
//   auto v = e->embed({"A man is eating food."});   // from any number of threads at once
//
// Why: MiniLM's cost is matrix products whose efficiency grows with their row count (one short
// text is ~10 rows; 64 stacked texts are ~640), and a provider's /embeddings costs a round trip per
// call whatever its size. So while `passes` calls of the inner embedder are running, later callers
// queue; the next caller to find a pass free takes every queued text (whole requests, at most
// max_texts of them; one request larger than that goes alone) into one inner call and hands each
// request its vectors. A caller alone runs at once: no timer, no added latency when idle.
//
// A failed batch is retried request by request, so one request's bad input or a provider's
// rejection is that request's error, not its neighbours'. Every vector is checked to have
// dimension() numbers.
//
// Thread-safety: embed() may be called from any thread; the inner embedder must allow `passes`
// concurrent calls. Lock: mu_ guards queue_, running_ and the counters.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "sidecar/memory/embedder.h"

namespace agentry::memory {

struct BatchingOptions {
  int passes = 2;         // inner calls at once (CPU: the cores; provider: connections)
  size_t max_texts = 64;  // texts in one inner call
};

class BatchingEmbedder : public Embedder {
 public:
  BatchingEmbedder(std::shared_ptr<Embedder> inner, BatchingOptions opts);

  Result<std::vector<Vector>> embed(const std::vector<std::string>& texts) override;
  int dimension() const override { return inner_->dimension(); }
  std::string name() const override { return inner_->name(); }
  bool may_block() const override { return inner_->may_block(); }

  struct Stats {
    uint64_t requests = 0;  // embed() calls
    uint64_t passes = 0;    // inner calls (fewer than requests when batching helped)
    uint64_t texts = 0;
  };
  Stats stats() const;

 private:
  struct Job {
    const std::vector<std::string>* texts;
    Result<std::vector<Vector>> out{std::vector<Vector>{}};
    bool done = false;
  };
  void run_batch(std::vector<Job*>& batch);  // without mu_ held
  Result<std::vector<Vector>> inner_embed(const std::vector<std::string>& texts);

  std::shared_ptr<Embedder> inner_;
  BatchingOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;  // guarded by mu_
  int running_ = 0;         // guarded by mu_
  Stats stats_;             // guarded by mu_
};

}  // namespace agentry::memory
