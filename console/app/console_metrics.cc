#include "console/app/console_metrics.h"

#include "common/metrics.h"

namespace agentry::console {

ConsoleMetrics& console_metrics() {
  auto& reg = *metrics::registry();
  // The registry is process-wide; the families are made once and live as long as it does.
  static ConsoleMetrics m{
      prometheus::BuildCounter()
          .Name("console_logins_total")
          .Help("Console logins by result (ok, refused, limited, unavailable).")
          .Register(reg),
      prometheus::BuildGauge()
          .Name("console_sessions")
          .Help("Live console sessions.")
          .Register(reg)
          .Add({}),
      prometheus::BuildGauge()
          .Name("console_streams_open")
          .Help("Open event streams by kind (watch, chat).")
          .Register(reg),
      prometheus::BuildCounter()
          .Name("console_chats_total")
          .Help("Chats proxied to agents' sidecars by result (ok, failed, left).")
          .Register(reg),
  };
  return m;
}

OpenStream::OpenStream(const char* kind) : gauge_(console_metrics().streams.Add({{"kind", kind}})) {
  gauge_.Increment();
}

OpenStream::~OpenStream() {
  gauge_.Decrement();
}

}  // namespace agentry::console
