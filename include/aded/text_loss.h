// How well a model predicts text: the cross-entropy (nats per token) of the next token, the number
// `aded perplexity` reports and the trainer's validation loss estimates.
#pragma once

#include <cstdint>
#include <span>

#include "aded/context.h"

namespace aded {

// Runs window[0 .. n-1) from an empty cache (positions 0..) and returns the summed negative log
// probability of window[1 .. n), each given the tokens before it. The context is left empty.
// Throws Error when the window does not fit in the context or holds tokens outside the vocabulary.
double window_nll(Context& ctx, std::span<const int32_t> window);

}  // namespace aded
