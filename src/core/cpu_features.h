// What the CPU we run on can do, read once.
#pragma once

#include <string>

namespace aded {

struct CpuFeatures {
  bool avx2 = false;  // AVX2 + FMA + F16C, the set the *_avx2.cpp kernels are compiled for
  bool avx512 = false;  // AVX-512 F, BW, VL and VNNI: the set of the *_avx512.cpp kernels
};

const CpuFeatures& cpu_features();
std::string cpu_features_string();

}  // namespace aded
