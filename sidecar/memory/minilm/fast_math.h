// exp and erf over float arrays, in plain loops the compiler vectorizes (bert.cc is compiled with
// -O3 -fno-trapping-math for it: sidecar/memory/CMakeLists.txt), for the encoder's softmax and
// GELU. Pure functions.
//
// Why our own: libm's expf and erff are scalar calls, and the encoder makes about 1.2 million of
// each per 128-token text (softmax over 12 heads x 128 x 128 scores, GELU over 1536 x 128
// activations, 6 layers): as much time as all its matrix products (memory_bench --minilm). glibc's
// vector variants need -ffast-math; Eigen or Sleef would be a dependency for two functions.
//
//   exp_inplace(row, n);   // row[i] = e^row[i]; relative error < 2e-7, 0 below -87.3, +inf
//   above 88.7 gelu_inplace(a, n);    // a[i] = 0.5 a (1 + erf(a / sqrt 2)); absolute error of erf
//   < 1e-6
//
// exp: x = k ln2 + r with |r| <= ln2/2 (ln2 split in two for exactness), e^r by its degree-6
// Taylor polynomial, 2^k by building the float's exponent. erf: Abramowitz and Stegun 7.1.26,
// erf(x) = 1 - (a1 t + ... + a5 t^5) e^(-x^2) with t = 1 / (1 + p x), odd in x.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace agentry::memory::minilm {

inline float exp_approx(float x) {
  x = x > 88.7f ? 88.7f : x;
  x = x < -87.3f ? -87.3f : x;
  // k = round(x / ln2) by the 1.5 * 2^23 trick: no branch, no call, so the loops vectorize.
  const float k = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (x - k * 0.693145752f) - k * 1.42860677e-6f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline void exp_inplace(float* x, int n) {
  for (int i = 0; i < n; ++i) x[i] = exp_approx(x[i]);
}

inline float erf_approx(float x) {
  const float ax = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * ax);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  return std::copysign(1.0f - p * t * exp_approx(-ax * ax), x);
}

inline void gelu_inplace(float* a, int n) {
  for (int i = 0; i < n; ++i) a[i] = 0.5f * a[i] * (1.0f + erf_approx(a[i] * 0.70710678f));
}

}  // namespace agentry::memory::minilm
