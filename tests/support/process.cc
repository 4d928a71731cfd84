#include "tests/support/process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <thread>

#include "tests/support/tempdir.h"

extern char** environ;

namespace agentry::testing {

Process::Process(Options opts) : opts_(std::move(opts)) {}

Process::~Process() {
  if (pid_ > 0 && running()) stop(SIGKILL, std::chrono::seconds(5));
}

Process::Process(Process&& o) noexcept : opts_(std::move(o.opts_)), pid_(o.pid_), status_(o.status_) {
  o.pid_ = -1;
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && running()) stop(SIGKILL, std::chrono::seconds(5));
    opts_ = std::move(o.opts_);
    pid_ = o.pid_;
    status_ = o.status_;
    o.pid_ = -1;
  }
  return *this;
}

bool Process::start(std::string* error) {
  if (opts_.argv.empty()) {
    if (error) *error = "empty argv";
    return false;
  }
  // Build argv/envp before fork: only async-signal-safe calls are allowed in the child.
  std::vector<char*> argv;
  for (auto& a : opts_.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : opts_.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);
  std::string log = opts_.log_path.empty() ? "/dev/null" : opts_.log_path;

  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    if (error) *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    if (error) *error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    setpgid(0, 0);  // own process group, so a signal to the test runner does not reach it
    // ...but it must not outlive a test runner that is killed (a ctest timeout, a crash): the
    // kernel kills it when the forking thread exits, and tests start processes from the thread
    // that owns them.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(125);  // the parent died before prctl took effect
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    if (!opts_.cwd.empty() && chdir(opts_.cwd.c_str()) != 0) _exit(126);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvpe(argv[0], argv.data(), envp.data());
    int e = errno;
    (void)!write(err_pipe[1], &e, sizeof e);
    _exit(127);
  }
  close(err_pipe[1]);
  int child_errno = 0;
  ssize_t n = read(err_pipe[0], &child_errno, sizeof child_errno);
  close(err_pipe[0]);
  if (n == sizeof child_errno) {
    waitpid(pid, nullptr, 0);
    if (error) *error = "exec " + opts_.argv[0] + ": " + std::strerror(child_errno);
    return false;
  }
  pid_ = pid;
  status_ = -1;
  return true;
}

bool Process::running() {
  if (pid_ <= 0) return false;
  if (status_ != -1) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return r == 0;
}

int Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (status_ == -1) return -1;
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

int Process::stop(int sig, std::chrono::milliseconds timeout) {
  if (!running()) return wait(std::chrono::milliseconds(0));
  kill(pid_, sig);
  int rc = wait(timeout);
  if (rc == -1 && sig != SIGKILL) {
    kill(pid_, SIGKILL);
    rc = wait(std::chrono::seconds(5));
  }
  return rc;
}

std::string Process::log_tail(size_t n) const {
  std::ifstream in(opts_.log_path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > n) lines.pop_front();
  }
  std::string out;
  for (auto& l : lines) out += l + "\n";
  return out;
}

int run_command(const std::vector<std::string>& argv, std::string* output,
                std::chrono::seconds timeout) {
  TempDir dir("cmd");
  Process p({argv, {}, dir.path() + "/out", ""});
  std::string err;
  if (!p.start(&err)) {
    if (output) *output = err;
    return 127;
  }
  int rc = p.wait(timeout);
  if (rc == -1) {
    p.stop(SIGKILL);
    rc = 124;
  }
  if (output) {
    std::ifstream in(dir.path() + "/out");
    *output = std::string(std::istreambuf_iterator<char>(in), {});
  }
  return rc;
}

}  // namespace agentry::testing
