#include "common/metrics.h"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace agentry::metrics {

std::shared_ptr<prometheus::Registry> registry() {
  static auto reg = std::make_shared<prometheus::Registry>();
  return reg;
}

std::string serialize(const prometheus::Registry& reg) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, reg.Collect());
  return out.str();
}

const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries b = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return b;
}

}  // namespace agentry::metrics
