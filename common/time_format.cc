#include "common/time_format.h"

#include <cstdio>
#include <ctime>

namespace agentry {

std::string format_rfc3339(std::chrono::system_clock::time_point t, TimePrecision precision) {
  const int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  // Floor division, so a time before 1970 still gets a fraction in [0, 1 s).
  int64_t secs = us / 1000000;
  int64_t frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (n < 0) return "";
  switch (precision) {
    case TimePrecision::kSeconds:
      break;
    case TimePrecision::kMillis:
      std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ".%03d",
                    static_cast<int>(frac / 1000));
      break;
    case TimePrecision::kMicros:
      std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ".%06d", static_cast<int>(frac));
      break;
  }
  return std::string(buf) + "Z";
}

std::string format_rfc3339_ms(int64_t unix_ms, TimePrecision precision) {
  return format_rfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms)),
                        precision);
}

std::string now_rfc3339(TimePrecision precision) {
  return format_rfc3339(std::chrono::system_clock::now(), precision);
}

}  // namespace agentry
