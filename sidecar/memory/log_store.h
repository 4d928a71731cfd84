// The embedded backend: an append-only log on the pod's volume, snapshots and compaction.
//
// Files in dir: log-<N>.bin (records appended; each record is u32 length, u64 FNV-1a checksum,
// payload) and snapshot-<N>.bin (the whole state as put records, written to a .tmp file, fsync'd
// and renamed). Recovery loads the highest snapshot N and replays log-<M> for every M >= N; a torn
// record at the tail of the last log (a write that was never acknowledged) is cut off. The file
// `embedder` names the embedder that wrote the vectors (embedder_mark.h): open() refuses another
// one before reading anything.
//
// Commits are group commits: writers queue their records and wait; one thread writes everything
// queued and fdatasyncs once, then wakes them. Nothing is acknowledged before its fdatasync.
//
// Compaction: when the current log passes compact_bytes, the service calls rotate() (new writes go
// to log-<N+1>) and write_snapshot(N+1, state) from a copy of the state at the rotation point;
// then older logs and snapshots are deleted.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "sidecar/memory/backend.h"
#include "sidecar/memory/embedder_mark.h"

namespace agentry::memory {

struct LogOptions {
  std::string dir;
  uint64_t compact_bytes = 64ull << 20;
  bool fsync = true;
  EmbedderMark mark;  // checked at open(), written there when the folder has none
};

class LogStore : public Backend {
 public:
  explicit LogStore(LogOptions opts);
  ~LogStore() override;

  Status open(const Apply& apply) override;
  Status commit(const std::vector<Op>& ops) override;
  std::string degraded_reason() const override;
  std::string name() const override { return "embedded"; }

  bool wants_compaction() const;
  // Starts a new log segment; returns its number (the snapshot to write next).
  Result<uint64_t> rotate();
  // Writes snapshot-<seq> from `dump` (which calls its argument once per entry), then drops older
  // logs and snapshots.
  Status write_snapshot(uint64_t seq,
                        const std::function<void(const std::function<void(const Entry&)>&)>& dump);
  uint64_t log_bytes() const;
  uint64_t segment() const;

 private:
  struct Pending {
    std::string bytes;
    uint64_t seq;
  };
  Status open_segment_locked(uint64_t seq);
  void writer_loop();
  std::string path(const char* kind, uint64_t seq) const;

  LogOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::string queued_;
  uint64_t queued_seq_ = 0, durable_seq_ = 0;
  Status write_error_;
  int fd_ = -1;
  uint64_t segment_ = 0;
  uint64_t bytes_ = 0;
  bool stop_ = false;
  bool writing_ = false;
  std::thread writer_;
};

// Record framing, shared with snapshots.
void frame(std::string& out, const std::string& payload);

}  // namespace agentry::memory
