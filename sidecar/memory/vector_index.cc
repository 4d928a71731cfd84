#include "sidecar/memory/vector_index.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <queue>

#include "common/guarded.h"
#include "sidecar/memory/int8_codes.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define AGENTRY_DOT_AVX2 1
#endif

namespace agentry::memory {
namespace {

#ifdef AGENTRY_DOT_AVX2
// Exact scans (small sets, pending vectors, re-scoring graph candidates) are float inner products:
// compiled for AVX2+FMA (16 floats a step) and chosen at run time when the CPU has both, since
// Debian's baseline x86-64 build would get SSE only.
__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  __m256 s = _mm256_add_ps(s0, s1);
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  q = _mm_hadd_ps(q, q);
  q = _mm_hadd_ps(q, q);
  float r = _mm_cvtss_f32(q);
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#endif

// hnswlib's inner-product space over int8 codes (int8_codes.h): the graph navigates on codes,
// search results are re-scored in float.
class Int8Space : public hnswlib::SpaceInterface<float> {
 public:
  explicit Int8Space(int dim) : dim_(dim) {}
  size_t get_data_size() override { return int8_code_bytes(dim_); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return int8_distance(); }
  void* get_dist_func_param() override { return &dim_; }

 private:
  int dim_;
};

struct Worse {
  bool operator()(const VectorIndex::Hit& a, const VectorIndex::Hit& b) const {
    return a.score > b.score;  // min-heap on score: top() is the worst kept
  }
};

void keep(std::priority_queue<VectorIndex::Hit, std::vector<VectorIndex::Hit>, Worse>& heap,
          size_t k, VectorIndex::Hit h) {
  if (heap.size() < k) {
    heap.push(h);
  } else if (h.score > heap.top().score) {
    heap.pop();
    heap.push(h);
  }
}

std::vector<VectorIndex::Hit> drain(
    std::priority_queue<VectorIndex::Hit, std::vector<VectorIndex::Hit>, Worse>& heap) {
  std::vector<VectorIndex::Hit> out(heap.size());
  for (size_t i = out.size(); i-- > 0;) {
    out[i] = heap.top();
    heap.pop();
  }
  return out;
}

}  // namespace

VectorIndex::VectorIndex(int dim, IndexOptions opts) : dim_(dim), opts_(opts) {
  if (opts_.background)
    bg_ = std::thread([this] { run_guarded("memory-indexer", [this] { index_loop(); }); });
}

VectorIndex::~VectorIndex() {
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_.joinable()) bg_.join();
}

float VectorIndex::dot(const float* a, const float* b) const {
#ifdef AGENTRY_DOT_AVX2
  if (has_avx2()) return dot_avx2(a, b, static_cast<size_t>(dim_));
#endif
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int i = 0;
  for (; i + 4 <= dim_; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < dim_; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

VectorIndex::Slot VectorIndex::add(const float* v) {
  Slot s;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    if (!free_.empty()) {
      s = free_.back();
      free_.pop_back();
    } else {
      s = static_cast<Slot>(live_.size());
      live_.push_back(0);
      version_.push_back(0);
      data_.resize(data_.size() + static_cast<size_t>(dim_));
    }
    std::copy(v, v + dim_, data_.begin() + static_cast<ptrdiff_t>(s) * dim_);
    live_[s] = 1;
    ++version_[s];
    ++live_count_;
    pending_.emplace_back(s, version_[s]);
  }
  if (opts_.background) {
    bg_cv_.notify_one();
  } else if (size() >= opts_.hnsw_min || has_graph()) {
    index_pending(SIZE_MAX);
  }
  return s;
}

void VectorIndex::remove(Slot s) {
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    if (s >= live_.size() || !live_[s]) return;
    live_[s] = 0;
    ++version_[s];
    --live_count_;
    free_.push_back(s);
    if (has_graph()) unmarked_.emplace_back(s, version_[s]);
  }
  if (opts_.background)
    bg_cv_.notify_one();
  else
    mark_deleted();
}

void VectorIndex::mark_deleted() {
  std::vector<std::pair<Slot, uint64_t>> todo;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    todo.swap(unmarked_);
  }
  if (todo.empty()) return;
  std::unique_lock<std::shared_mutex> g(graph_mu_);
  if (!graph_) return;
  for (auto& [s, ver] : todo) {
    {
      std::shared_lock<std::shared_mutex> lock(mu_);
      if (version_[s] != ver) continue;  // reused since: its insertion replaces the point
    }
    try {
      graph_->markDelete(s);
    } catch (const std::exception&) {
      // Not in the graph yet (still pending): nothing to mark.
    }
  }
}

size_t VectorIndex::size() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return live_count_;
}

size_t VectorIndex::backlog() const {
  if (!opts_.background || (size() < opts_.hnsw_min && !has_graph())) return 0;
  return pending();
}

bool VectorIndex::wait_indexed(std::chrono::steady_clock::time_point deadline) const {
  auto done = [&] { return backlog() <= opts_.max_pending; };
  std::unique_lock<std::mutex> lock(indexed_mu_);
  return indexed_cv_.wait_until(lock, deadline, done);
}

size_t VectorIndex::pending() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return pending_.size();
}

bool VectorIndex::has_graph() const {
  return graph_ready_.load(std::memory_order_acquire);
}

std::vector<float> VectorIndex::vector(Slot s) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (s >= live_.size()) return {};
  auto b = data_.begin() + static_cast<ptrdiff_t>(s) * dim_;
  return std::vector<float>(b, b + dim_);
}

std::vector<VectorIndex::Hit> VectorIndex::exact_search(const float* q, size_t k,
                                                        const Accept& accept) const {
  std::priority_queue<Hit, std::vector<Hit>, Worse> heap;
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (Slot s = 0; s < live_.size(); ++s) {
    if (!live_[s] || (accept && !accept(s))) continue;
    keep(heap, k, Hit{dot(q, &data_[static_cast<size_t>(s) * dim_]), s});
  }
  return drain(heap);
}

std::vector<VectorIndex::Hit> VectorIndex::search(const float* q, size_t k, const Accept& accept,
                                                  const std::vector<Slot>* candidates,
                                                  bool* exact) const {
  *exact = true;
  if (k == 0) return {};
  if (candidates) {
    std::priority_queue<Hit, std::vector<Hit>, Worse> heap;
    std::shared_lock<std::shared_mutex> lock(mu_);
    for (Slot s : *candidates) {
      if (s >= live_.size() || !live_[s] || (accept && !accept(s))) continue;
      keep(heap, k, Hit{dot(q, &data_[static_cast<size_t>(s) * dim_]), s});
    }
    return drain(heap);
  }
  if (!has_graph() || size() < opts_.hnsw_min) return exact_search(q, k, accept);

  *exact = false;
  // The graph ranks by int8 codes: it is asked for more than k, and the float re-score picks.
  size_t want = k * (accept ? opts_.overfetch : opts_.rerank);
  std::vector<unsigned char> code(int8_code_bytes(dim_));
  int8_encode(q, dim_, code.data());
  std::vector<std::pair<float, hnswlib::labeltype>> found;
  {
    std::shared_lock<std::shared_mutex> g(graph_mu_);
    auto pq = graph_->searchKnn(code.data(), std::min(want, graph_->cur_element_count));
    while (!pq.empty()) {
      found.push_back(pq.top());
      pq.pop();
    }
  }
  std::priority_queue<Hit, std::vector<Hit>, Worse> heap;
  std::vector<Slot> seen;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    for (auto& [dist, label] : found) {
      Slot s = static_cast<Slot>(label);
      if (s >= live_.size() || !live_[s] || (accept && !accept(s))) continue;
      keep(heap, k, Hit{dot(q, &data_[static_cast<size_t>(s) * dim_]), s});
      seen.push_back(s);
    }
    // Not yet in the graph: scanned exactly.
    std::sort(seen.begin(), seen.end());
    for (auto& [s, ver] : pending_) {
      if (!live_[s] || version_[s] != ver || (accept && !accept(s))) continue;
      if (std::binary_search(seen.begin(), seen.end(), s)) continue;
      keep(heap, k, Hit{dot(q, &data_[static_cast<size_t>(s) * dim_]), s});
    }
  }
  auto out = drain(heap);
  if (accept && out.size() < k) {  // the filter threw most candidates away: be exact
    *exact = true;
    return exact_search(q, k, accept);
  }
  return out;
}

void VectorIndex::ensure_graph_locked() {
  size_t need;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    need = live_.size();
  }
  if (!graph_) {
    space_ = std::make_unique<Int8Space>(dim_);
    graph_capacity_ = std::max<size_t>(need * 2, 4096);
    graph_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), graph_capacity_,
                                                               opts_.M, opts_.ef_construction);
    graph_->setEf(opts_.ef_search);
  } else if (need > graph_capacity_) {
    graph_capacity_ = std::max(need, graph_capacity_ * 2);
    graph_->resizeIndex(graph_capacity_);
  }
}

void VectorIndex::index_pending(size_t max_batch) {
  mark_deleted();
  if (size() < opts_.hnsw_min && !has_graph()) return;
  size_t n = 0;             // the front of pending_ taken
  std::vector<Slot> slots;  // each slot once: a slot reused within the batch is inserted once,
                            // with its current vector (and two threads never add the same label)
  std::vector<unsigned char> codes;
  const size_t code_bytes = int8_code_bytes(dim_);
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    n = std::min(max_batch, pending_.size());
    slots.reserve(n);
    for (size_t i = 0; i < n; ++i) slots.push_back(pending_[i].first);
    std::sort(slots.begin(), slots.end());
    slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
    codes.resize(slots.size() * code_bytes);
    for (size_t i = 0; i < slots.size(); ++i)
      int8_encode(&data_[static_cast<size_t>(slots[i]) * dim_], dim_, &codes[i * code_bytes]);
  }
  if (n == 0) return;
  {
    std::unique_lock<std::shared_mutex> g(graph_mu_);
    ensure_graph_locked();
  }
  {
    // hnswlib's addPoint is thread-safe (a lock per node), and insertion is what bounds write
    // throughput (writers wait for the backlog): a large batch is split over insert_threads.
    std::shared_lock<std::shared_mutex> g(graph_mu_);
    auto insert = [&](size_t from, size_t to) {
      for (size_t i = from; i < to; ++i) graph_->addPoint(&codes[i * code_bytes], slots[i]);
    };
    const size_t threads = slots.size() >= 64 ? std::max<size_t>(1, opts_.insert_threads) : 1;
    std::vector<std::thread> helpers;
    for (size_t t = 1; t < threads; ++t)
      helpers.emplace_back(insert, slots.size() * t / threads, slots.size() * (t + 1) / threads);
    insert(0, slots.size() / threads);
    for (auto& h : helpers) h.join();
  }
  graph_ready_.store(true, std::memory_order_release);
  std::vector<Slot> dead;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    // The batch is the front of pending_ (only this function removes from it, under one caller).
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(n));
    for (Slot s : slots)
      if (!live_[s]) dead.push_back(s);  // removed while being inserted
  }
  {
    std::lock_guard<std::mutex> lock(indexed_mu_);  // a waiter checks pending() under it
  }
  indexed_cv_.notify_all();
  if (!dead.empty()) {
    std::unique_lock<std::shared_mutex> g(graph_mu_);
    for (Slot s : dead) {
      bool still_dead;
      {
        std::shared_lock<std::shared_mutex> lock(mu_);
        still_dead = !live_[s];
      }
      if (still_dead) {
        try {
          graph_->markDelete(s);
        } catch (const std::exception&) {
        }
      }
    }
  }
}

void VectorIndex::build_now() {
  std::unique_lock<std::mutex> lock(bg_mu_);  // one indexer at a time
  if (size() < opts_.hnsw_min && !has_graph()) return;
  while (pending() > 0) index_pending(4096);
}

void VectorIndex::index_loop() {
  std::unique_lock<std::mutex> lock(bg_mu_);
  while (!stop_) {
    bg_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stop_; });
    if (stop_) break;
    mark_deleted();
    while (!stop_ && pending() > 0 && (size() >= opts_.hnsw_min || has_graph())) {
      index_pending(256);
    }
  }
}

}  // namespace agentry::memory
