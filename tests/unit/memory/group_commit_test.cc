// The group committer: concurrent writes share flushes, each gets its own status, the queue is
// bounded, and nothing queued is dropped at shutdown.
#include "sidecar/memory/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

namespace agentry::memory {
namespace {

using namespace std::chrono_literals;

std::vector<Op> put(const std::string& id) {
  Op op;
  op.entry.id = id;
  return {op};
}

TEST(GroupCommit, ConcurrentWritesShareFlushesAndEachGetsItsOwnStatus) {
  std::mutex mu;
  std::vector<std::string> flushed;
  GroupCommitter gc(
      [&](std::vector<GroupCommitter::Request>& group) {
        std::this_thread::sleep_for(2ms);  // a durable write takes a while: others queue meanwhile
        std::lock_guard<std::mutex> lock(mu);
        for (auto& r : group) {
          flushed.push_back(r.ops[0].entry.id);
          if (r.ops[0].entry.id.rfind("bad", 0) == 0) r.result = invalid_argument("bad entry");
        }
      },
      1000);
  constexpr int kThreads = 8, kEach = 25;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string id =
            (i % 5 == 0 ? "bad-" : "ok-") + std::to_string(t) + "-" + std::to_string(i);
        Status s = gc.commit(put(id));
        EXPECT_EQ(s.is_ok(), id.rfind("ok", 0) == 0) << id << ": " << s.to_string();
        (s ? ok : failed)++;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), kThreads * kEach * 4 / 5);
  EXPECT_EQ(failed.load(), kThreads * kEach / 5);
  EXPECT_EQ(flushed.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_LT(gc.groups(), static_cast<uint64_t>(kThreads * kEach)) << "no write was batched";
}

TEST(GroupCommit, RefusesBeyondItsBoundAndFlushesTheQueueAtShutdown) {
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> done{0};
  auto gc = std::make_unique<GroupCommitter>(
      [gate](std::vector<GroupCommitter::Request>&) { gate.wait(); }, 3);
  // The first request is taken by the committer, which then blocks in flush.
  ASSERT_TRUE(gc->submit(put("a"), [&](const Status&) { ++done; }));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (gc->pending() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(gc->pending(), 0u);
  for (const char* id : {"b", "c", "d"})
    ASSERT_TRUE(gc->submit(put(id), [&](const Status&) { ++done; })) << id;
  EXPECT_FALSE(gc->submit(put("e"), [&](const Status&) { ++done; })) << "4th waiting request";
  EXPECT_EQ(gc->commit(put("f")).code(), Code::kUnavailable);
  release.set_value();
  gc.reset();  // joins after flushing b, c and d
  EXPECT_EQ(done.load(), 4);
}

}  // namespace
}  // namespace agentry::memory
