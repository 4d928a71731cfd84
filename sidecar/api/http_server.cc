#include "sidecar/api/http_server.h"

#include <strings.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "common/http_util.h"
#include "common/json_io.h"
#include "common/log.h"
#include "sidecar/api/errors.h"
#include "sidecar/api/worker_pool.h"

namespace agentry::sidecar {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxHeaderBytes = 16 * 1024;
constexpr uint64_t kMaxDrainBytes = 16 << 20;  // see Session::answer_unread

// A parse error of the request (as opposed to the connection failing or timing out).
bool is_parse_error(const beast::error_code& ec) {
  static const auto& kCategory = bhttp::make_error_code(bhttp::error::bad_method).category();
  return ec.category() == kCategory && ec != bhttp::error::end_of_stream &&
         ec != bhttp::error::partial_message;
}

bool header_equals(const std::string& v, const char* want) {
  return strcasecmp(v.c_str(), want) == 0;
}

// Runs an io_context until it stops. A handler that throws is a bug (every callback below is
// guarded), but it must not end the process: log it and go on serving (Asio allows run() again
// after an exception).
void run_guarded(net::io_context& ctx) {
  for (;;) {
    try {
      ctx.run();
      return;
    } catch (const std::exception& e) {
      log::error("I/O handler threw; serving on", {{"error", e.what()}});
    } catch (...) {
      log::error("I/O handler threw; serving on", {});
    }
  }
}

// The path (percent-decoded) and every query parameter must be UTF-8: names a route reads (keys,
// ids) are echoed back in JSON, and a key stored under bytes that cannot be echoed is a trap.
std::string invalid_utf8_part(const httplib::Request& req) {
  if (!json_io::valid_utf8(req.path)) return "the request path";
  for (const auto& [k, v] : req.params)
    if (!json_io::valid_utf8(k) || !json_io::valid_utf8(v)) return "a query parameter";
  return "";
}

}  // namespace

class Session;

struct Reply::State {
  std::shared_ptr<Session> session;
  // A reply may come after the server is gone (an execution finishing after shutdown): then there
  // is nobody to answer. Held while posting, it keeps the io_contexts alive.
  std::weak_ptr<HttpServer::Impl> server;
  std::atomic<bool> sent{false};
  std::optional<net::steady_timer> deadline;  // touched on the connection's thread only
};

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(const Router& r, HttpServerOptions o, HttpHooks h)
      : router(r),
        opts(std::move(o)),
        hooks(std::move(h)),
        workers(static_cast<size_t>(std::max(1, opts.worker_threads)),
                static_cast<size_t>(std::max(0, opts.worker_queue))),
        contexts(make_contexts(std::max(1, opts.io_threads))),
        acceptor(*contexts[0]),
        accept_retry(*contexts[0]) {}

  // One single-threaded io_context per I/O thread, connections dealt round robin: no locking in
  // the reactor and no wake-ups across threads for a connection's work.
  static std::vector<std::unique_ptr<net::io_context>> make_contexts(int n) {
    std::vector<std::unique_ptr<net::io_context>> v;
    for (int i = 0; i < n; ++i) v.push_back(std::make_unique<net::io_context>(1));
    return v;
  }

  void accept();
  std::list<std::weak_ptr<Session>>::iterator enroll(std::weak_ptr<Session> s) {
    std::lock_guard<std::mutex> lock(mu);
    ++connections;
    return sessions.insert(sessions.end(), std::move(s));
  }
  void leave(std::list<std::weak_ptr<Session>>::iterator it) {
    std::lock_guard<std::mutex> lock(mu);
    sessions.erase(it);
    --connections;
    drained.notify_all();
  }

  const Router& router;
  const HttpServerOptions opts;
  const HttpHooks hooks;
  // Declaration order is destruction order reversed: the io_contexts (and the sessions their
  // pending handlers hold) go before the registry those sessions leave, and before the worker
  // pool; the acceptor and timer before their io_context.
  mutable std::mutex mu;
  std::condition_variable drained;
  std::list<std::weak_ptr<Session>> sessions;
  size_t connections = 0;
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};  // the io_contexts no longer run
  std::atomic<uint64_t> busy_refused{0};
  WorkerPool workers;
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  tcp::acceptor acceptor;
  net::steady_timer accept_retry;
  size_t next_context = 0;  // only the accepting thread deals
  int port = 0;
};

// One connection: reads a request, routes it, writes the answer, and reads the next one. Only one
// thing happens on a connection at a time, on its io_context's thread (or, while a blocking
// handler runs, on a worker that hands back to that thread).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl& srv, tcp::socket socket) : srv_(srv), stream_(std::move(socket)) {}
  ~Session() { srv_.leave(reg_); }

  void start() {
    reg_ = srv_.enroll(weak_from_this());
    beast::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      remote_addr_ = remote.address().to_string();
      remote_port_ = remote.port();
    }
    stream_.socket().set_option(tcp::no_delay(true), ec);
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

  // Every callback of a connection runs through here. An exception (a bug, or input no check
  // foresaw) answers the request in hand with a 500 and closes the connection; the thread lives.
  template <typename F>
  void guarded(const char* where, F&& fn) noexcept {
    try {
      fn();
      return;
    } catch (const std::exception& e) {
      log::error(
          "HTTP handler threw",
          {{"where", where}, {"path", req_ ? req_->path : std::string()}, {"error", e.what()}});
    } catch (...) {
      log::error("HTTP handler threw", {{"where", where}});
    }
    try {
      if (req_ && !out_) {
        close_after_ = true;
        res_.emplace();
        http::send_error(*res_, 500, "internal", "internal error (see the sidecar log)");
        return respond();
      }
    } catch (...) {
    }
    close();
  }

  // On the connection's thread: a connection waiting for its next request closes now; a busy one
  // after its response.
  void stop() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) self->close();
    });
  }

 private:
  const HttpServerOptions& opts() const { return srv_.opts; }

  void read_header() {
    if (srv_.stopping) return close();
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(boost::none);  // checked against Content-Length in on_header, then set
    idle_ = true;
    stream_.expires_after(std::chrono::seconds(served_ == 0 ? opts().read_timeout_seconds
                                                            : opts().keep_alive_timeout_seconds));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->guarded("header", [&] { self->on_header(ec); });
                             });
  }

  void on_header(beast::error_code ec) {
    idle_ = false;
    if (ec) {
      if (ec == bhttp::error::header_limit) return reply_early(431, "request headers too large");
      if (is_parse_error(ec)) return reply_early(400, "malformed request: " + ec.message());
      return close();  // the client left, or said nothing within the timeout
    }
    started_ = Clock::now();
    const auto& h = parser_->get();
    req_.emplace();
    res_.emplace();
    body_bytes_ = 0;
    close_after_ = !h.keep_alive() || served_ + 1 >= opts().keep_alive_max_requests;
    httplib::Request& req = *req_;
    req.method = std::string(h.method_string());
    req.target = std::string(h.target());
    req.version = h.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
    req.remote_addr = remote_addr_;
    req.remote_port = remote_port_;
    for (const auto& f : h)
      req.headers.emplace(std::string(f.name_string()), std::string(f.value()));
    size_t q = req.target.find('?');
    req.path = httplib::detail::decode_url(req.target.substr(0, q), false);
    if (q != std::string::npos)
      httplib::detail::parse_query_text(req.target.substr(q + 1), req.params);

    if (auto len = parser_->content_length(); len && *len > opts().max_body_bytes)
      return reply_too_large();
    if (srv_.hooks.before && srv_.hooks.before(req, *res_)) return answer_unread();
    if (parser_->is_done()) return dispatch();
    parser_->body_limit(opts().max_body_bytes);
    if (expects_continue()) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->close();
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(std::chrono::seconds(opts().read_timeout_seconds));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->guarded("body", [&] { self->on_body(ec); });
                      });
  }

  void on_body(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return reply_too_large();
    if (ec) {
      if (is_parse_error(ec)) return reply_early(400, "malformed request body: " + ec.message());
      finished(false);
      return close();
    }
    req_->body = std::move(parser_->get().body());
    dispatch();
  }

  void dispatch() {
    if (std::string part = invalid_utf8_part(*req_); !part.empty()) {
      http::send_error(*res_, 400, "invalid_argument",
                       part + " is not valid UTF-8 (after percent-decoding)");
      return respond();
    }
    const Router::Route* route = srv_.router.match(*req_);
    if (!route) {
      std::string allow = srv_.router.allowed(req_->path);
      if (allow.empty()) {
        http::send_error(*res_, 404, "not_found",
                         "no route for " + req_->method + " " + req_->path);
      } else {
        res_->set_header("Allow", allow);
        http::send_error(
            *res_, 405, "method_not_allowed",
            req_->method + " not allowed on " + req_->path + " (allowed: " + allow + ")");
      }
      return respond();
    }
    if (route->async) return run_async(route);
    if (route->may_block(*req_)) return to_worker(route);
    run(route);
    answer();
  }

 public:
  // The handler is done with res_: write it (a stream is written from a worker).
  void answer() {
    if (res_->content_provider_) return to_worker(nullptr);
    respond();
  }
  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  void run_async(const Router::Route* route) {
    auto state = std::make_shared<Reply::State>();
    state->session = shared_from_this();
    state->server = srv_.weak_from_this();
    try {
      route->async(*req_, *res_, Reply(state));
    } catch (const std::exception& e) {
      log::error("handler threw", {{"path", req_->path}, {"error", e.what()}});
      if (state->sent.exchange(true)) return;
      res_.emplace();
      http::send_error(*res_, 500, "internal", "internal error (see the sidecar log)");
      answer();
    }
  }

  // Runs the handler (when route is set) and any stream on a worker, then answers on the
  // connection's thread.
  void to_worker(const Router::Route* route) {
    auto self = shared_from_this();
    bool queued = srv_.workers.try_submit([self, route] {
      if (route) self->run(route);
      if (self->res_->content_provider_) return self->stream();
      net::post(self->stream_.get_executor(),
                [self] { self->guarded("respond", [&] { self->respond(); }); });
    });
    if (queued) return;
    ++srv_.busy_refused;
    res_.emplace();
    res_->set_header("Retry-After", "1");
    http::send_error(*res_, 503, "unavailable", "server busy: every worker is taken, retry");
    respond();
  }

  void run(const Router::Route* route) {
    try {
      route->handler(*req_, *res_);
    } catch (const std::exception& e) {
      log::error("handler threw", {{"path", req_->path}, {"error", e.what()}});
      res_.emplace();
      http::send_error(*res_, 500, "internal", "internal error (see the sidecar log)");
    } catch (...) {
      log::error("handler threw", {{"path", req_->path}});
      res_.emplace();
      http::send_error(*res_, 500, "internal", "internal error (see the sidecar log)");
    }
  }

  void reply_too_large() {
    reply_early(413, "request body larger than server.maxBodyBytes (" +
                         std::to_string(opts().max_body_bytes) + " bytes)");
  }

  bool expects_continue() const {
    return header_equals(req_->get_header_value("Expect"), "100-continue");
  }

  // An answer before (or instead of) reading the rest of the request; the connection then closes.
  void reply_early(int status, const std::string& message) {
    if (!req_) {
      req_.emplace();
      started_ = Clock::now();
    }
    res_.emplace();
    http::send_error(*res_, status, api::error_code_for_http(status), message);
    if (parser_ && parser_->is_header_done()) return answer_unread();
    close_after_ = true;
    respond();
  }

  // res_ answers a request whose body was not read. Most clients read nothing until they have sent
  // the whole body, so a body of known, modest length is read and dropped first (otherwise they
  // see a reset instead of the answer); then the connection closes.
  void answer_unread() {
    close_after_ = true;
    auto len = parser_->content_length();
    if (parser_->is_done() || expects_continue() || !len || *len > kMaxDrainBytes) return respond();
    discard(*len);
  }

  void discard(uint64_t remaining) {
    size_t have = static_cast<size_t>(std::min<uint64_t>(buffer_.size(), remaining));
    buffer_.consume(have);
    remaining -= have;
    if (remaining == 0) return respond();
    stream_.expires_after(std::chrono::seconds(opts().read_timeout_seconds));
    auto space = buffer_.prepare(static_cast<size_t>(std::min<uint64_t>(remaining, 64 * 1024)));
    stream_.async_read_some(space,
                            [self = shared_from_this(), remaining](beast::error_code ec, size_t n) {
                              if (ec) {
                                self->finished(false);
                                return self->close();
                              }
                              self->buffer_.commit(n);
                              self->discard(remaining);
                            });
  }

  // On the connection's thread: writes res_ with one gathered write.
  void respond() {
    httplib::Response& res = *res_;
    if (res.status == -1) res.status = 200;
    if (res.status >= 400 && res.body.empty())
      http::send_error(res, res.status, api::error_code_for_http(res.status),
                       "HTTP " + std::to_string(res.status));
    if (header_equals(res.get_header_value("Connection"), "close") || srv_.stopping)
      close_after_ = true;
    out_.emplace(static_cast<bhttp::status>(res.status), req_->version == "HTTP/1.0" ? 10 : 11);
    for (const auto& [k, v] : res.headers)
      if (!header_equals(k, "Connection") && !header_equals(k, "Content-Length"))
        out_->insert(k, v);
    body_bytes_ = res.body.size();
    out_->body() = std::move(res.body);
    out_->keep_alive(!close_after_);
    out_->prepare_payload();
    stream_.expires_after(std::chrono::seconds(opts().write_timeout_seconds));
    bhttp::async_write(stream_, *out_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->out_.reset();
      try {
        self->finished(!ec);
      } catch (const std::exception& e) {
        log::error("after-request hook threw", {{"error", e.what()}});
        self->close_after_ = true;
      }
      if (ec || self->close_after_) return self->close();
      self->read_header();
    });
  }

  // On a worker: a chunked response from the handler's content provider (SSE). Each write waits
  // for the I/O thread to put it on the wire, so a slow reader slows the provider, and the write
  // timeout bounds a reader that stopped.
  void stream() {
    httplib::Response& res = *res_;
    std::string head = "HTTP/1.1 " + std::to_string(res.status) + " " +
                       std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(res.status))) +
                       "\r\n";
    for (const auto& [k, v] : res.headers)
      if (!header_equals(k, "Connection") && !header_equals(k, "Content-Length") &&
          !header_equals(k, "Transfer-Encoding"))
        head += k + ": " + v + "\r\n";
    head += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    close_after_ = true;
    bool ok = write_from_worker(head);
    bool more = true;
    httplib::DataSink sink;
    sink.write = [&](const char* data, size_t n) {
      if (!ok) return false;
      if (n == 0) return true;
      char size[20];
      int len = std::snprintf(size, sizeof size, "%zx\r\n", n);
      std::string chunk;
      chunk.reserve(static_cast<size_t>(len) + n + 2);
      chunk.append(size, static_cast<size_t>(len)).append(data, n).append("\r\n");
      body_bytes_ += n;
      ok = write_from_worker(chunk);
      return ok;
    };
    sink.is_writable = [&] { return ok; };
    sink.done = [&] { more = false; };
    size_t offset = 0;
    while (ok && more && !srv_.stopping) {
      try {
        if (!res.content_provider_(offset, 0, sink)) break;
      } catch (const std::exception& e) {
        log::error("stream provider threw", {{"path", req_->path}, {"error", e.what()}});
        break;
      }
    }
    if (ok && !more) ok = write_from_worker("0\r\n\r\n");
    res.content_provider_success_ = ok && !more;
    net::post(stream_.get_executor(), [self = shared_from_this(), ok] {
      self->finished(ok);
      self->close();
    });
  }

  bool write_from_worker(const std::string& data) {
    std::promise<bool> done;
    auto result = done.get_future();
    net::post(stream_.get_executor(), [this, &data, &done] {
      stream_.expires_after(std::chrono::seconds(opts().write_timeout_seconds));
      net::async_write(stream_, net::buffer(data),
                       [&done](beast::error_code ec, size_t) { done.set_value(!ec); });
    });
    return result.get();
  }

  // Once per request: the after hook (metrics, access log), then the request is forgotten.
  void finished(bool written) {
    ++served_;
    if (srv_.hooks.after && req_ && res_) {
      if (!written && res_->status < 0) res_->status = 499;  // the client left first
      double secs = std::chrono::duration<double>(Clock::now() - started_).count();
      srv_.hooks.after(*req_, *res_, body_bytes_, secs);
    }
    req_.reset();
    res_.reset();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  HttpServer::Impl& srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::list<std::weak_ptr<Session>>::iterator reg_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<httplib::Request> req_;
  std::optional<httplib::Response> res_;
  std::optional<bhttp::response<bhttp::string_body>> out_;
  std::string remote_addr_;
  int remote_port_ = 0;
  Clock::time_point started_;
  size_t body_bytes_ = 0;
  int served_ = 0;
  bool idle_ = false, close_after_ = false;
};

void Reply::send() const {
  if (!state_ || state_->sent.exchange(true)) return;
  auto server = state_->server.lock();
  if (!server || server->stopped) return;
  net::post(state_->session->executor(), [st = state_] {
    if (st->deadline) st->deadline->cancel();
    st->session->guarded("reply", [&] { st->session->answer(); });
  });
}

void Reply::after(std::chrono::milliseconds delay, std::function<void()> fn) const {
  // Called from the handler, on the connection's thread.
  auto& timer = state_->deadline.emplace(state_->session->executor(), delay);
  timer.async_wait([st = state_, fn = std::move(fn)](beast::error_code ec) {
    if (!ec && !st->sent) st->session->guarded("deadline", fn);
  });
}

void HttpServer::Impl::accept() {
  net::io_context& ctx = *contexts[next_context++ % contexts.size()];
  acceptor.async_accept(ctx, [this](beast::error_code ec, tcp::socket socket) {
    if (stopping || !acceptor.is_open()) return;
    if (ec) {
      // EMFILE and friends: back off a little instead of spinning on accept().
      log::warn("accept failed", {{"error", ec.message()}});
      accept_retry.expires_after(std::chrono::milliseconds(50));
      accept_retry.async_wait([this](beast::error_code) { accept(); });
      return;
    }
    std::make_shared<Session>(*this, std::move(socket))->start();
    accept();
  });
}

HttpServer::HttpServer(const Router& router, HttpServerOptions opts, HttpHooks hooks)
    : impl_(std::make_shared<Impl>(router, std::move(opts), std::move(hooks))) {}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::bind() {
  Impl& s = *impl_;
  beast::error_code ec;
  std::string host = s.opts.host.empty() ? "0.0.0.0" : s.opts.host;
  auto addr = net::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(*s.contexts[0]);
    auto results = resolver.resolve(host, std::to_string(s.opts.port), ec);
    if (ec || results.empty()) return invalid_argument("cannot resolve listen host " + host);
    addr = results.begin()->endpoint().address();
  }
  tcp::endpoint ep(addr, static_cast<unsigned short>(s.opts.port));
  std::string where = host + ":" + std::to_string(s.opts.port);
  // SO_REUSEADDR only: SO_REUSEPORT would let two sidecars share a port silently.
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(s.opts.listen_backlog, ec);
  if (ec) return unavailable("cannot listen on " + where + ": " + ec.message());
  s.port = s.acceptor.local_endpoint().port();
  return ok_status();
}

int HttpServer::port() const {
  return impl_->port;
}

void HttpServer::serve() {
  Impl& s = *impl_;
  for (auto& ctx : s.contexts) s.guards.push_back(net::make_work_guard(*ctx));
  net::post(*s.contexts[0], [&s] {
    if (!s.stopping) s.accept();
  });
  std::vector<std::thread> threads;
  for (size_t i = 1; i < s.contexts.size(); ++i)
    threads.emplace_back([ctx = s.contexts[i].get()] { run_guarded(*ctx); });
  run_guarded(*s.contexts[0]);
  for (auto& t : threads) t.join();
}

void HttpServer::stop() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  net::post(*s.contexts[0], [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
    s.accept_retry.cancel();
  });
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    for (auto& w : s.sessions)
      if (auto session = w.lock()) live.push_back(std::move(session));
  }
  for (auto& session : live) session->stop();
  live.clear();  // outside the lock: the last reference runs ~Session, which takes it
  {
    // Requests in flight finish; a stuck writer is cut by its write timeout.
    std::unique_lock<std::mutex> lock(s.mu);
    s.drained.wait_for(lock, std::chrono::seconds(s.opts.write_timeout_seconds + 1),
                       [&] { return s.connections == 0; });
  }
  s.workers.shutdown();
  for (auto& g : s.guards) g.reset();
  s.stopped = true;
  for (auto& ctx : s.contexts) ctx->stop();
}

HttpServer::Stats HttpServer::stats() const {
  Stats st;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    st.connections = impl_->connections;
  }
  st.workers = impl_->workers.threads();
  st.queued = impl_->workers.queued();
  st.busy_refused = impl_->busy_refused.load();
  return st;
}

}  // namespace agentry::sidecar
