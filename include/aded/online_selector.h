// Choosing the drafter per step, online (the `select` method). After every verification each arm
// is scored by the tokens per second it gives: the chosen arm by what the step did; arms whose
// drafters can be shadowed (n-gram drafters, Drafter::can_shadow) by what they would have drafted
// at the same context, matched against the text the target then wrote (exact for greedy decoding:
// a node is accepted exactly when its path is the target's continuation; at temperature > 0 an
// estimate). Expensive drafters are scored only on the steps they draft. The rule is discounted
// UCB (Garivier & Moulines, "On upper-confidence bound policies for switching bandit problems",
// ALT 2011): discounted means follow the text as it changes (code that repeats its input, then new
// code), and an arm seldom tried gets a bonus that grows while it is not. Scoring every cheap
// drafter on the verified text without extra target calls follows HedgeSpec (arXiv 2510.20064).
//
// The choice depends only on steps already verified, never on the tokens being verified, so every
// acceptance rule keeps its guarantee (docs/architecture.md).
#pragma once

#include <memory>

#include "aded/speculator.h"

namespace aded {

struct OnlineSelectorOptions {
  double discount = 0.95;    // weight of an observation per later step
  double exploration = 0.3;  // the bonus of an arm seen seldom, as a share of the best arm's rate
};

std::unique_ptr<DrafterSelector> make_online_selector(OnlineSelectorOptions options = {});

}  // namespace aded
