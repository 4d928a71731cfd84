#include "common/json_io.h"

#include <charconv>
#include <cmath>

namespace agentry::json_io {

Status check_depth(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return invalid_argument("JSON nests deeper than " + std::to_string(max_depth) + " levels");
    } else if (c == ']' || c == '}') {
      --depth;  // unbalanced text is the parser's to refuse
    }
  }
  return ok_status();
}

Result<nlohmann::json> parse(std::string_view text, int max_depth) {
  if (Status s = check_depth(text, max_depth); !s.is_ok()) return s;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument("not valid JSON (or not valid UTF-8)");
  return j;
}

std::string dump(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

namespace {

std::string quoted(std::string_view text) {
  std::string s(text.substr(0, 64));
  if (!valid_utf8(s)) s = "(not UTF-8)";
  return "'" + s + (text.size() > 64 ? "...'" : "'");
}

}  // namespace

Result<int64_t> parse_int(std::string_view text, std::string_view name, int64_t min, int64_t max) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < min || v > max)
    return invalid_argument(std::string(name) + ": want an integer " + std::to_string(min) + ".." +
                            std::to_string(max) + ", got " + quoted(text));
  return v;
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text, std::string_view name,
                                                 std::chrono::milliseconds max) {
  auto bad = [&] {
    return invalid_argument(std::string(name) +
                            ": want a duration like 500ms, 30s, 2m or 1h, at most " +
                            std::to_string(max.count()) + " ms, got " + quoted(text));
  };
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  if (i == 0 || i > 32) return bad();
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, v);
  if (ec != std::errc() || ptr != text.data() + i || !std::isfinite(v)) return bad();
  std::string_view unit = text.substr(i);
  double scale;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m")
    scale = 60000;
  else if (unit == "h")
    scale = 3600000;
  else
    return bad();
  double ms = v * scale;
  if (!(ms >= 0) || ms > static_cast<double>(max.count())) return bad();
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

}  // namespace agentry::json_io
