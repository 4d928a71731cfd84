#include "operator/kube/watch.h"

#include "common/json_io.h"

namespace agentry::kube {

bool LineSplitter::feed(std::string_view data,
                        const std::function<bool(std::string_view)>& on_line) {
  size_t start = 0;
  for (;;) {
    size_t nl = data.find('\n', start);
    if (nl == std::string_view::npos) break;
    bool keep_going;
    if (buf_.empty()) {
      keep_going = nl == start || on_line(data.substr(start, nl - start));
    } else {
      buf_.append(data.substr(start, nl - start));
      std::string line = std::move(buf_);
      buf_.clear();
      keep_going = on_line(line);
    }
    start = nl + 1;
    if (!keep_going) return false;
  }
  if (buf_.size() + (data.size() - start) > max_line_) {
    overflowed_ = true;
    buf_.clear();
    return false;
  }
  buf_.append(data.substr(start));
  return true;
}

Result<WatchEvent> decode_watch_event(std::string_view line) {
  auto parsed = json_io::parse(line, kMaxObjectDepth);
  json* j = parsed.ok() ? &parsed.value() : nullptr;
  if (!j || !j->is_object() || !j->contains("type") || !(*j)["type"].is_string()) {
    std::string start(line.substr(0, 200));
    if (!json_io::valid_utf8(start)) start = "(not UTF-8)";
    return internal_error("undecodable watch event: " + start);
  }
  WatchEvent ev;
  ev.type = (*j)["type"].get<std::string>();
  if (auto it = j->find("object"); it != j->end()) ev.object = std::move(*it);
  return ev;
}

Status watch_once(Client& client, const Resource& r, std::string_view ns, const WatchOptions& o,
                  const std::function<bool(WatchEvent&&)>& on_event, StreamCanceller* canceller) {
  Client::Request req;
  req.path = r.path(ns);
  req.query.emplace_back("watch", "true");
  if (!o.resource_version.empty()) req.query.emplace_back("resourceVersion", o.resource_version);
  if (o.allow_bookmarks) req.query.emplace_back("allowWatchBookmarks", "true");
  if (o.timeout_seconds > 0)
    req.query.emplace_back("timeoutSeconds", std::to_string(o.timeout_seconds));
  if (!o.label_selector.empty()) req.query.emplace_back("labelSelector", o.label_selector);
  if (!o.field_selector.empty()) req.query.emplace_back("fieldSelector", o.field_selector);
  LineSplitter lines;
  Status decode_error;
  auto on_line = [&](std::string_view line) {
    auto ev = decode_watch_event(line);
    if (!ev.ok()) {
      decode_error = ev.status();
      return false;
    }
    return on_event(std::move(ev.value()));
  };
  Status s = client.stream(
      req, [&](std::string_view chunk) { return lines.feed(chunk, on_line); }, canceller,
      o.read_timeout);
  if (!decode_error.is_ok()) return decode_error;
  if (lines.overflowed())
    return internal_error("watch event longer than " +
                          std::to_string(LineSplitter::kDefaultMaxLine >> 20) + " MiB");
  return s;
}

}  // namespace agentry::kube
