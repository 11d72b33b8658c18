// A drafter that knows the answer: it drafts the next tokens of a reference sequence (bench-spec
// sets it to the plain greedy output of the prompt at hand), as one chain whose every token the
// target accepts. It is not a decoding method but a measuring stick: with it, a run measures
// what verification alone allows on this model and machine, the speedup a perfect drafter would
// reach with drafts of a given size, so a real drafter's result can be read against that ceiling.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "aded/drafter.h"

namespace aded {

// reference: the whole sequence the target will produce for the current request (prompt, then
// output), read at every proposal; its owner updates it between requests. The drafter proposes
// nothing when the context has left the reference (it never does with greedy decoding) or
// reached its end.
std::unique_ptr<Drafter> make_oracle_drafter(std::shared_ptr<const std::vector<int32_t>> reference);

}  // namespace aded
