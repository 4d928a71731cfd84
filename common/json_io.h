// JSON and scalars at a process's edges: text from a client, a provider, a config file or the API
// server is untrusted until these functions have read it.
//
//   auto body = json_io::parse(req.body);                  // depth-limited, never throws
//   if (!body.ok()) return send_status(res, body.status());  // 400, the reason in the message
//   res.set_content(json_io::dump(*body), "application/json");  // never throws
//
// Decisions (docs/sidecar.md, "Hostile input"):
// - Nesting is limited (kMaxDepth by default) and checked by a linear scan before parsing, so a
//   body of 50,000 '[' is refused in microseconds and never reaches a recursive copy or dump.
// - Output replaces invalid UTF-8 with U+FFFD instead of throwing: a message that quotes a
//   client's bytes (an unknown path, a provider's error body) is always serializable. Input that
//   names something (a path segment, a cache key, an id) is refused instead when it is not
//   valid UTF-8 (valid_utf8), so nothing is stored under a name that cannot be echoed back.
// - Integers are parsed strictly: the whole text, in range, else an error naming the parameter.
//
// All functions are pure and thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace agentry::json_io {

// Deeper than any document this project reads or writes (the deepest, a tool's JSON schema, is
// well under 20 levels).
inline constexpr int kMaxDepth = 64;

// Parses text as one JSON value. kInvalidArgument when it is not JSON, nests deeper than
// max_depth arrays/objects, or holds invalid UTF-8 in a string.
Result<nlohmann::json> parse(std::string_view text, int max_depth = kMaxDepth);

// Nesting depth check alone (what parse() runs first): ok when no point of text is inside more
// than max_depth arrays or objects. Strings are skipped, escapes honoured.
Status check_depth(std::string_view text, int max_depth = kMaxDepth);

// Serializes j; invalid UTF-8 inside strings becomes U+FFFD. indent < 0: compact.
std::string dump(const nlohmann::json& j, int indent = -1);

// True when s is well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool valid_utf8(std::string_view s);

// The whole of text as a base-10 integer in [min, max]; else kInvalidArgument whose message
// starts with name ("limit: want an integer 1..1000, got '5abc'").
Result<int64_t> parse_int(std::string_view text, std::string_view name, int64_t min, int64_t max);

// A duration: "500ms", "30s", "2m", "1h" or a plain number of seconds (fractions allowed), in
// [0, max]; anything else, or a value past max, is kInvalidArgument naming the parameter. Never
// wraps: the value is range-checked before it is converted.
Result<std::chrono::milliseconds> parse_duration(std::string_view text, std::string_view name,
                                                 std::chrono::milliseconds max);

}  // namespace agentry::json_io
