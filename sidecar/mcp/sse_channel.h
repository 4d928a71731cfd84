// The older MCP transport, HTTP+SSE (protocol revision 2024-11-05), which many deployed servers
// still speak: the client holds a GET open on the server's SSE URL; the stream's first event,
// `endpoint`, names the URL to POST messages to (with the server's session in it); each POST is
// acknowledged (202) and its response arrives later as a `message` event on the stream.
//
//   SseChannel ch(options, [](const Incoming& m) { /* notifications, server requests */ });
//   auto r = ch.send(make_request(1, "tools/list", {}), generation, &cancel, {});
//
// Lifecycle: a reader thread opens the stream and keeps it (reconnecting with a backoff from
// 0.5 s to 30 s when it ends, 0.5 s after an idle read timeout). Each stream is a new server
// session; generation() counts them, so the client can tell that the session it initialized is
// gone and initialize again. A request waiting for its response when the stream ends fails
// (unavailable) and is not resent here: the server may have run it.
//
// Thread-safety: send() may be called from several threads at once; the destructor stops the
// reader and fails what is waiting.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "common/result.h"
#include "sidecar/exec/cancel.h"
#include "sidecar/exec/providers/client_pool.h"
#include "sidecar/mcp/json_rpc.h"

namespace agentry::sidecar::mcp {

struct ServerOptions;

class SseChannel {
 public:
  // on_message gets what the stream carries besides responses (notifications and requests),
  // on the reader thread. The options must outlive the channel.
  SseChannel(const ServerOptions& options, std::function<void(const Incoming&)> on_message);
  ~SseChannel();
  SseChannel(const SseChannel&) = delete;
  SseChannel& operator=(const SseChannel&) = delete;

  struct Answer {
    bool session_lost = false;  // the stream `generation` named is gone: initialize again
    Incoming response;          // a request's response or error (kNotification for the others)
  };
  // POSTs msg on the stream of `generation` (0: whichever is open; the caller then reads
  // generation() for the session it started). A request waits up to the timeout for its
  // response. Transient POST failures are retried `retries` times.
  Result<Answer> send(const nlohmann::json& msg, uint64_t generation, CancelToken* cancel,
                      const httplib::Headers& extra);
  // The number of the stream now open, waiting up to the timeout for one when none is;
  // unavailable (with why the last one failed) when none opened in time.
  Result<uint64_t> generation(CancelToken* cancel);

 private:
  void read_loop();
  // The POST URL an `endpoint` event names, as a path on the stream's origin; "" when it names
  // another origin (refused: the server must not send our token elsewhere).
  std::string resolve(const std::string& endpoint) const;
  // Waits (mu_ held) until pred or the timeout or cancel; false on timeout or cancel.
  template <typename Pred>
  bool wait(std::unique_lock<std::mutex>& lock, CancelToken* cancel, Pred pred);

  const ServerOptions& opts_;
  const std::function<void(const Incoming&)> on_message_;
  Status endpoint_error_;
  std::string stream_path_;           // the SSE URL's path and query
  std::unique_ptr<ClientPool> pool_;  // the URL's origin, paths given whole
  CancelToken stop_;                  // the destructor's: ends the reader's GET

  std::mutex mu_;
  std::condition_variable cv_;  // with mu_: a stream opened or ended, a response came
  std::string post_path_;       // guarded by mu_; "" while no stream is open
  uint64_t generation_ = 0;     // guarded by mu_; the open stream's number
  uint64_t streams_ = 0;        // guarded by mu_; streams opened so far
  std::string last_error_;      // guarded by mu_; why the last stream failed
  // Responses by request id (its JSON text); nullopt while awaited. Guarded by mu_.
  std::map<std::string, std::optional<Incoming>> pending_;
  std::thread reader_;
};

}  // namespace agentry::sidecar::mcp
