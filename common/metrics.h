// Prometheus metrics on prometheus-cpp's registry, exposed in the text format by the binary's own
// HTTP server (no second web server: prometheus-cpp's pull Exposer would start one).
#pragma once

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace agentry::metrics {

// The process-wide registry both binaries register their families in.
std::shared_ptr<prometheus::Registry> registry();

// Everything in the registry in the Prometheus text exposition format (version 0.0.4).
std::string serialize(const prometheus::Registry& reg);

// Latency buckets in seconds from 0.5 ms to 60 s.
const prometheus::Histogram::BucketBoundaries& latency_buckets();

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace agentry::metrics
