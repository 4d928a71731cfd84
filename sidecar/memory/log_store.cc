#include "sidecar/memory/log_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/guarded.h"
#include "common/log.h"

namespace agentry::memory {
namespace {

uint64_t fnv64(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

Status errno_status(const std::string& what) {
  return internal_error(what + ": " + std::strerror(errno));
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_file(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

void fsync_dir(const std::string& dir);

// tmp file, fsync, rename, fsync of the folder: the file is whole or absent after a crash.
Status write_file_durably(const std::string& dir, const std::string& name,
                          const std::string& data) {
  const std::string path = dir + "/" + name, tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("open " + tmp);
  bool ok = write_all(fd, data.data(), data.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = errno_status("write " + path);
    ::unlink(tmp.c_str());
    return st;
  }
  fsync_dir(dir);
  return ok_status();
}

// Calls fn per intact record; returns the byte length of the intact prefix.
size_t for_each_record(const std::string& data, const std::function<void(std::string_view)>& fn) {
  size_t off = 0;
  while (data.size() - off >= 12) {
    uint32_t len;
    uint64_t sum;
    std::memcpy(&len, data.data() + off, 4);
    std::memcpy(&sum, data.data() + off + 4, 8);
    if (data.size() - off - 12 < len) break;
    std::string_view payload(data.data() + off + 12, len);
    if (fnv64(payload) != sum) break;
    fn(payload);
    off += 12 + len;
  }
  return off;
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

void frame(std::string& out, const std::string& payload) {
  uint32_t len = static_cast<uint32_t>(payload.size());
  uint64_t sum = fnv64(payload);
  out.append(reinterpret_cast<const char*>(&len), 4);
  out.append(reinterpret_cast<const char*>(&sum), 8);
  out.append(payload);
}

LogStore::LogStore(LogOptions opts) : opts_(std::move(opts)) {}

LogStore::~LogStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (fd_ >= 0) ::close(fd_);
}

std::string LogStore::path(const char* kind, uint64_t seq) const {
  char name[64];
  std::snprintf(name, sizeof name, "/%s-%012llu.bin", kind, static_cast<unsigned long long>(seq));
  return opts_.dir + name;
}

Status LogStore::open_segment_locked(uint64_t seq) {
  int fd = ::open(path("log", seq).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("open " + path("log", seq));
  struct stat st {};
  ::fstat(fd, &st);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  segment_ = seq;
  bytes_ = static_cast<uint64_t>(st.st_size);
  fsync_dir(opts_.dir);
  return ok_status();
}

Status LogStore::open(const Apply& apply) {
  ::mkdir(opts_.dir.c_str(), 0755);
  std::vector<uint64_t> logs, snaps;
  DIR* d = ::opendir(opts_.dir.c_str());
  if (!d) return errno_status("open dir " + opts_.dir);
  while (dirent* e = ::readdir(d)) {
    unsigned long long n = 0;
    char tail[8] = {0};
    if (std::sscanf(e->d_name, "log-%llu.%3s", &n, tail) == 2 && std::strcmp(tail, "bin") == 0)
      logs.push_back(n);
    else if (std::sscanf(e->d_name, "snapshot-%llu.%3s", &n, tail) == 2 &&
             std::strcmp(tail, "bin") == 0)
      snaps.push_back(n);
  }
  ::closedir(d);
  std::sort(logs.begin(), logs.end());
  std::sort(snaps.begin(), snaps.end());
  // The embedder mark first: another embedder's store is refused before anything is read or cut.
  std::string mark;
  const bool marked = read_file(opts_.dir + "/embedder", &mark);
  while (!mark.empty() && (mark.back() == '\n' || mark.back() == ' ')) mark.pop_back();
  const std::string where = "memory.dir " + opts_.dir;
  if (marked)
    if (auto s = check_embedder_mark(mark, true, opts_.mark, where); !s) return s;
  uint64_t base = 0;
  size_t loaded = 0;
  std::string data;
  auto replay = [&](std::string_view payload) {
    auto op = decode(payload);
    if (op.ok()) {
      apply(op.value());
      ++loaded;
    }
  };
  if (!snaps.empty()) {
    base = snaps.back();
    if (!read_file(path("snapshot", base), &data)) return errno_status("read snapshot");
    if (for_each_record(data, replay) != data.size())
      return internal_error("snapshot " + path("snapshot", base) + " is corrupt");
  }
  uint64_t last = base;
  for (size_t i = 0; i < logs.size(); ++i) {
    if (logs[i] < base) continue;
    if (!read_file(path("log", logs[i]), &data)) return errno_status("read log");
    size_t good = for_each_record(data, replay);
    if (good != data.size()) {
      // A torn tail: the write was never acknowledged (acks follow fdatasync of whole records).
      log::warn("memory log: cutting a torn tail",
                {{"file", path("log", logs[i])}, {"bytes", data.size() - good}});
      if (::truncate(path("log", logs[i]).c_str(), static_cast<off_t>(good)) != 0)
        return errno_status("truncate log");
    }
    last = logs[i];
  }
  if (!marked && !opts_.mark.id.empty()) {
    if (auto s = check_embedder_mark("", loaded > 0, opts_.mark, where); !s) return s;
    if (auto s = write_file_durably(opts_.dir, "embedder", opts_.mark.id + "\n"); !s) return s;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto s = open_segment_locked(last); !s) return s;
  }
  log::info("memory log opened", {{"dir", opts_.dir}, {"records", loaded}, {"segment", last}});
  writer_ = std::thread([this] { run_guarded("memory-log-writer", [this] { writer_loop(); }); });
  return ok_status();
}

Status LogStore::commit(const std::vector<Op>& ops) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!write_error_.is_ok()) return write_error_;
  for (const auto& op : ops) frame(queued_, encode(op));
  uint64_t mine = ++queued_seq_;
  cv_.notify_one();
  done_cv_.wait(lock, [&] { return durable_seq_ >= mine || !write_error_.is_ok() || stop_; });
  if (durable_seq_ >= mine) return ok_status();
  return write_error_.is_ok() ? unavailable("memory log closing") : write_error_;
}

void LogStore::writer_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queued_.empty(); });
    if (queued_.empty() && stop_) return;
    std::string batch;
    batch.swap(queued_);
    uint64_t upto = queued_seq_;
    int fd = fd_;
    writing_ = true;
    lock.unlock();
    bool ok = write_all(fd, batch.data(), batch.size());
    if (ok && opts_.fsync) ok = ::fdatasync(fd) == 0;
    Status err = ok ? ok_status() : errno_status("memory log write");
    lock.lock();
    writing_ = false;
    if (ok) {
      bytes_ += batch.size();
      durable_seq_ = upto;
    } else {
      write_error_ = err;
      log::error("memory log write failed", {{"error", err.message()}});
    }
    done_cv_.notify_all();
  }
}

std::string LogStore::degraded_reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return write_error_.is_ok() ? "" : write_error_.message();
}

bool LogStore::wants_compaction() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_ >= opts_.compact_bytes;
}

uint64_t LogStore::log_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

uint64_t LogStore::segment() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segment_;
}

Result<uint64_t> LogStore::rotate() {
  std::unique_lock<std::mutex> lock(mu_);
  // Let the writer finish what it holds, so nothing queued lands in the new segment out of order.
  done_cv_.wait(lock, [&] { return (queued_.empty() && !writing_) || stop_; });
  uint64_t next = segment_ + 1;
  if (auto s = open_segment_locked(next); !s) return s;
  return next;
}

Status LogStore::write_snapshot(
    uint64_t seq, const std::function<void(const std::function<void(const Entry&)>&)>& dump) {
  std::string tmp = path("snapshot", seq) + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("open " + tmp);
  std::string buf;
  bool ok = true;
  dump([&](const Entry& e) {
    Op op;
    op.entry = e;
    frame(buf, encode(op));
    if (buf.size() > (1u << 20)) {
      ok = ok && write_all(fd, buf.data(), buf.size());
      buf.clear();
    }
  });
  ok = ok && write_all(fd, buf.data(), buf.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path("snapshot", seq).c_str()) != 0) {
    ::unlink(tmp.c_str());
    return errno_status("write snapshot");
  }
  fsync_dir(opts_.dir);
  // Older files are covered by the snapshot now.
  DIR* d = ::opendir(opts_.dir.c_str());
  if (d) {
    while (dirent* e = ::readdir(d)) {
      unsigned long long n = 0;
      if ((std::sscanf(e->d_name, "log-%llu.bin", &n) == 1 ||
           std::sscanf(e->d_name, "snapshot-%llu.bin", &n) == 1) &&
          n < seq)
        ::unlink((opts_.dir + "/" + e->d_name).c_str());
    }
    ::closedir(d);
  }
  log::info("memory snapshot written", {{"segment", seq}});
  return ok_status();
}

}  // namespace agentry::memory
