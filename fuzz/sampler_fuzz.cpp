// libFuzzer target: the sampler on arbitrary logits (any float bit pattern: NaN, infinities,
// subnormals) with arbitrary settings and recent tokens. The invariant: settings are refused with
// InputError, NaN logits with aded::Error; otherwise the distribution is non-empty, of distinct
// valid ids, each with a probability in (0, 1], summing to 1, sorted by probability; greedy gives
// one token with p = 1; every draw returns an id of the distribution.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "aded/error.h"
#include "aded/sampler.h"

namespace {

void check(bool ok, const char* invariant) {
  if (ok) return;
  std::fprintf(stderr, "sampler_fuzz: invariant violated: %s\n", invariant);
  std::abort();
}

// A float from any 32 bits, or one of the values settings are usually near.
float any_float(FuzzedDataProvider& in) {
  if (in.ConsumeBool()) return in.ConsumeFloatingPointInRange(-4.0f, 4.0f);
  const uint32_t bits = in.ConsumeIntegral<uint32_t>();
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

aded::SamplingParams any_params(FuzzedDataProvider& in) {
  aded::SamplingParams p;
  p.temperature = any_float(in);
  p.top_k = in.ConsumeIntegralInRange<int>(-2, 300);
  p.top_p = any_float(in);
  p.min_p = any_float(in);
  p.repeat_penalty = in.ConsumeBool() ? 1.0f : any_float(in);
  p.repeat_last_n = in.ConsumeIntegralInRange<int>(-2, 300);
  p.seed = in.ConsumeIntegral<uint64_t>();
  return p;
}

void check_distribution(const std::vector<aded::TokenProb>& d, size_t n_vocab, bool greedy) {
  check(!d.empty(), "a distribution has a token");
  if (greedy) check(d.size() == 1 && d[0].p == 1.0f, "greedy gives one token with p = 1");
  std::set<int32_t> ids;
  double sum = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    check(d[i].id >= 0 && static_cast<size_t>(d[i].id) < n_vocab, "ids are valid");
    check(ids.insert(d[i].id).second, "ids are distinct");
    check(std::isfinite(d[i].p) && d[i].p > 0 && d[i].p <= 1, "probabilities in (0, 1]");
    if (i > 0) check(d[i - 1].p >= d[i].p, "sorted by probability");
    sum += d[i].p;
  }
  check(std::fabs(sum - 1.0) < 1e-4, "probabilities sum to 1");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const aded::SamplingParams params = any_params(in);
  std::vector<int32_t> recent(in.ConsumeIntegralInRange<size_t>(0, 64));
  for (auto& t : recent) t = in.ConsumeIntegralInRange<int32_t>(-5, 400);
  std::vector<float> logits;
  while (in.remaining_bytes() >= 4 && logits.size() < 4096) logits.push_back(any_float(in));
  if (logits.empty()) return 0;

  std::unique_ptr<aded::Sampler> sampler;
  try {
    sampler = std::make_unique<aded::Sampler>(params);
  } catch (const aded::InputError&) {
    return 0;  // a setting out of range
  }
  bool has_nan = false;
  for (float v : logits) has_nan |= std::isnan(v);
  std::vector<aded::TokenProb> d;
  try {
    sampler->distribution(logits, recent, d);
  } catch (const aded::Error&) {
    check(has_nan, "only NaN logits are an error");
    return 0;
  }
  check(!has_nan, "NaN logits are an error");
  check_distribution(d, logits.size(), params.greedy());
  for (int64_t position : {0, 1, 12345}) {
    const int32_t id = sampler->sample(logits, recent, position);
    bool listed = false;
    for (const auto& c : d) listed |= c.id == id;
    check(listed, "a drawn token is one of the distribution");
  }
  for (double u : {0.0, 0.5, 0.999999999})
    check(aded::Sampler::draw(d, u) == d[0].id || d.size() > 1, "draw returns a listed id");
  return 0;
}
