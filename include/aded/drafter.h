// Drafters propose trees of likely continuations; the target verifies them (tree_verifier.h).
// Drafters only see tokens: never the model or its kernels.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "aded/draft_tree.h"

namespace aded {

struct DraftRequest {
  std::span<const int32_t> context;  // every token so far; the last one is the root of the tree
  int max_nodes = 16;
  int max_depth = 8;
  // How the target samples (null: greedy). A drafter with a distribution of its own (a model) may
  // then sample its drafts from it and attach it to each node (DraftTree::set_draft_distribution):
  // the verifier accepts such a draft x with probability min(1, p(x) / q(x)), so a drafter whose q
  // is close to the target's p has most drafts accepted even where p is flat.
  const SamplingParams* sampling = nullptr;
};

// What one step of decoding did, told to every drafter after it: the tokens it added and, to the
// drafter whose tree was verified, which of its nodes the target accepted (so a drafter can learn
// from the verification, not only from the text).
struct DraftFeedback {
  std::span<const int32_t> context;   // every token so far; the step added the last `added`
  int added = 0;
  const DraftTree* verified = nullptr;  // this drafter's tree as verified (nullptr: not its draft)
  std::span<const int> accepted_nodes = {};  // indices into *verified, root to leaf
};

class Drafter {
 public:
  virtual ~Drafter() = default;
  virtual std::string_view name() const = 0;

  // A new request starts with this prompt (drafters reset per-request state).
  virtual void begin(std::span<const int32_t> prompt) = 0;
  // Fills `out` (cleared by the caller) with at most max_nodes nodes, most confident first.
  virtual void propose(const DraftRequest& request, DraftTree& out) = 0;
  // After each step (and once after the prefill, which adds the first token).
  virtual void observe(const DraftFeedback& feedback) = 0;
  // The request finished (drafters with cross-request memory keep what they learned).
  virtual void end() {}
  // Seconds of the last proposal spent catching up on tokens emitted while this drafter was not
  // asked (a draft model forwarding the prompt, or the text of steps it skipped): work that drafting
  // every step would have spread thin. The budget prices proposals without it; priced with it, a
  // drafter that was skipped for a while looks too costly to ask again.
  virtual double idle_catch_up_seconds() const { return 0; }
  // Whether a proposal costs little next to a verification and leaves nothing behind that changes
  // later drafts or the output (n-gram drafters): a selector may then ask what this drafter would
  // have drafted on steps another drafter drafted, and score that on the text that followed.
  virtual bool can_shadow() const { return false; }
};

// Prompt lookup decoding: continuations that followed earlier occurrences of the longest suffix
// n-gram (n = max_ngram .. min_ngram) of the context; distinct continuations become branches.
struct PromptLookupOptions {
  int max_ngram = 3;
  int min_ngram = 1;
  int max_matches = 8;  // most recent occurrences considered per n
};
std::unique_ptr<Drafter> make_prompt_lookup_drafter(PromptLookupOptions options = {});

}  // namespace aded
