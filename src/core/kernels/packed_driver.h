// The loop nest of a matrix product on packed weights (packing.h), shared by the SIMD tables.
// Included by each *_avx2.cpp / *_avx512.cpp file and compiled with that file's instruction set;
// everything here has internal linkage so the copies never merge (and no standard-library
// template is instantiated here: an inline std:: function compiled for AVX-512 could be the copy
// the linker keeps for the whole program).
//
// A kernel provides, for a set of GS packed groups (16 output rows each) and RX activation rows,
//   template <int GS, int RX> static void tile(const Job&, const uint8_t* const* groups, int row,
//                                              int64_t k0, int64_t k1, const TileAcc& acc);
// which continues the canonical accumulation of the GS x 16 outputs of each row over elements
// [k0, k1), from the running values in acc.in (from +0 on the first chunk) to acc.out. Its
// constants: kGroups (GS for wide tiles), kRows (RX), kGroupsNarrow (GS when there is a single
// activation row), kChunk (elements per pass, so that a chunk of weights stays in L1 while every
// tile of rows uses it).
#pragma once

#include <cstring>

#include "core/kernels/kernels.h"
#include "core/kernels/packing.h"
#include "core/quant/quant.h"

namespace aded::kernels {
namespace {

struct Job {
  const MatMulArgs* args;
  PackFormat format;
  int offset;  // of the stored unsigned values (Q8x16, Q4x16)
  // More rows than one tile holds: the chunk of weights is used by several tiles, and a kernel
  // may fetch the next chunk while the later tiles compute on this one (kernels that ignore it
  // wait for the stream at the start of every chunk).
  bool several_tiles;
};

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// The running values of a tile. Between chunks they live in a small buffer (row c's GS * 16
// values at in + c * GS * 16); the first chunk starts from +0 instead of reading it, and the last
// one writes the finished values straight into the output rows when the set's outputs are all
// wanted (out_stride apart) instead of the buffer: a zeroed buffer and a copy per group set were
// ~9% of a 16-token forward.
struct TileAcc {
  const float* in;
  float* out;
  size_t out_stride;  // floats between rows of out
  bool first;         // k0 == 0: in is not read
  TileAcc rows_from(int c, int gs) const {
    return {in + static_cast<size_t>(c) * static_cast<size_t>(gs) * kPackRows, out + static_cast<size_t>(c) * out_stride,
            out_stride, first};
  }
};

constexpr int kMaxGroups = 8;
constexpr int kRowChunk = 64;

// Tiles of RX rows over [r, r_end), then the remainder one smaller tile at a time. acc holds the
// running values of rows c0, c0 + 1, ...
template <class Kernel, int GS, int RX>
void tile_rows(const Job& job, const uint8_t* const* groups, int c0, int r, int r_end, int64_t k0, int64_t k1,
               const TileAcc& acc) {
  for (; r + RX <= r_end; r += RX) Kernel::template tile<GS, RX>(job, groups, r, k0, k1, acc.rows_from(r - c0, GS));
  if constexpr (RX > 1) tile_rows<Kernel, GS, RX - 1>(job, groups, c0, r, r_end, k0, k1, acc);
}

// All rows of [c0, c1) against GS groups; outputs to y for the rows in [j0, j1).
template <class Kernel, int GS>
void group_set(const Job& job, const uint8_t* const* groups, int64_t g0, int c0, int c1, int64_t j0, int64_t j1) {
  const MatMulArgs& a = *job.args;
  alignas(64) float acc[kRowChunk * GS * kPackRows];
  // Every output of the set wanted: the last chunk writes the rows of y.
  const bool direct = j0 <= g0 * kPackRows && (g0 + GS) * kPackRows <= j1;
  for (int64_t k0 = 0; k0 < a.K; k0 += Kernel::kChunk) {
    const int64_t k1 = min64(a.K, k0 + Kernel::kChunk);
    const bool last = k1 == a.K;
    const TileAcc t = direct && last ? TileAcc{acc, a.y + static_cast<size_t>(c0) * a.y_stride + static_cast<size_t>(g0) * kPackRows,
                                               a.y_stride, k0 == 0}
                                     : TileAcc{acc, acc, static_cast<size_t>(GS) * kPackRows, k0 == 0};
    if constexpr (GS <= Kernel::kGroups) {
      if (c1 - c0 > 1) {
        tile_rows<Kernel, GS, Kernel::kRows>(job, groups, c0, c0, c1, k0, k1, t);
        continue;
      }
    }
    tile_rows<Kernel, GS, 1>(job, groups, c0, c0, c1, k0, k1, t);
  }
  if (direct) return;
  for (int r = c0; r < c1; ++r) {
    const float* src = acc + static_cast<size_t>(r - c0) * GS * kPackRows;
    float* y = a.y + static_cast<size_t>(r) * a.y_stride;
    const int64_t lo = j0 > g0 * kPackRows ? j0 : g0 * kPackRows;
    const int64_t hi = min64(j1, (g0 + GS) * kPackRows);
    std::memcpy(y + lo, src + (lo - g0 * kPackRows), static_cast<size_t>(hi - lo) * sizeof(float));
  }
}

// Packs group g on the fly (weights that were not packed ahead, and types computed by the float
// rule after dequantization) into out; only rows below n_rows exist.
inline void pack_on_the_fly(const MatMulArgs& a, int64_t g, int64_t n_rows, uint8_t* out, float* rows_f32) {
  const int64_t r0 = g * kPackRows;
  const int count = static_cast<int>(min64(kPackRows, n_rows - r0));
  const uint8_t* src = a.w + static_cast<size_t>(r0) * a.w_stride;
  if (pack_format(a.type) != PackFormat::None) {
    pack_group(a.type, src, a.w_stride, count, a.K, out);
    return;
  }
  for (int r = 0; r < count; ++r)
    quant::dequantize_row(a.type, src + static_cast<size_t>(r) * a.w_stride, rows_f32 + static_cast<size_t>(r) * a.K, a.K);
  pack_group(TensorType::F32, reinterpret_cast<const uint8_t*>(rows_f32), static_cast<size_t>(a.K) * 4, count, a.K, out);
}

// y[:, j0:j1) for packed weights. The output rows j0..j1 may start and end inside a group (then
// the whole group is computed and only the wanted lanes are stored).
template <class Kernel>
void packed_matmul(const MatMulArgs& a, int64_t j0, int64_t j1) {
  Job job{&a, pack_format(a.type), pack_offset(a.type), a.n > Kernel::kRows};
  const bool ahead = a.packed != nullptr && job.format != PackFormat::None;
  if (job.format == PackFormat::None) job.format = PackFormat::F32x16;
  const size_t group_bytes = packed_group_bytes(job.format, a.K);
  uint8_t* scratch = nullptr;
  float* rows_f32 = nullptr;
  if (!ahead) {
    scratch = kernel_scratch(0, group_bytes * kMaxGroups);
    rows_f32 = reinterpret_cast<float*>(kernel_scratch(1, static_cast<size_t>(a.K) * kPackRows * 4));
  }
  const int64_t g_end = (j1 + kPackRows - 1) / kPackRows;
  const int gs_max = a.n == 1 ? Kernel::kGroupsNarrow : Kernel::kGroups;
  for (int64_t g0 = j0 / kPackRows; g0 < g_end; g0 += gs_max) {
    const int gs = static_cast<int>(min64(gs_max, g_end - g0));
    const uint8_t* groups[kMaxGroups];
    for (int i = 0; i < gs; ++i) {
      if (ahead) {
        groups[i] = a.packed + static_cast<size_t>(g0 + i) * group_bytes;
      } else {
        groups[i] = scratch + static_cast<size_t>(i) * group_bytes;
        pack_on_the_fly(a, g0 + i, j1, scratch + static_cast<size_t>(i) * group_bytes, rows_f32);
      }
    }
    for (int c0 = 0; c0 < a.n; c0 += kRowChunk) {
      const int c1 = a.n < c0 + kRowChunk ? a.n : c0 + kRowChunk;
      switch (gs) {
        case 1: group_set<Kernel, 1>(job, groups, g0, c0, c1, j0, j1); break;
        case 2: group_set<Kernel, 2>(job, groups, g0, c0, c1, j0, j1); break;
        case 3: group_set<Kernel, 3>(job, groups, g0, c0, c1, j0, j1); break;
        case 4: group_set<Kernel, 4>(job, groups, g0, c0, c1, j0, j1); break;
        case 5: if constexpr (Kernel::kGroups >= 5) group_set<Kernel, 5>(job, groups, g0, c0, c1, j0, j1); break;
        case 6: if constexpr (Kernel::kGroups >= 6) group_set<Kernel, 6>(job, groups, g0, c0, c1, j0, j1); break;
        case 7: if constexpr (Kernel::kGroups >= 7) group_set<Kernel, 7>(job, groups, g0, c0, c1, j0, j1); break;
        default: if constexpr (Kernel::kGroups >= 8) group_set<Kernel, 8>(job, groups, g0, c0, c1, j0, j1); break;
      }
    }
  }
}

}  // namespace
}  // namespace aded::kernels
