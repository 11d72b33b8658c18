// A drafter that knows the answer: it drafts the next tokens of a reference sequence (bench-spec
// gives it the plain greedy output of the same prompt), as one chain whose every token the
// target accepts. It is not a decoding method but a measuring stick: with it, a run measures
// what verification alone allows on this model and machine, the speedup a perfect drafter would
// reach with drafts of a given size, so a real drafter's result can be read against that ceiling.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "aded/drafter.h"

namespace aded {

class OracleDrafter final : public Drafter {
 public:
  std::string_view name() const override { return "oracle"; }
  // The whole sequence the target will produce for the next request: prompt, then output.
  void set_reference(std::span<const int32_t> sequence) {
    reference_.assign(sequence.begin(), sequence.end());
  }

  void begin(std::span<const int32_t>) override {}
  // A chain of the reference's next tokens, as long as the request allows. Nothing when the
  // context has left the reference (it never does with greedy decoding) or reached its end.
  void propose(const DraftRequest& request, DraftTree& out) override;
  void observe(std::span<const int32_t>, int) override {}

 private:
  std::vector<int32_t> reference_;
};

}  // namespace aded
