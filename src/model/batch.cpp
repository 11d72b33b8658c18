// Attention masks and batches: building them, and checking them against a context and a model.
#include "model/batch.h"

#include <algorithm>
#include <climits>

#include "aded/error.h"

namespace aded {

void AttentionMask::add_query(std::span<const int32_t> visible) {
  cells.insert(cells.end(), visible.begin(), visible.end());
  offsets.push_back(static_cast<int32_t>(cells.size()));
}

AttentionMask AttentionMask::causal(int32_t n_past, int32_t n) {
  AttentionMask m;
  m.prefix = n_past;
  m.offsets.reserve(static_cast<size_t>(n) + 1);
  m.cells.reserve(static_cast<size_t>(n) * static_cast<size_t>(n + 1) / 2);
  for (int32_t i = 0; i < n; ++i) {
    for (int32_t j = 0; j <= i; ++j) m.cells.push_back(n_past + j);
    m.offsets.push_back(static_cast<int32_t>(m.cells.size()));
  }
  return m;
}

AttentionMask AttentionMask::tree(int32_t n_past, std::span<const int32_t> parents) {
  AttentionMask m;
  m.prefix = n_past;
  std::vector<int32_t> path;
  for (size_t i = 0; i < parents.size(); ++i) {
    if (parents[i] >= static_cast<int32_t>(i) || parents[i] < -1)
      throw Error("tree mask: each parent must be an earlier batch index or -1");
    path.clear();
    for (int32_t node = static_cast<int32_t>(i); node >= 0; node = parents[static_cast<size_t>(node)])
      path.push_back(n_past + node);
    std::reverse(path.begin(), path.end());
    m.add_query(path);
  }
  return m;
}

Batch Batch::sequence(std::span<const int32_t> tokens, int32_t n_past, bool all_logits) {
  Batch b;
  b.tokens.assign(tokens.begin(), tokens.end());
  const auto n = static_cast<int32_t>(tokens.size());
  for (int32_t i = 0; i < n; ++i) b.positions.push_back(n_past + i);
  b.mask = AttentionMask::causal(n_past, n);
  if (!all_logits) {
    b.want_logits.assign(tokens.size(), 0);
    if (!tokens.empty()) b.want_logits.back() = 1;
  }
  return b;
}

namespace {

// A plan is the caller's, not the user's: a bad one is an Error, not an InputError.
void check_plan(const LayerPlan& plan, int n_layers) {
  const auto layers = static_cast<size_t>(n_layers);
  if (!plan.attention.empty() && plan.attention.size() != layers)
    throw Error(fmt::format("forward: the layer plan has {} attention flags for a model of {} layers (one per layer, or none)",
                            plan.attention.size(), n_layers));
  if (!plan.mlp.empty() && plan.mlp.size() != layers)
    throw Error(fmt::format("forward: the layer plan has {} MLP flags for a model of {} layers (one per layer, or none)",
                            plan.mlp.size(), n_layers));
  if (plan.exit_after < 0 || plan.exit_after > n_layers)
    throw Error(fmt::format("forward: the layer plan exits after {} layers, outside [0, {}] (0: all of them)",
                            plan.exit_after, n_layers));
}

}  // namespace

namespace {

int32_t cell_position(const Batch& b, int32_t n_past, int32_t cell) {
  return cell < n_past ? cell : b.positions[static_cast<size_t>(cell - n_past)];
}

// The oldest position query i sees in a window.
int64_t window_start(const Batch& b, size_t i, int window) { return int64_t{b.positions[i]} - window + 1; }

// Each query's cells in a sliding-window layer: the keys out of its window must come first (so
// that the attention kernels can start at the first visible one). Causal chunks and draft trees,
// whose positions grow along each query's cells, always pass.
void check_window_order(const Batch& b, int32_t n_past, int window) {
  const AttentionMask& m = b.mask;
  const int32_t committed = std::min(m.prefix, n_past);  // cells 0.. hold positions 0..
  for (size_t i = 0; i < b.tokens.size(); ++i) {
    const int64_t start = window_start(b, i, window);
    bool seen = committed > 0 && committed - 1 >= start;
    const auto visit = [&](int32_t cell) {
      const bool visible = cell_position(b, n_past, cell) >= start;
      if (seen && !visible)
        throw Error(fmt::format("forward: query {} of the batch sees a cell that its sliding window ({} positions) "
                                "hides after one it shows; such a model needs each query's cells in position order",
                                i, window));
      seen = seen || visible;
    };
    for (int32_t cell = committed; cell < m.prefix; ++cell) visit(cell);
    for (int32_t k = m.offsets[i]; k < m.offsets[i + 1]; ++k) visit(m.cells[static_cast<size_t>(k)]);
  }
}

}  // namespace

void check_batch(const Batch& b, int32_t n_past, int32_t n_ctx, const ModelConfig& config) {
  const auto n = static_cast<int32_t>(b.tokens.size());
  if (n == 0) throw Error("forward: empty batch");
  if (n_past + n > n_ctx)
    fail("the context is full: {} cached + {} new tokens exceed the context size {} (use -c to enlarge it)",
         n_past, n, n_ctx);
  if (b.positions.size() != b.tokens.size()) throw Error("forward: one position per token is required");
  if (b.mask.queries() != n) throw Error("forward: the mask must have one row per token");
  if (!b.want_logits.empty() && b.want_logits.size() != b.tokens.size())
    throw Error("forward: want_logits must be empty or have one flag per token");
  if (b.mask.prefix < 0 || b.mask.prefix > n_past + n) throw Error("forward: mask prefix out of range");
  for (int32_t t : b.tokens)
    if (t < 0 || t >= config.n_vocab) fail("token id {} is outside the vocabulary (size {})", t, config.n_vocab);
  for (int32_t p : b.positions)
    if (p < 0) throw Error("forward: negative position");
  for (int32_t cell : b.mask.cells)
    if (cell < 0 || cell >= n_past + n) throw Error("forward: mask refers to a cell outside the cache");
  for (size_t i = 0; i + 1 < b.mask.offsets.size(); ++i)
    if (b.mask.offsets[i] > b.mask.offsets[i + 1] || b.mask.offsets[i + 1] > static_cast<int32_t>(b.mask.cells.size()))
      throw Error("forward: malformed mask offsets");
  check_plan(b.plan, config.n_layers);
  if (config.sliding_window > 0) check_window_order(b, n_past, config.sliding_window);
  if (b.weights && !(b.weights->config() == config))
    throw Error(fmt::format("forward: the batch's weights ({}) are not of the context's model ({})",
                            b.weights->config().describe(), config.describe()));
}

void window_starts(const Batch& b, int32_t n_past, int window, std::span<const int32_t> shared, int group_size,
                   std::vector<int32_t>& first, std::vector<int32_t>& skip) {
  const AttentionMask& m = b.mask;
  const size_t n = b.tokens.size();
  first.assign(n, 0);
  skip.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const int64_t start = window_start(b, i, window);
    const int32_t end = shared[i / static_cast<size_t>(group_size)];
    const int32_t committed = std::min(end, n_past);
    auto f = static_cast<int32_t>(std::clamp<int64_t>(start, 0, committed));
    if (f == committed)
      while (f < end && cell_position(b, n_past, f) < start) ++f;
    first[i] = f;
    if (f < end) continue;
    // The cells after the shared end: the query's own, from offsets[i] + (end - prefix).
    int32_t k = m.offsets[i] + end - m.prefix;
    while (k < m.offsets[i + 1] && cell_position(b, n_past, m.cells[static_cast<size_t>(k)]) < start) ++k;
    skip[i] = k - (m.offsets[i] + end - m.prefix);
  }
}

void shared_prefixes(const AttentionMask& mask, int group_size, std::vector<int32_t>& out) {
  const int n = mask.queries();
  const int groups = (n + group_size - 1) / group_size;
  out.assign(static_cast<size_t>(groups), 0);
  for (int g = 0; g < groups; ++g) {
    int32_t extend = INT32_MAX;
    for (int i = g * group_size; i < std::min(n, (g + 1) * group_size); ++i) {
      const int32_t lo = mask.offsets[static_cast<size_t>(i)], hi = mask.offsets[static_cast<size_t>(i) + 1];
      int32_t m = 0;
      while (m < hi - lo && m < extend && mask.cells[static_cast<size_t>(lo + m)] == mask.prefix + m) ++m;
      extend = std::min(extend, m);
    }
    out[static_cast<size_t>(g)] = mask.prefix + extend;
  }
}

}  // namespace aded
