// Issue 21: concurrent embed() calls share inner calls (one forward pass, one provider round trip),
// each request gets exactly its own vectors, and one request's failure stays its own.
#include "sidecar/memory/batching_embedder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/support/eventually.h"

namespace agentry::memory {
namespace {

// The lexical embedder, with a gate the test opens, a call log, and a failure on the text "bad".
class GatedEmbedder : public Embedder {
 public:
  Result<std::vector<Vector>> embed(const std::vector<std::string>& texts) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++calls_;
      sizes_.push_back(texts.size());
      cv_.wait(lock, [&] { return open_; });
    }
    for (const auto& t : texts)
      if (t == "bad") return invalid_argument("bad text");
    if (!texts.empty() && texts[0] == "short") return std::vector<Vector>(texts.size(), Vector(3));
    return lexical_.embed(texts);
  }
  int dimension() const override { return 384; }
  std::string name() const override { return "gated"; }
  bool may_block() const override { return true; }

  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<size_t> sizes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sizes_;
  }

 private:
  LocalEmbedder lexical_{384};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int calls_ = 0;
  std::vector<size_t> sizes_;
};

TEST(BatchingEmbedder, ACallerAloneRunsAtOnceAndRequestsQueuedBehindAPassShareTheNext) {
  auto inner = std::make_shared<GatedEmbedder>();
  BatchingEmbedder b(inner, BatchingOptions{.passes = 1, .max_texts = 64});
  std::vector<std::vector<std::string>> inputs;
  for (int i = 0; i < 11; ++i)
    inputs.push_back({"text " + std::to_string(i), "more " + std::to_string(i)});
  std::vector<Result<std::vector<Vector>>> out(11, std::vector<Vector>{});
  std::vector<std::thread> threads;
  threads.emplace_back([&] { out[0] = b.embed(inputs[0]); });
  ASSERT_TRUE(testing::eventually([&] { return inner->calls() == 1; }, std::chrono::seconds(10)));
  for (int i = 1; i < 11; ++i) threads.emplace_back([&, i] { out[i] = b.embed(inputs[i]); });
  ASSERT_TRUE(
      testing::eventually([&] { return b.stats().requests == 11; }, std::chrono::seconds(10)));
  inner->open();
  for (auto& t : threads) t.join();
  // The first ran alone (2 texts); the ten that queued behind it went in one pass of 20 texts.
  EXPECT_EQ(inner->sizes(), (std::vector<size_t>{2, 20}));
  EXPECT_EQ(b.stats().passes, 2u);
  LocalEmbedder lexical(384);
  for (int i = 0; i < 11; ++i) {
    ASSERT_TRUE(out[i].ok()) << out[i].status().to_string();
    EXPECT_EQ(*out[i], *lexical.embed(inputs[i])) << "request " << i << " got another's vectors";
  }
}

TEST(BatchingEmbedder, APassTakesWholeRequestsUpToMaxTextsAndALargeOneGoesAlone) {
  auto inner = std::make_shared<GatedEmbedder>();
  BatchingEmbedder b(inner, BatchingOptions{.passes = 1, .max_texts = 5});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  threads.emplace_back([&] { ok += b.embed({"first"}).ok(); });
  ASSERT_TRUE(testing::eventually([&] { return inner->calls() == 1; }, std::chrono::seconds(10)));
  // Queued in this order (each waits for the previous to be queued): 3, 3, 9 texts.
  for (size_t n : {3u, 3u, 9u}) {
    const uint64_t before = b.stats().requests;
    threads.emplace_back([&, n] { ok += b.embed(std::vector<std::string>(n, "x")).ok(); });
    ASSERT_TRUE(testing::eventually([&] { return b.stats().requests == before + 1; },
                                    std::chrono::seconds(10)));
  }
  inner->open();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(inner->sizes(), (std::vector<size_t>{1, 3, 3, 9}));
}

TEST(BatchingEmbedder, OneRequestsFailureIsItsOwnAndWrongVectorsAreAnError) {
  auto inner = std::make_shared<GatedEmbedder>();
  BatchingEmbedder b(inner, BatchingOptions{.passes = 1, .max_texts = 64});
  std::vector<std::thread> threads;
  Result<std::vector<Vector>> first{std::vector<Vector>{}}, good{std::vector<Vector>{}},
      bad{std::vector<Vector>{}}, wrong{std::vector<Vector>{}};
  threads.emplace_back([&] { first = b.embed({"first"}); });
  ASSERT_TRUE(testing::eventually([&] { return inner->calls() == 1; }, std::chrono::seconds(10)));
  threads.emplace_back([&] { good = b.embed({"fine", "also fine"}); });
  ASSERT_TRUE(
      testing::eventually([&] { return b.stats().requests == 2; }, std::chrono::seconds(10)));
  threads.emplace_back([&] { bad = b.embed({"bad"}); });
  ASSERT_TRUE(
      testing::eventually([&] { return b.stats().requests == 3; }, std::chrono::seconds(10)));
  inner->open();
  for (auto& t : threads) t.join();
  EXPECT_TRUE(first.ok());
  ASSERT_TRUE(good.ok()) << good.status().to_string();
  EXPECT_EQ(good->size(), 2u);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "bad text");
  wrong = b.embed({"short"});  // the inner embedder answers 3 numbers, not 384
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("3 numbers, want 384"), std::string::npos);
}

}  // namespace
}  // namespace agentry::memory
