// The console's metric families, registered once in the process registry (common/metrics.h) and
// served on its /metrics: logins by result, live sessions, open streams by kind, chats by result.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

namespace agentry::console {

struct ConsoleMetrics {
  prometheus::Family<prometheus::Counter>& logins;  // {result: ok|refused|limited|unavailable}
  prometheus::Gauge& sessions;                      // live sessions (refreshed at each login)
  prometheus::Family<prometheus::Gauge>& streams;   // {kind: watch|chat} open now
  prometheus::Family<prometheus::Counter>& chats;   // {result: ok|failed|left}
};

ConsoleMetrics& console_metrics();

// Holds a stream gauge up while alive (an open watch or chat).
class OpenStream {
 public:
  explicit OpenStream(const char* kind);
  ~OpenStream();
  OpenStream(const OpenStream&) = delete;
  OpenStream& operator=(const OpenStream&) = delete;

 private:
  prometheus::Gauge& gauge_;
};

}  // namespace agentry::console
