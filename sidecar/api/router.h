// The sidecar's route table: a method, a path regex and a handler written against cpp-httplib's
// Request/Response types, which stay the handlers' interface whatever serves the connection
// (sidecar/api/http_server.h). Each route says whether its handler may block: disk, network and
// waits run on the worker pool, everything else inline on an I/O thread.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "common/health.h"

namespace agentry::sidecar {

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// Lets a handler answer later without holding a thread (long-polls): the request and response
// stay alive until send(). Copies share one state; only the first send() counts.
class Reply {
 public:
  struct State;
  explicit Reply(std::shared_ptr<State> state) : state_(std::move(state)) {}
  // Writes the response as the handler left it. Any thread; once.
  void send() const;
  // Runs fn on the connection's thread after delay, unless send() came first (a deadline).
  void after(std::chrono::milliseconds delay, std::function<void()> fn) const;

 private:
  std::shared_ptr<State> state_;
};
// Runs inline on the I/O thread and must not block; answers through reply.send().
using AsyncHandler =
    std::function<void(const httplib::Request&, httplib::Response&, const Reply& reply)>;
// Asked before the handler runs; true sends the request to the worker pool.
using MayBlock = std::function<bool(const httplib::Request&)>;

inline bool blocking(const httplib::Request&) {
  return true;
}
inline bool non_blocking(const httplib::Request&) {
  return false;
}

class Router {
 public:
  struct Route {
    std::string method;
    std::string prefix;  // the pattern's literal start: most misses skip the regex
    std::regex pattern;
    Handler handler;     // or
    AsyncHandler async;  // which answers later
    MayBlock may_block;
  };

  Router& Get(const std::string& pattern, Handler h, MayBlock b = blocking);
  Router& Post(const std::string& pattern, Handler h, MayBlock b = blocking);
  Router& Put(const std::string& pattern, Handler h, MayBlock b = blocking);
  Router& Delete(const std::string& pattern, Handler h, MayBlock b = blocking);
  Router& Patch(const std::string& pattern, Handler h, MayBlock b = blocking);
  Router& GetAsync(const std::string& pattern, AsyncHandler h);
  Router& PostAsync(const std::string& pattern, AsyncHandler h);

  // The first route (in registration order) for req.method whose pattern matches all of req.path;
  // fills req.matches. nullptr when none.
  const Route* match(httplib::Request& req) const;
  // The methods that have a route for path, as an Allow header value; empty when none.
  std::string allowed(const std::string& path) const;

 private:
  Router& add(const char* method, const std::string& pattern, Handler h, AsyncHandler a,
              MayBlock b);
  std::vector<Route> routes_;
};

// /metrics, /healthz, /livez and /readyz, served inline (they never block). before_scrape, when
// set, runs before /metrics is serialized (to refresh gauges read from elsewhere).
void mount_operational_routes(Router& router, const HealthChecks& liveness,
                              const HealthChecks& readiness,
                              std::function<void()> before_scrape = nullptr);

}  // namespace agentry::sidecar
