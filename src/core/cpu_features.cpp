#include "core/cpu_features.h"

namespace aded {

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if defined(__x86_64__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
    f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#endif
    return f;
  }();
  return features;
}

std::string cpu_features_string() {
  const auto& f = cpu_features();
  std::string s;
  if (f.avx2) s += "AVX2 FMA F16C";
  if (f.avx512) s += s.empty() ? "AVX512" : " AVX512";
  return s.empty() ? "baseline" : s;
}

}  // namespace aded
