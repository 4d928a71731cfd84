// A loopback TCP relay the tests can cut: set_blocked(true) closes every relayed connection and
// refuses new ones, so a client's watch breaks while the API server keeps serving others.
// close_on_next_request() makes every open connection close as soon as the client next sends on
// it, its bytes dropped: a server closing an idle keep-alive connection just as a request
// arrives. (A byte pump, not a fake API server: TLS goes end to end.)
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace agentry::optest {

class TcpProxy {
 public:
  explicit TcpProxy(int target_port) : target_(target_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(listen_fd_, 64);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TcpProxy() {
    stop_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    acceptor_.join();
    cut_all();
    for (auto& t : pumps_) t.join();
  }
  int port() const { return port_; }
  void set_blocked(bool blocked) {
    blocked_ = blocked;
    if (blocked) cut_all();
  }
  void close_on_next_request() {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : clients_) doomed_.insert(fd);
  }

 private:
  void cut_all() {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
  }
  void accept_loop() {
    while (!stop_) {
      int c = accept(listen_fd_, nullptr, nullptr);
      if (c < 0) {
        if (stop_) return;
        continue;
      }
      if (blocked_) {
        close(c);
        continue;
      }
      int u = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(target_));
      if (connect(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(c);
        close(u);
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        fds_.insert(c);
        fds_.insert(u);
        clients_.insert(c);
      }
      pumps_.emplace_back([this, c, u] { pump(c, u); });
    }
  }
  void pump(int a, int b) {
    char buf[65536];
    pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    while (!stop_) {
      if (poll(p, 2, 200) < 0) break;
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = read(p[i].fd, buf, sizeof buf);
        if (n <= 0) {
          done = true;
          break;
        }
        if (i == 0) {
          std::lock_guard<std::mutex> lock(mu_);
          if (doomed_.erase(a)) {
            done = true;  // the request is dropped: nothing reaches the server
            break;
          }
        }
        for (ssize_t off = 0; off < n && !done;) {
          ssize_t w = write(p[1 - i].fd, buf + off, n - off);
          if (w <= 0) done = true;
          off += w;
        }
      }
      if (done) break;
    }
    std::lock_guard<std::mutex> lock(mu_);
    fds_.erase(a);
    fds_.erase(b);
    clients_.erase(a);
    doomed_.erase(a);
    close(a);
    close(b);
  }

  int target_;
  int port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> blocked_{false};
  std::thread acceptor_;
  std::vector<std::thread> pumps_;
  std::mutex mu_;
  std::set<int> fds_;
  std::set<int> clients_;  // the client side of each relayed connection
  std::set<int> doomed_;   // clients whose next bytes close their connection
};

}  // namespace agentry::optest
