// One watch request: the API server's chunked stream of JSON lines, decoded into events.
// The retrying list+watch loop on top of it is runtime/watcher.h.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"
#include "operator/kube/client.h"

namespace agentry::kube {

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  nlohmann::json object;
};

struct WatchOptions {
  std::string resource_version;
  int timeout_seconds = 0;  // server-side end of the stream; 0: the server's default
  bool allow_bookmarks = true;
  std::string label_selector;
  std::string field_selector;
  std::chrono::seconds read_timeout{90};  // silence longer than this drops the connection
};

// Splits a byte stream into '\n'-terminated lines (a chunk may hold part of a line or many).
// A line longer than max_line stops the split (feed returns false, overflowed() is true): a peer
// that never sends '\n' cannot grow the buffer without bound. The default is far above the API
// server's own limit on an object (etcd's 1.5 MiB request limit, as JSON with its envelope).
class LineSplitter {
 public:
  static constexpr size_t kDefaultMaxLine = 16u << 20;
  explicit LineSplitter(size_t max_line = kDefaultMaxLine) : max_line_(max_line) {}
  // Calls on_line for each complete line; stops early (returns false) if on_line does or if the
  // unfinished line would exceed max_line.
  bool feed(std::string_view data, const std::function<bool(std::string_view)>& on_line);
  size_t buffered() const { return buf_.size(); }
  bool overflowed() const { return overflowed_; }

 private:
  size_t max_line_;
  std::string buf_;
  bool overflowed_ = false;
};

// Decodes one line of a watch stream: a JSON object with a string "type" and, usually, an
// "object". kInternal (naming the line's start) for anything else, nesting deeper than
// kMaxObjectDepth included. Pure; never throws.
Result<WatchEvent> decode_watch_event(std::string_view line);

// Runs one watch until the server ends it (ok), on_event returns false (ok), cancel (kCancelled)
// or an error (the API Status, e.g. kGone for a too old resourceVersion). ERROR events are passed
// to on_event as they come; status_from_api_status() turns their object into a Status.
Status watch_once(Client& client, const Resource& r, std::string_view ns, const WatchOptions& opts,
                  const std::function<bool(WatchEvent&&)>& on_event, StreamCanceller* canceller);

}  // namespace agentry::kube
