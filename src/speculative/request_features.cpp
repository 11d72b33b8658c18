#include "aded/request_features.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "aded/trigram_table.h"

namespace aded {

namespace {

uint64_t key3(int32_t a, int32_t b, int32_t c) {
  const auto u = [](int32_t t) { return static_cast<uint64_t>(static_cast<uint32_t>(t)) & 0x1fffff; };
  return (u(a) << 42) | (u(b) << 21) | u(c);
}

double prompt_repetition(std::span<const int32_t> p) {
  if (p.size() < 4) return 0;
  std::unordered_map<uint64_t, int32_t> last_next;  // 3 tokens -> the token that last followed them
  last_next.reserve(p.size());
  size_t hits = 0;
  for (size_t i = 3; i < p.size(); ++i) {
    const uint64_t k = key3(p[i - 3], p[i - 2], p[i - 1]);
    auto [it, inserted] = last_next.try_emplace(k, p[i]);
    if (!inserted) {
      hits += it->second == p[i];
      it->second = p[i];
    }
  }
  return static_cast<double>(hits) / static_cast<double>(p.size() - 3);
}

double table_hit(std::span<const int32_t> p, const TrigramTable& table) {
  if (p.size() < 3) return 0;
  size_t hits = 0;
  for (size_t i = 2; i < p.size(); ++i) {
    const auto s = table.find(p[i - 2], p[i - 1]);
    hits += s.size > 0 && static_cast<int32_t>(s.tokens[0]) == p[i];
  }
  return static_cast<double>(hits) / static_cast<double>(p.size() - 2);
}

}  // namespace

RequestFeatures request_features(std::span<const int32_t> prompt, double temperature, const TrigramTable* table) {
  RequestFeatures f;
  const double t = std::isfinite(temperature) ? std::clamp(temperature, 0.0, 2.0) : 0.0;
  const double greedy = t > 0 ? 0.0 : 1.0;
  f.values[0] = 1;
  f.values[1] = t;
  f.values[2] = greedy;
  f.values[3] = std::log2(1.0 + static_cast<double>(prompt.size())) / 12.0;
  f.values[4] = prompt_repetition(prompt);
  f.values[5] = table ? table_hit(prompt, *table) : 0.0;
  for (size_t k = 0; k < 3; ++k) f.values[6 + k] = greedy * f.values[3 + k];
  return f;
}

}  // namespace aded
