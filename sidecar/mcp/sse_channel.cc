#include "sidecar/mcp/sse_channel.h"

#include <chrono>

#include "common/backoff.h"
#include "common/json_io.h"
#include "common/log.h"
#include "sidecar/mcp/mcp_client.h"

namespace agentry::sidecar::mcp {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

bool transient(const HttpResult& r) {
  if (r.cancelled) return false;
  return r.status == 0 || r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504;
}

}  // namespace

SseChannel::SseChannel(const ServerOptions& options,
                       std::function<void(const Incoming&)> on_message)
    : opts_(options), on_message_(std::move(on_message)) {
  auto ep = parse_endpoint(opts_.url);
  endpoint_error_ = ep.status();
  Endpoint origin = ep.ok() ? *ep : Endpoint{};
  stream_path_ = origin.base_path.empty() ? "/" : origin.base_path;
  origin.base_path.clear();
  // One connection is the stream's for its life; the POSTs take the others.
  pool_ = std::make_unique<ClientPool>(
      origin, PoolOptions{"", true, opts_.timeout_ms, opts_.timeout_ms, 8});
  if (endpoint_error_.is_ok()) reader_ = std::thread([this] { read_loop(); });
}

SseChannel::~SseChannel() {
  stop_.cancel("shutdown");
  if (reader_.joinable()) reader_.join();
}

std::string SseChannel::resolve(const std::string& endpoint) const {
  if (endpoint.empty()) return "";
  if (endpoint[0] == '/') return endpoint;
  auto ep = parse_endpoint(endpoint);
  if (!ep.ok() || ep->origin != pool_->endpoint().origin) return "";
  return ep->base_path.empty() ? "/" : ep->base_path;
}

void SseChannel::read_loop() {
  Backoff backoff(BackoffPolicy{.initial = milliseconds(500), .max = milliseconds(30000)});
  while (!stop_.cancelled()) {
    try {
      httplib::Headers headers = opts_.headers;
      headers.emplace("Accept", "text/event-stream");
      std::string buf, error;
      bool opened = false;
      HttpResult r =
          pool_->request("GET", stream_path_, "", headers, &stop_, [&](const char* d, size_t n) {
            buf.append(d, n);
            for (const auto& ev : take_sse_events(&buf)) {
              if (ev.event == "endpoint") {
                const std::string path = resolve(ev.data);
                if (path.empty()) {
                  error = "its endpoint event names another origin: " + ev.data.substr(0, 200);
                  return false;
                }
                std::lock_guard<std::mutex> lock(mu_);
                post_path_ = path;
                generation_ = ++streams_;
                opened = true;
                cv_.notify_all();
              } else if (ev.event == "message" && !ev.data.empty()) {
                for (auto& m : parse_body(ev.data)) {
                  if (m.kind == Incoming::Kind::kResponse || m.kind == Incoming::Kind::kError) {
                    std::lock_guard<std::mutex> lock(mu_);
                    auto it = pending_.find(m.id.dump());
                    if (it != pending_.end() && !it->second) it->second = std::move(m);
                    cv_.notify_all();
                  } else {
                    on_message_(m);
                  }
                }
              }
            }
            if (buf.size() > opts_.max_response_bytes) {
              error = "an event longer than " + std::to_string(opts_.max_response_bytes) + " bytes";
              return false;
            }
            return true;
          });
      if (error.empty())
        error = r.status == 0 ? (r.error_text.empty() ? httplib::to_string(r.error) : r.error_text)
                : r.status >= 200 && r.status < 300
                    ? "the event stream ended"
                    : "the event stream was answered HTTP " + std::to_string(r.status);
      {
        std::lock_guard<std::mutex> lock(mu_);
        post_path_.clear();
        generation_ = 0;
        last_error_ = error;
        cv_.notify_all();  // what waits for a response on this stream fails now
      }
      if (opened && !stop_.cancelled()) {
        log::info("MCP event stream ended; reconnecting", {{"server", opts_.name}, {"why", error}});
        backoff.reset();
      }
    } catch (...) {
      // Nothing may leave a thread: the loop goes on after the backoff.
    }
    if (!stop_.sleep_for(backoff.next())) return;
  }
}

template <typename Pred>
bool SseChannel::wait(std::unique_lock<std::mutex>& lock, CancelToken* cancel, Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(opts_.timeout_ms);
  return cv_.wait_until(lock, deadline, [&] {
    return pred() || (cancel && cancel->cancelled()) || stop_.cancelled();
  }) && pred();
}

Result<uint64_t> SseChannel::generation(CancelToken* cancel) {
  if (cancel && !cancel->set_abort([this] {
        std::lock_guard<std::mutex> lock(mu_);
        cv_.notify_all();
      }))
    return Status(Code::kCancelled, "cancelled");
  std::unique_lock<std::mutex> lock(mu_);
  wait(lock, cancel, [&] { return generation_ != 0; });
  const uint64_t g = generation_;
  const std::string why = last_error_;
  lock.unlock();
  if (cancel) cancel->clear_abort();
  if (cancel && cancel->cancelled()) return Status(Code::kCancelled, "cancelled");
  if (g == 0)
    return unavailable("MCP server '" + opts_.name + "' unreachable: no event stream (" +
                       (why.empty() ? "none opened in time" : why) + ")");
  return g;
}

Result<SseChannel::Answer> SseChannel::send(const json& msg, uint64_t generation,
                                            CancelToken* cancel, const httplib::Headers& extra) {
  if (!endpoint_error_.is_ok()) return endpoint_error_;
  uint64_t g = generation;
  if (g == 0) {
    auto open = this->generation(cancel);
    if (!open.ok()) return open.status();
    g = *open;
  }
  // Only a request (a method and an id) is answered on the stream.
  std::string path, key = msg.contains("method") && msg.contains("id") ? msg["id"].dump() : "";
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation_ != g) return Answer{true, {}};  // ended (or replaced) since
    path = post_path_;
    if (!key.empty()) pending_[key] = std::nullopt;
  }
  auto forget = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    if (!key.empty()) pending_.erase(key);
  };
  httplib::Headers headers = opts_.headers;
  for (const auto& [k, v] : extra) headers.emplace(k, v);
  const std::string body = json_io::dump(msg);
  Backoff backoff(BackoffPolicy{.initial = milliseconds(100), .max = milliseconds(2000)});
  for (int attempt = 0;; ++attempt) {
    HttpResult r = pool_->request("POST", path, body, headers, cancel);
    if (r.status >= 200 && r.status < 300) break;
    if (r.cancelled) return forget(), Status(Code::kCancelled, "cancelled");
    // The server no longer knows the session in the path (it restarted, the stream is going).
    if (r.status == 404 || r.status == 400) return forget(), Answer{true, {}};
    if (!transient(r) || attempt >= opts_.retries) {
      forget();
      return unavailable(
          "MCP server '" + opts_.name + "' " +
          (r.status == 0
               ? "unreachable: " +
                     (r.error_text.empty() ? httplib::to_string(r.error) : r.error_text)
               : "answered HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 300)));
    }
    if (cancel ? !cancel->sleep_for(backoff.next()) : !stop_.sleep_for(backoff.next()))
      return forget(), Status(Code::kCancelled, "cancelled");
  }
  if (key.empty()) return Answer{};  // a notification or a response: nothing comes back
  if (cancel && !cancel->set_abort([this] {
        std::lock_guard<std::mutex> lock(mu_);
        cv_.notify_all();
      }))
    return forget(), Status(Code::kCancelled, "cancelled");
  std::unique_lock<std::mutex> lock(mu_);
  wait(lock, cancel, [&] {
    auto it = pending_.find(key);
    return (it != pending_.end() && it->second) || generation_ != g;
  });
  std::optional<Incoming> response = std::move(pending_[key]);
  pending_.erase(key);
  const bool lost = generation_ != g;
  lock.unlock();
  if (cancel) cancel->clear_abort();
  if (response) return Answer{false, std::move(*response)};
  if (cancel && cancel->cancelled()) return Status(Code::kCancelled, "cancelled");
  if (lost)
    return unavailable("MCP server '" + opts_.name +
                       "': the event stream closed before the response came");
  return unavailable("MCP server '" + opts_.name + "' did not answer within " +
                     std::to_string(opts_.timeout_ms) + " ms");
}

}  // namespace agentry::sidecar::mcp
