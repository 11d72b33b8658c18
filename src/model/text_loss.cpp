#include "aded/text_loss.h"

#include <cmath>

#include "aded/error.h"

namespace aded {

double window_nll(Context& ctx, std::span<const int32_t> window) {
  if (window.size() < 2) return 0;
  const auto n = static_cast<int32_t>(window.size() - 1);
  if (n > ctx.n_ctx()) fail("a window of {} tokens does not fit in a context of {}", n, ctx.n_ctx());
  const int32_t vocab = ctx.model().config().n_vocab;
  for (const int32_t t : window)
    if (t < 0 || t >= vocab) fail("token {} is outside the vocabulary (size {})", t, vocab);
  ctx.truncate(0);
  ctx.forward(Batch::sequence(window.first(static_cast<size_t>(n)), 0, true));
  double nll = 0;
  for (int32_t i = 0; i < n; ++i) {
    const auto logits = ctx.logits(i);
    // log-sum-exp in double around the maximum: exact enough for 32000-way softmaxes.
    double max = -INFINITY;
    for (const float l : logits) max = std::max(max, static_cast<double>(l));
    double sum = 0;
    for (const float l : logits) sum += std::exp(static_cast<double>(l) - max);
    nll += max + std::log(sum) - static_cast<double>(logits[static_cast<size_t>(window[static_cast<size_t>(i) + 1])]);
  }
  ctx.commit({});
  ctx.truncate(0);
  return nll;
}

}  // namespace aded
