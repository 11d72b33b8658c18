// The target's exact sampling distributions after a prompt and after each of its first one or
// two possible tokens: what the end-to-end sampling tests compare emitted tokens with.
#pragma once

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "aded/context.h"
#include "aded/sampler.h"

namespace aded::spec_testing {

// Exact target distributions: after the prompt (x1), after prompt + x1 (x2), after prompt + x1 + x2
// (x3), computed with plain forwards of the whole sequence.
struct Exact {
  std::vector<TokenProb> p1;
  std::map<int32_t, std::vector<TokenProb>> p2;
  std::map<std::pair<int32_t, int32_t>, std::vector<TokenProb>> p3;
};

inline Exact exact_distributions(const std::shared_ptr<const Model>& model, const SamplingParams& params,
                          const std::vector<int32_t>& prompt) {
  Context ref(model, {.n_ctx = 64, .n_threads = 1});
  const Sampler sampler(params);
  const auto dist = [&](const std::vector<int32_t>& h, std::vector<TokenProb>& out) {
    ref.truncate(0);
    ref.forward(Batch::sequence(h, 0, true));
    sampler.distribution(ref.logits(static_cast<int>(h.size()) - 1), h, out);
  };
  Exact e;
  dist(prompt, e.p1);
  for (const auto& a : e.p1) {
    auto h = prompt;
    h.push_back(a.id);
    dist(h, e.p2[a.id]);
    for (const auto& b : e.p2[a.id]) {
      auto h2 = h;
      h2.push_back(b.id);
      dist(h2, e.p3[{a.id, b.id}]);
    }
  }
  return e;
}

}  // namespace aded::spec_testing
