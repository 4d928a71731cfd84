#include "sidecar/memory/int8_codes.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define AGENTRY_INT8_AVX2 1
#endif

namespace agentry::memory {
namespace {

constexpr size_t kPad = 32;  // one AVX2 register of int8

size_t padded(int dim) {
  return (static_cast<size_t>(dim) + kPad - 1) / kPad * kPad;
}

struct Code {
  float scale;
  const int8_t* q;
};

Code code(const void* p) {
  Code c;
  std::memcpy(&c.scale, p, sizeof c.scale);
  c.q = reinterpret_cast<const int8_t*>(static_cast<const unsigned char*>(p) + sizeof c.scale);
  return c;
}

float distance_portable(const void* a, const void* b, const void* dim) {
  Code ca = code(a), cb = code(b);
  const size_t n = padded(*static_cast<const int*>(dim));
  int32_t s = 0;
  for (size_t i = 0; i < n; ++i) s += int32_t{ca.q[i]} * int32_t{cb.q[i]};
  return 1.0f - ca.scale * cb.scale * static_cast<float>(s);
}

#ifdef AGENTRY_INT8_AVX2
// |a| times b with a's sign, so maddubs (unsigned x signed) gives a*b. Codes never hold -128, so
// |a| fits, and a pair of products (at most 2 x 127 x 127) fits maddubs' int16.
__attribute__((target("avx2"))) float distance_avx2(const void* a, const void* b, const void* dim) {
  Code ca = code(a), cb = code(b);
  const size_t n = padded(*static_cast<const int*>(dim));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  for (size_t i = 0; i < n; i += kPad) {
    __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ca.q + i));
    __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cb.q + i));
    __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(va, va), _mm256_sign_epi8(vb, va));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p16, ones));
  }
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  s = _mm_hadd_epi32(s, s);
  s = _mm_hadd_epi32(s, s);
  return 1.0f - ca.scale * cb.scale * static_cast<float>(_mm_cvtsi128_si32(s));
}
#endif

}  // namespace

size_t int8_code_bytes(int dim) {
  return sizeof(float) + padded(dim);
}

void int8_encode(const float* v, int dim, void* out) {
  float max_abs = 0;
  for (int i = 0; i < dim; ++i) max_abs = std::max(max_abs, std::fabs(v[i]));
  const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
  auto* p = static_cast<unsigned char*>(out);
  std::memcpy(p, &scale, sizeof scale);
  auto* q = reinterpret_cast<int8_t*>(p + sizeof scale);
  for (int i = 0; i < dim; ++i)
    q[i] = static_cast<int8_t>(std::clamp(std::lround(v[i] / scale), -127L, 127L));
  std::memset(q + dim, 0, padded(dim) - static_cast<size_t>(dim));
}

float int8_dot(const void* a, const void* b, int dim) {
  return 1.0f - int8_distance()(a, b, &dim);
}

Int8Distance int8_distance() {
#ifdef AGENTRY_INT8_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return distance_avx2;
#endif
  return distance_portable;
}

}  // namespace agentry::memory
