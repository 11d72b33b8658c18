// TreeVerifier: one forward over [last token, tree], the walk keeps exactly the path the target
// itself would have produced, and the cache then holds exactly that path (the next forward gives
// bitwise the logits of sequential decoding).
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "aded/context.h"
#include "aded/error.h"
#include "aded/sampler.h"
#include "aded/tree_verifier.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::random_prompt;
using spec_testing::tiny_model;

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Plain greedy decoding one token at a time: the sequence (prompt + n tokens) and the logits that
// produced each generated token (logits[i] predicts sequence[prompt.size() + i]).
struct Reference {
  std::vector<int32_t> sequence;
  std::vector<std::vector<float>> logits;
};

Reference sequential_greedy(const std::shared_ptr<const Model>& model, const std::vector<int32_t>& prompt, int n) {
  Context ctx(model, {.n_ctx = static_cast<int>(prompt.size()) + n + 8, .n_threads = 1});
  Reference r;
  r.sequence = prompt;
  for (size_t i = 0; i < prompt.size(); ++i) {
    ctx.forward(Batch::sequence(std::span<const int32_t>(&prompt[i], 1), ctx.n_past(), true));
    const int32_t first[] = {0};
    ctx.commit(first);
  }
  for (int i = 0; i < n; ++i) {
    const auto l = ctx.logits(0);
    r.logits.emplace_back(l.begin(), l.end());
    const int32_t next = argmax(l);
    r.sequence.push_back(next);
    ctx.forward(Batch::sequence(std::span<const int32_t>(&next, 1), ctx.n_past(), true));
    const int32_t first[] = {0};
    ctx.commit(first);
  }
  return r;
}

void prefill(Context& ctx, std::span<const int32_t> tokens) {
  ctx.truncate(0);
  ctx.forward(Batch::sequence(tokens, 0, false));
  std::vector<int32_t> all(tokens.size());
  std::iota(all.begin(), all.end(), 0);
  ctx.commit(all);
}

TEST(TreeVerifier, CommitsExactlyTheAcceptedPath) {
  const auto model = tiny_model();
  const int vocab = model->config().n_vocab;
  const auto prompt = random_prompt(16, vocab, 5);
  const Reference ref = sequential_greedy(model, prompt, 8);
  const auto g = [&](size_t i) { return ref.sequence[prompt.size() + i]; };  // i-th greedy token
  const auto other = [&](int32_t t) { return t == 7 ? 8 : 7; };

  // The full output projection, so that every logit can be compared (the greedy head's -inf
  // entries are checked by greedy_head_decoding_test).
  Context ctx(model, {.n_ctx = 64, .n_threads = 1, .greedy_head = false});
  // The cache holds the prompt but its last token (the root of the first tree).
  prefill(ctx, std::span<const int32_t>(prompt.data(), prompt.size() - 1));
  // History: prompt + g0 would be the plain sequence after the prefill; here the root is the last
  // prompt token and the tree proposes g0, g1, g2 with distractors around them.
  DraftTree tree;
  const int wrong = tree.add(DraftTree::kRoot, other(g(0)), 0.9f);
  const int n0 = tree.add(DraftTree::kRoot, g(0), 0.8f);
  tree.add(wrong, g(1), 0.7f);  // the right token under the wrong parent
  const int n1 = tree.add(n0, g(1), 0.6f);
  tree.add(n0, other(g(1)), 0.5f);
  tree.add(n1, other(g(2)), 0.4f);  // g2 itself is not drafted: it is the bonus token

  Sampler sampler(spec_testing::greedy_params());
  TreeVerifier verifier(ctx, sampler);
  const int32_t n_past = ctx.n_past();
  const VerifyResult r = verifier.verify(tree, prompt);
  EXPECT_EQ(r.emitted, (std::vector<int32_t>{g(0), g(1), g(2)}));
  EXPECT_EQ(r.accepted_nodes, (std::vector<int>{n0, n1}));
  EXPECT_EQ(ctx.n_past(), n_past + 3);  // the root and the two accepted nodes
  // The root's and the accepted nodes' logits are those of sequential decoding.
  EXPECT_TRUE(same_bits(ctx.logits(0), ref.logits[0]));
  EXPECT_TRUE(same_bits(ctx.logits(1 + n0), ref.logits[1]));
  EXPECT_TRUE(same_bits(ctx.logits(1 + n1), ref.logits[2]));

  // The next forward (the bonus token g2) sees exactly prompt + g0 + g1 in the cache.
  const int32_t next = g(2);
  ctx.forward(Batch::sequence(std::span<const int32_t>(&next, 1), ctx.n_past(), true));
  EXPECT_TRUE(same_bits(ctx.logits(0), ref.logits[3]));
}

TEST(TreeVerifier, EmptyTreeIsOnePlainStep) {
  const auto model = tiny_model();
  const auto prompt = random_prompt(10, model->config().n_vocab, 9);
  const Reference ref = sequential_greedy(model, prompt, 2);
  Context ctx(model, {.n_ctx = 32, .n_threads = 1});
  prefill(ctx, std::span<const int32_t>(prompt.data(), prompt.size() - 1));
  Sampler sampler(spec_testing::greedy_params());
  TreeVerifier verifier(ctx, sampler);
  const VerifyResult r = verifier.verify(DraftTree{}, prompt);
  EXPECT_EQ(r.emitted, (std::vector<int32_t>{ref.sequence[prompt.size()]}));
  EXPECT_TRUE(r.accepted_nodes.empty());
  EXPECT_EQ(ctx.n_past(), static_cast<int32_t>(prompt.size()));
}

// Many steps with random trees around the true greedy continuation: every step must emit the
// reference tokens, and the logits of the root (which depend on everything committed before) must
// be bitwise those of sequential decoding.
TEST(TreeVerifier, RandomTreesReproduceSequentialDecodingBitwise) {
  const auto model = tiny_model();
  const int vocab = model->config().n_vocab;
  const auto prompt = random_prompt(12, vocab, 21);
  const int n = 160;
  const Reference ref = sequential_greedy(model, prompt, n);
  Context ctx(model, {.n_ctx = 256, .n_threads = 1, .greedy_head = false});  // all logits compared
  prefill(ctx, std::span<const int32_t>(prompt.data(), prompt.size() - 1));
  Sampler sampler(spec_testing::greedy_params());
  TreeVerifier verifier(ctx, sampler);
  std::mt19937 rng(77);
  std::vector<int32_t> history = prompt;
  int64_t accepted = 0;
  int steps = 0;
  while (history.size() < ref.sequence.size() - 12) {
    const size_t at = history.size();  // index in ref.sequence of the next token
    DraftTree tree;
    // The true path to a random depth, then maybe a wrong token; distractors anywhere.
    const int true_depth = static_cast<int>(rng() % 7);
    int32_t parent = DraftTree::kRoot;
    std::vector<int32_t> path_nodes;
    for (int d = 0; d < true_depth; ++d) {
      if (rng() % 3 == 0) tree.add(parent, static_cast<int32_t>(3 + rng() % static_cast<uint32_t>(vocab - 3)), 0.5f);
      parent = tree.add(parent, ref.sequence[at + static_cast<size_t>(d)], 0.5f);
      path_nodes.push_back(parent);
    }
    const int32_t wrong = ref.sequence[at + static_cast<size_t>(true_depth)] == 5 ? 6 : 5;
    if (rng() % 2) {
      const int w = tree.add(parent, wrong, 0.5f);
      tree.add(w, ref.sequence[at + static_cast<size_t>(true_depth) + 1], 0.5f);
    }
    const int32_t n_past = ctx.n_past();
    const VerifyResult r = verifier.verify(tree, history);
    ASSERT_TRUE(same_bits(ctx.logits(0), ref.logits[at - prompt.size()])) << "step " << steps;
    const std::vector<int32_t> expected(ref.sequence.begin() + static_cast<long>(at),
                                        ref.sequence.begin() + static_cast<long>(at) + true_depth + 1);
    ASSERT_EQ(r.emitted, expected) << "step " << steps;
    ASSERT_EQ(r.accepted_nodes, std::vector<int>(path_nodes.begin(), path_nodes.end())) << "step " << steps;
    ASSERT_EQ(ctx.n_past(), n_past + 1 + true_depth);
    history.insert(history.end(), r.emitted.begin(), r.emitted.end());
    accepted += true_depth;
    ++steps;
  }
  EXPECT_GT(accepted, 50);
}

TEST(TreeVerifier, BadHistoryOrOversizedTreeIsAnError) {
  const auto model = tiny_model();
  const auto prompt = random_prompt(10, model->config().n_vocab, 4);
  Context ctx(model, {.n_ctx = 16, .n_threads = 1});
  prefill(ctx, std::span<const int32_t>(prompt.data(), prompt.size() - 1));
  Sampler sampler(spec_testing::greedy_params());
  TreeVerifier verifier(ctx, sampler);
  // history must be the cache plus one token.
  EXPECT_THROW(verifier.verify(DraftTree{}, std::span<const int32_t>(prompt.data(), prompt.size() - 1)), Error);
  EXPECT_THROW(verifier.verify(DraftTree{}, std::span<const int32_t>()), Error);
  // 9 cached + root + 7 nodes = 17 > 16 cells.
  DraftTree big;
  int32_t parent = DraftTree::kRoot;
  for (int i = 0; i < 7; ++i) parent = big.add(parent, 10 + i, 0.5f);
  EXPECT_THROW(verifier.verify(big, prompt), Error);
  EXPECT_EQ(ctx.n_past(), 9) << "a refused tree must not change the cache";
  // 6 nodes fit exactly.
  big.truncate(6);
  EXPECT_NO_THROW(verifier.verify(big, prompt));
}

}  // namespace
}  // namespace aded
