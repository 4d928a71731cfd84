#include "tests/support/test_tools.h"

#include <cstdio>
#include <cstdlib>

#include "tests/support/control_plane.h"

namespace agentry::testing {

namespace {

// What a hack/ script prints on stdout: the dir it made (its messages go to stderr).
std::string script_dir(const std::string& script) {
  std::string out;
  FILE* p = ::popen(("'" + repo_dir() + "/hack/" + script + "' 2>/dev/null").c_str(), "r");
  if (!p) return "";
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

std::string test_tools_dir() {
  return script_dir("test-tools.sh");
}

std::string minilm_model_dir() {
  return script_dir("models.sh");
}

std::string llm_dir() {
  return script_dir("llm.sh");
}

std::string browser_tools_dir() {
  return script_dir("browser-tools.sh");
}

bool ensure_model_env() {
  const char* set = std::getenv("AGENTRY_MODEL_DIR");
  if (set && *set) return true;
  const std::string dir = minilm_model_dir();
  return !dir.empty() && ::setenv("AGENTRY_MODEL_DIR", dir.c_str(), 1) == 0;
}

// Runs cmd (through sh), returns its stdout (and its exit status in *rc).
std::string run_capture(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *rc = ::pclose(p);
  return out;
}

}  // namespace agentry::testing
