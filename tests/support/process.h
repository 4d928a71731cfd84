// Child processes for tests: start a binary with arguments and environment, send its output to a
// log file, signal it, wait for it. The destructor kills what is still running, so a failed
// assertion never leaves a server behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace agentry::testing {

class Process {
 public:
  struct Options {
    std::vector<std::string> argv;           // argv[0] is the program (PATH is searched)
    std::map<std::string, std::string> env;  // added to (or overriding) the current environment
    std::string log_path;                    // stdout+stderr; /dev/null when empty
    std::string cwd;
  };

  Process() = default;
  explicit Process(Options opts);
  ~Process();
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Starts the process; false (with errno-based message in *error) if fork/exec failed. The child
  // gets SIGKILL when the *thread* that called start() exits (PR_SET_PDEATHSIG follows the
  // thread, not the process): start long-lived children from a thread that outlives them.
  bool start(std::string* error = nullptr);
  pid_t pid() const { return pid_; }
  bool running();
  // Sends sig; then waits up to timeout for exit and returns the wait status (-1 if still alive).
  int stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits up to timeout; returns the exit code (or 128+signal), -1 if it did not exit in time.
  int wait(std::chrono::milliseconds timeout);
  const Options& options() const { return opts_; }
  // The last n lines of the log (for assertion messages).
  std::string log_tail(size_t n = 30) const;

 private:
  Options opts_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// Runs a command to completion; returns the exit code and fills *output with stdout+stderr.
int run_command(const std::vector<std::string>& argv, std::string* output,
                std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace agentry::testing
