// Choosing the drafter per request (the `auto` method): the contextual bandit of Huang et al.
// (arXiv 2408.08470) with LinUCB's disjoint linear model (Li et al., WWW 2010). At the start of a
// request the arm with the best predicted speed-up plus `explore` times its uncertainty drafts the
// whole request; at its end the measured speed-up (decoding tokens per second times the target's
// one-token forward time: a speed-up over plain decoding estimated without running it) is added
// to that arm's sums. A policy learned offline (selection_policy.h) is the starting point; without
// one every arm starts from the ridge prior alone, so each is tried before the estimates decide.
//
// The choice is made before the request drafts anything, from the prompt and from requests that
// are over: never from the tokens being verified, so every acceptance rule keeps its guarantee.
#pragma once

#include <memory>
#include <optional>

#include "aded/selection_policy.h"
#include "aded/speculator.h"

namespace aded {

struct RequestSelectorOptions {
  std::optional<SelectionPolicy> policy;  // its arms must be the speculator's, in order
  double explore = 0.1;  // the UCB width's weight (0: always the predicted best)
  double ridge = 1.0;    // the prior of arms without a policy
  // The table request_features reads (null: table_hit is 0); it must be the one the policy was
  // learned with (the caller checks by name).
  std::shared_ptr<const TrigramTable> table;
};

std::unique_ptr<DrafterSelector> make_request_selector(RequestSelectorOptions options);

// The arm that drafts nothing (plain decoding), for a selector to choose.
std::unique_ptr<Drafter> make_plain_arm();

}  // namespace aded
