// Structured logging: one JSON object per line on stderr, with a level, a component and fields.
//
//   log::info("reconciled", {{"controller", "agent"}, {"key", key}, {"ms", 3.2}});
//
// The level comes from set_level() or AGENTRY_LOG_LEVEL (debug|info|warn|error). Writes are
// serialized by a mutex so lines never interleave; formatting happens outside it.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace agentry::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_level(Level level);
Level level();
bool parse_level(std::string_view name, Level* out);
// Tags every line of this process (e.g. "operator", "sidecar").
void set_component(std::string_view component);
// Plain "ts level msg k=v" text instead of JSON (for people at a terminal).
void set_text_format(bool text);

void write(Level level, std::string_view msg, const nlohmann::json& fields);

inline bool enabled(Level l) { return l >= level(); }
inline void debug(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  if (enabled(Level::kDebug)) write(Level::kDebug, m, f);
}
inline void info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  if (enabled(Level::kInfo)) write(Level::kInfo, m, f);
}
inline void warn(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  if (enabled(Level::kWarn)) write(Level::kWarn, m, f);
}
inline void error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  if (enabled(Level::kError)) write(Level::kError, m, f);
}

}  // namespace agentry::log
