# Warnings are errors-in-waiting: keep the build clean.
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
                    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual)
# Bit-exactness (docs/VERIFY.md): never let the compiler fuse a*b+c on its own; kernels use
# explicit fma where they want it, so every code path rounds the same way.
add_compile_options(-ffp-contract=off)

if(ADED_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# Per-ISA kernel files are compiled with these flags and chosen at run time (src/core/cpu_features).
set(ADED_AVX2_FLAGS -mavx2 -mfma -mf16c)
set(ADED_AVX512_FLAGS -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 warns inside its own avx512fintrin.h (GCC bug 105593).
  list(APPEND ADED_AVX512_FLAGS -Wno-maybe-uninitialized)
endif()

# libFuzzer builds (fuzz/): instrument the whole build, library included, so the fuzzer sees
# coverage inside the parsers; only the fuzz targets themselves link the libFuzzer main.
if(ADED_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ADED_BUILD_FUZZ needs clang++ (use the 'fuzz' preset)")
  endif()
  # No recovery: a UBSan report must stop the fuzzer like a crash, whatever UBSAN_OPTIONS says.
  add_compile_options(-fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
