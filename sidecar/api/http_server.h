// The sidecar's HTTP/1.1 server: Boost.Beast on Asio, event driven. A few I/O threads parse
// requests, run non-blocking routes inline and write each response with one gathered write; routes
// that may block (sync waits, disk, Redis, streams) run on a bounded worker pool and hand their
// response back to the I/O thread. Idle keep-alive connections cost nothing until they speak.
// (cpp-httplib, which served before, runs a thread per connection and polls idle ones: see
// docs/sidecar.md, "Server design".)
#pragma once

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "sidecar/api/router.h"

namespace agentry::sidecar {

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  int port = 0;  // 0: any free port
  int io_threads = 2;
  int worker_threads = 128;  // for routes that may block
  int worker_queue = 1024;   // then 503 with Retry-After
  int listen_backlog = 1024;
  int keep_alive_max_requests = 10000;
  int keep_alive_timeout_seconds = 5;
  int read_timeout_seconds = 10;
  int write_timeout_seconds = 10;
  size_t max_body_bytes = 1 << 20;
};

struct HttpHooks {
  // Runs when a request's headers are in, before its body is read and before routing. Returning
  // true means it answered (e.g. 401): the body is not read, and the connection closes if the
  // request had one.
  std::function<bool(const httplib::Request&, httplib::Response&)> before;
  // Runs once the response is written (or the client left), with the bytes of the body and the
  // seconds since the headers arrived.
  std::function<void(const httplib::Request&, const httplib::Response&, size_t body_bytes,
                     double seconds)>
      after;
};

class HttpServer {
 public:
  HttpServer(const Router& router, HttpServerOptions opts, HttpHooks hooks = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status bind();  // opts.host:opts.port
  int port() const;
  // Runs the I/O threads (the caller's among them) until stop().
  void serve();
  // Stops accepting and closes idle connections; requests in flight finish (bounded by the write
  // timeout) before serve() returns.
  void stop();

  struct Stats {
    size_t connections = 0;     // open now
    size_t workers = 0;         // worker threads alive (busy or idle)
    size_t queued = 0;          // blocking requests waiting for a worker
    uint64_t busy_refused = 0;  // 503s because the pool and its queue were full
  };
  Stats stats() const;

  struct Impl;  // opaque: keeps Beast and Asio out of this header

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace agentry::sidecar
