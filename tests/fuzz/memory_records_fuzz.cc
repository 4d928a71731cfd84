// libFuzzer target: what agent memory reads back from storage. The first byte picks the reader:
//   0: one encoded record (memory::decode), re-encoded and decoded again (a round trip)
//   1: RESP bytes as a Redis connection reads them, then the stream-reply readers of the Redis
//      backend (XREAD feed items, XRANGE ids) and the records inside them
//   2: a log segment replayed by the embedded backend (LogStore::open on a folder holding it)
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "sidecar/memory/log_store.h"
#include "sidecar/memory/redis_backend.h"
#include "sidecar/memory/types.h"
#include "sidecar/redis/redis_pool.h"

using namespace agentry;

namespace {

void round_trip(std::string_view bytes) {
  auto op = memory::decode(bytes);
  if (!op.ok()) return;
  auto again = memory::decode(memory::encode(*op));
  if (!again.ok() || again->entry.text != op->entry.text || again->entry.id != op->entry.id ||
      again->entry.embedding.size() != op->entry.embedding.size())
    std::abort();  // what was decoded must encode to the same record
}

void replay_log(std::string_view bytes) {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/agentry-fuzz-log-XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  { std::ofstream(dir + "/log-0.bin", std::ios::binary).write(bytes.data(), bytes.size()); }
  memory::LogOptions o;
  o.dir = dir;
  o.fsync = false;
  memory::LogStore log(o);
  (void)log.open([](const memory::Op&) {});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      round_trip(bytes);
      break;
    case 1: {
      auto replies = redis::parse_resp(bytes);
      if (!replies.ok()) break;
      for (const auto& r : *replies) {
        (void)memory::first_stream_id(r);
        for (const auto& item : memory::feed_items(r))
          for (const auto& op : item.ops) round_trip(op);
        if (r.type == redis::Reply::Type::kString) round_trip(r.str);
      }
      break;
    }
    default:
      replay_log(bytes);
  }
  return 0;
}
