// RFC 3339 timestamps in UTC ("2026-12-03T16:30:18Z", ".123Z", ".123456Z"), as Kubernetes objects,
// the sidecar's API and the logs write them. Pure and thread-safe (gmtime_r).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace agentry {

enum class TimePrecision { kSeconds, kMillis, kMicros };

std::string format_rfc3339(std::chrono::system_clock::time_point t,
                           TimePrecision precision = TimePrecision::kSeconds);
// Unix milliseconds.
std::string format_rfc3339_ms(int64_t unix_ms, TimePrecision precision = TimePrecision::kSeconds);
std::string now_rfc3339(TimePrecision precision = TimePrecision::kSeconds);

}  // namespace agentry
