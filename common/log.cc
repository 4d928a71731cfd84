#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>

#include "common/time_format.h"

namespace agentry::log {
namespace {

Level initial_level() {
  Level l = Level::kInfo;
  if (const char* env = std::getenv("AGENTRY_LOG_LEVEL")) parse_level(env, &l);
  return l;
}

std::atomic<Level> g_level{initial_level()};
std::atomic<bool> g_text{false};
std::mutex g_mu;
std::string g_component;  // guarded by g_mu

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::string timestamp() {
  return now_rfc3339(TimePrecision::kMillis);
}

}  // namespace

void set_level(Level l) {
  g_level = l;
}
Level level() {
  return g_level.load(std::memory_order_relaxed);
}
void set_text_format(bool text) {
  g_text = text;
}

void set_component(std::string_view component) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_component = component;
}

bool parse_level(std::string_view name, Level* out) {
  if (name == "debug")
    *out = Level::kDebug;
  else if (name == "info")
    *out = Level::kInfo;
  else if (name == "warn" || name == "warning")
    *out = Level::kWarn;
  else if (name == "error")
    *out = Level::kError;
  else
    return false;
  return true;
}

void write(Level l, std::string_view msg, const nlohmann::json& fields) {
  std::string line;
  std::string component;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    component = g_component;
  }
  if (g_text) {
    line = timestamp() + " " + level_name(l) + " " + std::string(msg);
    if (fields.is_object()) {
      for (auto it = fields.begin(); it != fields.end(); ++it) {
        line += " " + it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump());
      }
    }
  } else {
    nlohmann::json j = {{"ts", timestamp()}, {"level", level_name(l)}, {"msg", msg}};
    if (!component.empty()) j["component"] = component;
    if (fields.is_object()) {
      for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
    }
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  line += '\n';
  std::lock_guard<std::mutex> lock(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace agentry::log
