// exp(x) as one fixed sequence of float operations, so the scalar kernels and the SIMD kernels
// (which evaluate the same sequence 8 or 16 lanes at a time) round identically; std::exp differs
// between libm versions and has no vector twin. Cody-Waite reduction x = n ln2 + r with ln2 split
// in two, a degree-7 polynomial for e^r on |r| <= ln2/2 (Cephes' expf coefficients), then the
// product with 2^n built from its exponent bits. Relative error about 2e-7 (a couple of ulp).
// Inputs below -87 give 0 (no denormals), above 88 give +inf; NaN stays NaN.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace aded::kernels {

namespace exp_constants {
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500e-4f;
constexpr float kP1 = 1.3981999507e-3f;
constexpr float kP2 = 8.3334519073e-3f;
constexpr float kP3 = 4.1665795894e-2f;
constexpr float kP4 = 1.6666665459e-1f;
constexpr float kP5 = 5.0000001201e-1f;
constexpr float kMin = -87.0f;
constexpr float kMax = 88.0f;
}  // namespace exp_constants

inline float canonical_exp(float x) {
  using namespace exp_constants;
  if (std::isnan(x)) return x;
  if (x < kMin) return 0.0f;
  if (x > kMax) return INFINITY;
  const float n = std::nearbyint(x * kLog2e);
  float r = std::fma(n, -kLn2Hi, x);
  r = std::fma(n, -kLn2Lo, r);
  const float z = r * r;
  float y = kP0;
  y = std::fma(y, r, kP1);
  y = std::fma(y, r, kP2);
  y = std::fma(y, r, kP3);
  y = std::fma(y, r, kP4);
  y = std::fma(y, r, kP5);
  y = std::fma(y, z, r);
  y = y + 1.0f;
  const float scale = std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
  return y * scale;
}

// tanh(x) = 1 - 2 / (exp(2|x|) + 1), with the sign of x, from canonical_exp: one fixed sequence of
// float operations that the SIMD tables repeat lane by lane (std::tanh differs between libm
// versions and has no vector twin). Absolute error about 1.2e-7 (the subtraction from 1 near 0);
// |x| above 44 gives +-1; NaN stays NaN.
inline float canonical_tanh(float x) {
  const float e = canonical_exp(2.0f * std::fabs(x));
  return std::copysign(1.0f - 2.0f / (e + 1.0f), x);
}

// GELU in its tanh form (Gemma's and StarCoder2's feed-forward blocks), in this order of
// operations in every table: 0.5 g (1 + tanh(sqrt(2 / pi) g (1 + 0.044715 g^2))).
namespace gelu_constants {
constexpr float kRoot2OverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;
}  // namespace gelu_constants
inline float canonical_gelu(float g) {
  using namespace gelu_constants;
  const float inner = (kRoot2OverPi * g) * (1.0f + (kCubic * g) * g);
  return (0.5f * g) * (1.0f + canonical_tanh(inner));
}

}  // namespace aded::kernels
