#include "common/random_id.h"

#include <random>

namespace agentry {

uint64_t random64() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

std::string random_hex(int digits) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  s.reserve(static_cast<size_t>(digits));
  uint64_t v = 0;
  for (int i = 0; i < digits; ++i) {
    if (i % 16 == 0) v = random64();
    s += hex[v & 15];
    v >>= 4;
  }
  return s;
}

}  // namespace agentry
