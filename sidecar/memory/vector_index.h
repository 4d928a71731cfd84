// Vectors of one agent: a flat slot array (exact search, and the truth every score is computed
// from) plus an HNSW graph (hnswlib, over int8 codes of the vectors) for approximate search once
// the set is large.
//
// Vectors are L2-normalised, so inner product is cosine similarity. New vectors are searchable at
// once: until a background thread has put them into the graph they sit in a pending list that every
// search scans exactly. HNSW candidates are re-scored from the flat array and re-checked against
// the caller's filter, so deleted or reused slots can never leak into results.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>
#include <vector>

namespace hnswlib {
template <typename T>
class HierarchicalNSW;
template <typename T>
class SpaceInterface;
}  // namespace hnswlib

namespace agentry::memory {

struct IndexOptions {
  size_t hnsw_min = 2048;  // below this many live vectors, search is exact
  size_t M = 16;
  // 100 cost 40% more per insert for the same recall@10 on clustered data (memory_bench).
  size_t ef_construction = 64;
  size_t ef_search = 96;
  size_t overfetch = 4;  // filtered searches ask the graph for k * overfetch candidates
  size_t rerank = 2;     // others for k * rerank (the graph ranks by int8 codes, see int8_codes.h)
  // Writers wait while more vectors than this await the graph: searches scan them exactly, so an
  // unbounded backlog (a write flood the indexer cannot keep up with) would make every search slow.
  size_t max_pending = 8192;
  size_t insert_threads = 2;  // a batch of 64 or more is inserted by this many threads
  bool background = true;     // false: the graph is updated by the writer (tests, benchmarks)
};

class VectorIndex {
 public:
  using Slot = uint32_t;
  using Accept = std::function<bool(Slot)>;  // nullptr: everything
  struct Hit {
    float score;
    Slot slot;
  };

  VectorIndex(int dim, IndexOptions opts);
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  int dim() const { return dim_; }
  Slot add(const float* v);  // copies dim floats; returns the slot
  void remove(Slot s);
  size_t size() const;
  // Copies the slot's vector out.
  std::vector<float> vector(Slot s) const;

  // Top k by cosine, best first. `candidates`, when given, is the full set of acceptable slots
  // (e.g. one session's) and is scanned exactly; otherwise HNSW when large, exact when small, with
  // an exact fallback when a filter leaves fewer than k results. *exact tells which ran.
  std::vector<Hit> search(const float* q, size_t k, const Accept& accept,
                          const std::vector<Slot>* candidates, bool* exact) const;
  std::vector<Hit> exact_search(const float* q, size_t k, const Accept& accept) const;

  // Builds the graph now (instead of in the background) and waits until nothing is pending.
  void build_now();
  size_t pending() const;
  // pending(), when an indexer works on it (else 0: small sets are searched exactly).
  size_t backlog() const;
  // Waits until at most IndexOptions::max_pending vectors await the graph (true), or the deadline
  // (false). True at once when there is no backlog to wait for (small sets are searched exactly).
  bool wait_indexed(std::chrono::steady_clock::time_point deadline) const;
  bool has_graph() const;

 private:
  float dot(const float* a, const float* b) const;
  void index_loop();
  void ensure_graph_locked();
  void index_pending(size_t max_batch);
  void mark_deleted();

  int dim_;
  IndexOptions opts_;
  // Locks, taken in this order when nested: mu_ (the flat data), graph_mu_ (the HNSW graph),
  // indexed_mu_ and bg_mu_ (condition variables' flags only).
  mutable std::shared_mutex mu_;  // guards data_ .. live_count_ below
  std::vector<float> data_;
  std::vector<uint8_t> live_;
  std::vector<uint64_t> version_;
  std::vector<Slot> free_;
  std::vector<std::pair<Slot, uint64_t>> pending_;
  // Removed slots (and their version then) still to be marked deleted in the graph. Marking takes
  // the graph's lock alone, which would make a write wait for a whole insert batch; the indexer
  // does it instead, and searches skip dead slots by live_ meanwhile.
  std::vector<std::pair<Slot, uint64_t>> unmarked_;
  size_t live_count_ = 0;

  // The graph: searches and inserts share its lock (hnswlib locks internally), resize and
  // markDelete take it alone.
  mutable std::shared_mutex graph_mu_;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;   // guarded by graph_mu_
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph_;  // guarded by graph_mu_
  size_t graph_capacity_ = 0;                               // guarded by graph_mu_
  std::atomic<bool> graph_ready_{false};
  // Signalled after each indexed batch, for wait_indexed().
  mutable std::mutex indexed_mu_;
  mutable std::condition_variable indexed_cv_;

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool stop_ = false;  // guarded by bg_mu_
  std::thread bg_;
};

}  // namespace agentry::memory
