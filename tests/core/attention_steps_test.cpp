// The attention steps a team divides among its threads (kernels.h: attend_scores, attend_finish)
// give, divided anyhow, bitwise what attend_many gives in one call, in every table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "aded/half.h"
#include "aded/tensor_type.h"
#include "core/kernels/kernels.h"
#include "core/quant/quant.h"

namespace aded::kernels {
namespace {

// A cache of `cells` rows of `stride` elements in one type, from the same random floats.
struct Cache {
  std::vector<float> f32;
  std::vector<uint16_t> f16;
  std::vector<uint8_t> q8;
  const void* data(TensorType t) const {
    if (t == TensorType::F16) return f16.data();
    if (t == TensorType::Q8_0) return q8.data();
    return f32.data();
  }
};

Cache make_cache(size_t stride, int cells, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Cache c;
  c.f32.resize(stride * static_cast<size_t>(cells));
  for (auto& x : c.f32) x = dist(rng);
  for (float x : c.f32) c.f16.push_back(float_to_half(x));
  if (stride % 32 == 0) {
    c.q8.resize(c.f32.size() / 32 * 34);
    quant::quantize_row(TensorType::Q8_0, c.f32.data(), c.q8.data(), static_cast<int64_t>(c.f32.size()));
  }
  return c;
}

// The steps over `count` queries as `parts` members would run them: keys, then queries, each cut
// at random points.
void run_steps(const KernelTable& kt, std::vector<AttentionArgs>& args, int parts, std::mt19937& rng) {
  const int count = static_cast<int>(args.size());
  size_t lo = static_cast<size_t>(args[0].prefix);
  for (const auto& a : args) lo = std::min(lo, static_cast<size_t>(a.first));
  const auto cuts = [&](size_t begin, size_t end, size_t grain) {
    std::vector<size_t> at{begin, end};
    for (int p = 1; p < parts; ++p) at.push_back(std::uniform_int_distribution<size_t>(begin, end)(rng) / grain * grain);
    for (auto& x : at) x = std::clamp(x, begin, end);
    std::sort(at.begin(), at.end());
    return at;
  };
  const auto keys = cuts(lo, static_cast<size_t>(args[0].prefix), 1);
  for (size_t p = 0; p + 1 < keys.size(); ++p)
    if (keys[p] < keys[p + 1]) kt.attend_scores(args.data(), count, keys[p], keys[p + 1]);
  const auto queries = cuts(0, args.size(), 1);
  for (size_t p = 0; p + 1 < queries.size(); ++p)
    if (queries[p] < queries[p + 1])
      kt.attend_finish(args.data() + queries[p], static_cast<int>(queries[p + 1] - queries[p]), lo);
}

TEST(AttentionSteps, DividedAnyhowTheyGiveWhatOneCallGives) {
  std::mt19937 rng(41);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (const KernelTable* kt : available_kernels()) {
    for (int head_dim : {12, 64, 80}) {
      const size_t stride = head_dim % 32 == 0 ? static_cast<size_t>(head_dim) : static_cast<size_t>(head_dim) + 3;
      for (int prefix : {0, 7, 333}) {
        const int cells = prefix + 20;
        const Cache k = make_cache(stride, cells, rng), v = make_cache(stride, cells, rng);
        std::vector<std::pair<TensorType, TensorType>> types{{TensorType::F32, TensorType::F32},
                                                             {TensorType::F16, TensorType::F16}};
        if (stride % 32 == 0) types.insert(types.end(), {{TensorType::Q8_0, TensorType::Q8_0}, {TensorType::Q8_0, TensorType::F16}});
        for (const int count : {1, 11, kMaxAttentionQueries}) {
          std::vector<float> q(static_cast<size_t>(count * head_dim));
          for (auto& x : q) x = dist(rng) * 3.0f;
          std::vector<std::vector<int32_t>> own(static_cast<size_t>(count));
          for (int i = 0; i < count; ++i)
            for (int j = 0; j < i % 4; ++j) own[static_cast<size_t>(i)].push_back(prefix + (i + 3 * j) % 20);
          const auto row = static_cast<size_t>(cells + 8);
          std::vector<float> scores(static_cast<size_t>(count) * row), want(q.size()), got(q.size());
          for (const auto& [k_type, v_type] : types)
          for (const bool window : {false, true})
          for (const float cap : {0.0f, 2.5f}) {
            std::vector<AttentionArgs> args;
            for (int i = 0; i < count; ++i)
              args.push_back({q.data() + i * head_dim, head_dim, k.data(k_type), v.data(v_type), stride, prefix,
                              own[static_cast<size_t>(i)].data(), own[static_cast<size_t>(i)].size(),
                              scores.data() + static_cast<size_t>(i) * row, want.data() + i * head_dim, k_type, v_type, 0,
                              cap, window ? (i * 37 + 11) % (prefix + 1) : 0});
            kt->attend_many(args.data(), count);
            for (int parts : {2, 3}) {
              std::fill(got.begin(), got.end(), NAN);
              std::fill(scores.begin(), scores.end(), NAN);
              for (int i = 0; i < count; ++i) args[static_cast<size_t>(i)].out = got.data() + i * head_dim;
              run_steps(*kt, args, parts, rng);
              ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4))
                  << kt->name << " head_dim " << head_dim << " prefix " << prefix << " count " << count << " types "
                  << tensor_type_name(k_type) << "/" << tensor_type_name(v_type) << " window " << window << " cap "
                  << cap << " parts " << parts;
              for (int i = 0; i < count; ++i) args[static_cast<size_t>(i)].out = want.data() + i * head_dim;
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace aded::kernels
