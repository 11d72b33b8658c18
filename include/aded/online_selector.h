// Choosing the drafter per step, online (the `select` method). After every verification each arm
// is scored by the tokens per second it gives: the chosen arm by what the step did; arms whose
// drafters can be shadowed (n-gram drafters, Drafter::can_shadow) by what they would have drafted
// at the same context, matched against the text the target then wrote (exact for greedy decoding:
// a node is accepted exactly when its path is the target's continuation; at temperature > 0 an
// estimate). Scoring every cheap drafter on the verified text without extra target calls follows
// HedgeSpec (arXiv 2510.20064). Estimates are discounted means (they follow the text as it
// changes: code that repeats its input, then new code), and each step takes the arm with the best
// one (the arm in use keeps its place unless beaten by 5%). Drafters that cannot be shadowed (a
// draft model) are scored only when they draft: each is retried after `retry_every` steps times
// how far behind it was when it is not the best (forced exploration, as the budget controller
// re-measures a skipped drafter), which bounds what exploring costs; a UCB bonus
// that grows while an arm waits retried a draft model every few steps here, each time paying for
// its catch-up on the skipped text.
//
// The choice depends only on steps already verified, never on the tokens being verified, so every
// acceptance rule keeps its guarantee (docs/architecture.md).
#pragma once

#include <memory>

#include "aded/speculator.h"

namespace aded {

struct OnlineSelectorOptions {
  double discount = 0.95;  // weight of an observation per later observation of the arm
  // Steps between tries of an arm that is not the best and is not shadowed, times how many times
  // slower than the best it was (at most 8).
  int retry_every = 64;
};

std::unique_ptr<DrafterSelector> make_online_selector(OnlineSelectorOptions options = {});

}  // namespace aded
