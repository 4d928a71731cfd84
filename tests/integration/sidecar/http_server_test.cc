// The sidecar's HTTP server (sidecar/api/http_server.h) over real loopback sockets: what a client
// sees at the edges of HTTP/1.1 that the API tests do not reach (100-continue, pipelining,
// keep-alive limits, timeouts, a full worker pool, shutdown with a request in flight).
#include "sidecar/api/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace agentry::sidecar {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// A server on a free loopback port with a few routes, served on its own thread.
class TestServer {
 public:
  explicit TestServer(HttpServerOptions o = {}) {
    router_.Get(
        "/hello",
        [](const httplib::Request& req, httplib::Response& res) {
          res.set_content("hello " + req.get_param_value("n"), "text/plain");
        },
        non_blocking);
    router_.Post(
        "/echo",
        [](const httplib::Request& req, httplib::Response& res) {
          res.set_content(req.body, "text/plain");
        },
        non_blocking);
    router_.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      ++slow_started;
      std::this_thread::sleep_for(milliseconds(400));
      res.set_content("slow done", "text/plain");
    });
    o.host = "127.0.0.1";
    o.port = 0;
    server_ = std::make_unique<HttpServer>(router_, o);
    EXPECT_TRUE(server_->bind().is_ok());
    thread_ = std::thread([this] { server_->serve(); });
  }
  ~TestServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return server_->port(); }
  HttpServer& server() { return *server_; }
  void stop_and_join() {
    server_->stop();
    thread_.join();
    thread_ = std::thread([] {});
  }
  std::atomic<int> slow_started{0};

 private:
  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

// A raw client socket: writes bytes, reads until a predicate or the deadline.
class Raw {
 public:
  explicit Raw(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Raw() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& s) {
    ASSERT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
  }
  // Reads until `want` appears (true) or the peer closes / the deadline passes (false).
  bool read_until(const std::string& want, milliseconds deadline = milliseconds(5000)) {
    auto end = Clock::now() + deadline;
    while (got.find(want) == std::string::npos) {
      if (!read_some(end)) return false;
    }
    return true;
  }
  // True when the peer closed the connection before the deadline.
  bool closed_within(milliseconds deadline) {
    auto end = Clock::now() + deadline;
    while (Clock::now() < end) {
      if (!read_some(end)) return eof_;
    }
    return false;
  }
  std::string got;

 private:
  bool read_some(Clock::time_point end) {
    auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    got.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false, eof_ = false;
};

// Polls a condition every 5 ms for up to a second; its last value.
template <typename Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 200 && !pred(); ++i) std::this_thread::sleep_for(milliseconds(5));
  return pred();
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(SidecarHttpServer, ExpectContinueGetsA100ThenTheAnswer) {
  TestServer s;
  Raw c(s.port());
  ASSERT_TRUE(c.connected());
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(c.read_until("HTTP/1.1 100 Continue\r\n\r\n")) << c.got;
  c.send("abcde");
  ASSERT_TRUE(c.read_until("abcde")) << c.got;
  EXPECT_NE(c.got.find("HTTP/1.1 200 OK"), std::string::npos) << c.got;
}

TEST(SidecarHttpServer, PipelinedRequestsAreAnsweredInOrder) {
  TestServer s;
  Raw c(s.port());
  ASSERT_TRUE(c.connected());
  c.send(
      "GET /hello?n=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /hello?n=2 HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz");
  ASSERT_TRUE(c.read_until("xyz")) << c.got;
  size_t one = c.got.find("hello 1"), two = c.got.find("hello 2"), three = c.got.find("xyz");
  ASSERT_NE(one, std::string::npos) << c.got;
  ASSERT_NE(two, std::string::npos) << c.got;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
  EXPECT_EQ(count(c.got, "HTTP/1.1 200 OK"), 3u);
}

TEST(SidecarHttpServer, KeepAliveEndsAfterMaxRequests) {
  HttpServerOptions o;
  o.keep_alive_max_requests = 2;
  TestServer s(o);
  Raw c(s.port());
  ASSERT_TRUE(c.connected());
  c.send("GET /hello?n=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c.read_until("hello 1"));
  EXPECT_EQ(c.got.find("Connection: close"), std::string::npos) << c.got;
  c.send("GET /hello?n=2 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c.read_until("hello 2"));
  EXPECT_NE(c.got.find("Connection: close"), std::string::npos) << c.got;
  EXPECT_TRUE(c.closed_within(milliseconds(3000)));
}

TEST(SidecarHttpServer, SlowOrSilentClientsAreCutByTheTimeouts) {
  HttpServerOptions o;
  o.read_timeout_seconds = 1;
  o.keep_alive_timeout_seconds = 1;
  TestServer s(o);
  Raw partial(s.port());
  partial.send("GET /hello HTTP/1.1\r\nHost:");  // never finishes its headers
  Raw idle(s.port());
  idle.send("GET /hello?n=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(idle.read_until("hello 1"));
  EXPECT_TRUE(partial.closed_within(milliseconds(4000)));
  EXPECT_TRUE(idle.closed_within(milliseconds(4000)));  // idle keep-alive connection
  EXPECT_TRUE(eventually([&] { return s.server().stats().connections == 0; }));
}

TEST(SidecarHttpServer, AFullWorkerPoolAnswers503WithRetryAfter) {
  HttpServerOptions o;
  o.worker_threads = 1;
  o.worker_queue = 0;
  TestServer s(o);
  Raw busy(s.port());
  busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return s.slow_started.load() == 1; }));
  Raw refused(s.port());
  refused.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(refused.read_until("\r\n\r\n{")) << refused.got;
  EXPECT_NE(refused.got.find("HTTP/1.1 503"), std::string::npos) << refused.got;
  EXPECT_NE(refused.got.find("Retry-After: 1"), std::string::npos) << refused.got;
  EXPECT_EQ(s.server().stats().busy_refused, 1u);
  // Inline routes still answer while the pool is full, and the busy one finishes.
  Raw inline_route(s.port());
  inline_route.send("GET /hello?n=3 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(inline_route.read_until("hello 3"));
  EXPECT_TRUE(busy.read_until("slow done"));
}

TEST(SidecarHttpServer, StopFinishesARequestInFlightAndClosesIdleConnections) {
  TestServer s;
  Raw idle(s.port());
  idle.send("GET /hello?n=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(idle.read_until("hello 1"));
  Raw busy(s.port());
  busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return s.slow_started.load() == 1; }));
  s.stop_and_join();
  EXPECT_TRUE(busy.read_until("slow done")) << busy.got;
  EXPECT_NE(busy.got.find("Connection: close"), std::string::npos) << busy.got;
  EXPECT_TRUE(idle.closed_within(milliseconds(2000)));
  Raw late(s.port());
  EXPECT_FALSE(late.connected());  // no longer accepting
}

TEST(SidecarHttpServer, MalformedRequestsGetA400AndTheConnectionCloses) {
  TestServer s;
  Raw c(s.port());
  c.send("NOT HTTP AT ALL\r\n\r\n");
  ASSERT_TRUE(c.read_until("\r\n\r\n"));
  EXPECT_NE(c.got.find("HTTP/1.1 400"), std::string::npos) << c.got;
  EXPECT_TRUE(c.closed_within(milliseconds(2000)));
}

}  // namespace
}  // namespace agentry::sidecar
