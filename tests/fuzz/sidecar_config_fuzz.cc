// libFuzzer target: the sidecar's config file parser and validator (sidecar/config.h), which
// the sidecar runs at start and the operator on every config it renders.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sidecar/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = agentry::sidecar::parse_config(text);
  if (cfg.ok()) (void)agentry::sidecar::validate(*cfg);
  return 0;
}
