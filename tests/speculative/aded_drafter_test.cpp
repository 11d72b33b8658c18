// The ADED drafter: online adaptation into overlays (window, step, cap; per request or shared),
// drafting the continuation the context repeats, nothing for unknown states, and MCTS and
// best-first search within the request's budget, every path made of known successors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>

#include "aded/aded_drafter.h"
#include "aded/error.h"
#include "aded/trigram_table.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::tiny_model;
using spec_testing::well_formed;

float boost(const TrigramOverlay& o, int32_t a, int32_t b, int32_t c) {
  std::vector<TrigramOverlay::Entry> e;
  o.find(a, b, e);
  for (const auto& x : e)
    if (x.token == c) return x.boost;
  return 0.0f;
}

DraftTree propose(Drafter& d, const std::vector<int32_t>& context, int max_nodes, int max_depth) {
  DraftTree t;
  d.propose(DraftRequest{context, max_nodes, max_depth}, t);
  return t;
}

AdedOptions options(AdedSearch search, bool adapt = true) {
  AdedOptions o;
  o.search = search;
  o.adapt = adapt;
  o.overlay = true;  // these tests exercise the paper's tri-gram overlay
  return o;
}

// The most confident root-to-leaf path, following the most confident child at each node.
std::vector<int32_t> best_path(const DraftTree& t) {
  std::vector<int32_t> path;
  int32_t node = DraftTree::kRoot;
  std::vector<int> kids;
  for (;;) {
    t.children(node, kids);
    if (kids.empty()) return path;
    int best = kids[0];
    for (int k : kids)
      if (t.confidence(k) > t.confidence(best)) best = k;
    path.push_back(t.token(best));
    node = best;
  }
}

TEST(AdedOverlay, BoostStepAndCap) {
  TrigramOverlay o;
  EXPECT_EQ(o.keys(), 0u);
  o.add(1, 2, 3, 0.04f, 0.1f);
  EXPECT_FLOAT_EQ(boost(o, 1, 2, 3), 0.04f);
  o.add(1, 2, 3, 0.04f, 0.1f);
  EXPECT_FLOAT_EQ(boost(o, 1, 2, 3), 0.08f);
  o.add(1, 2, 3, 0.04f, 0.1f);
  EXPECT_FLOAT_EQ(boost(o, 1, 2, 3), 0.1f) << "capped";
  o.add(1, 2, 4, 0.5f, 0.1f);
  EXPECT_FLOAT_EQ(boost(o, 1, 2, 4), 0.1f) << "a first step above the cap is capped too";
  o.add(2, 1, 3, 0.04f, 3.0f);
  EXPECT_EQ(o.keys(), 2u);
  std::vector<TrigramOverlay::Entry> out = {{99, 9.0f}};
  o.find(1, 2, out);
  ASSERT_EQ(out.size(), 3u) << "find appends";
  EXPECT_EQ(out[0].token, 99);
  EXPECT_FLOAT_EQ(boost(o, 5, 5, 5), 0.0f);
  o.clear();
  EXPECT_EQ(o.keys(), 0u);
  EXPECT_FLOAT_EQ(boost(o, 1, 2, 3), 0.0f);
}

TEST(AdedOverlay, ConcurrentAddsAreNotLost) {
  TrigramOverlay o;
  auto work = [&o](int32_t c) {
    for (int i = 0; i < 2000; ++i) {
      o.add(1, 2, 3, 1.0f, 1e9f);
      o.add(1, c, c, 1.0f, 1e9f);
    }
  };
  std::thread a(work, 10), b(work, 11);
  a.join();
  b.join();
  EXPECT_FLOAT_EQ(boost(o, 1, 2, 3), 4000.0f);
  EXPECT_EQ(o.keys(), 3u);
}

// ADED.md section 2: each step boosts every tri-gram inside the last W tokens, so a tri-gram far
// enough from the end has been boosted W - 2 times.
TEST(AdedDrafter, AdaptationBoostsTrigramsInsideTheWindow) {
  for (int window : {4, 16}) {
    auto shared = std::make_shared<TrigramOverlay>();
    AdedOptions o = options(AdedSearch::BestFirst);
    o.window = window;
    auto d = make_aded_drafter(nullptr, o, shared);
    std::vector<int32_t> ctx(10);
    std::iota(ctx.begin(), ctx.end(), 100);  // distinct tokens 100..109
    d->begin(ctx);
    const int first = std::min(window - 2, 8);  // (100,101,102) is inside the window for t = 2..9
    EXPECT_NEAR(boost(*shared, 100, 101, 102), 0.04f * static_cast<float>(first), 1e-5) << "window " << window;
    EXPECT_NEAR(boost(*shared, 107, 108, 109), 0.04f, 1e-6) << "window " << window;
    EXPECT_FLOAT_EQ(boost(*shared, 100, 102, 104), 0.0f);
    // The context grows: adaptation continues where it stopped.
    for (int32_t t = 110; t < 130; ++t) ctx.push_back(t);
    d->observe({.context = ctx, .added = 20});
    EXPECT_NEAR(boost(*shared, 100, 101, 102), 0.04f * static_cast<float>(window - 2), 1e-5) << "window " << window;
    EXPECT_NEAR(boost(*shared, 110, 111, 112), 0.04f * static_cast<float>(window - 2), 1e-5) << "window " << window;
    d->observe({.context = ctx, .added = 0});  // nothing new: no change
    EXPECT_NEAR(boost(*shared, 110, 111, 112), 0.04f * static_cast<float>(window - 2), 1e-5) << "window " << window;
  }
  // The cap holds whatever the repetition.
  auto shared = std::make_shared<TrigramOverlay>();
  AdedOptions o = options(AdedSearch::BestFirst);
  o.boost_cap = 0.2f;
  auto d = make_aded_drafter(nullptr, o, shared);
  d->begin(spec_testing::repeating_prompt({7, 8}, 50));
  EXPECT_FLOAT_EQ(boost(*shared, 7, 8, 7), 0.2f);
}

TEST(AdedDrafter, NoAdaptationWhenOff) {
  auto shared = std::make_shared<TrigramOverlay>();
  auto d = make_aded_drafter(nullptr, options(AdedSearch::Mcts, /*adapt=*/false), shared);
  const auto ctx = spec_testing::repeating_prompt({10, 11, 12}, 5);
  d->begin(ctx);
  d->observe({.context = ctx, .added = 3});
  EXPECT_EQ(shared->keys(), 0u);
  // And nothing to draft from: no table, no adaptation.
  EXPECT_TRUE(propose(*d, ctx, 16, 4).empty());
}

class AdedSearchTest : public ::testing::TestWithParam<AdedSearch> {};

TEST_P(AdedSearchTest, ProposesTheRepeatedContinuation) {
  auto d = make_aded_drafter(nullptr, options(GetParam()));
  EXPECT_EQ(d->name(), "aded");
  const std::vector<int32_t> pattern = {10, 11, 12, 13, 14, 15, 16};
  const auto ctx = spec_testing::repeating_prompt(pattern, 4);
  d->begin(ctx);
  const DraftTree t = propose(*d, ctx, 32, 8);
  ASSERT_FALSE(t.empty());
  ASSERT_TRUE(well_formed(t));
  EXPECT_EQ(t.token(0), 10);
  const auto path = best_path(t);
  ASSERT_GE(path.size(), 4u);
  for (size_t i = 0; i < path.size(); ++i) EXPECT_EQ(path[i], pattern[i % pattern.size()]) << i;
  // Each state of a pure repetition has one successor: the tree is that chain.
  EXPECT_EQ(static_cast<size_t>(t.size()), path.size());
}

TEST_P(AdedSearchTest, BranchesFollowTheContextsAlternatives) {
  auto d = make_aded_drafter(nullptr, options(GetParam()));
  // After 20 21 the context had 30 three times and 40 once.
  const std::vector<int32_t> ctx = {1, 20, 21, 30, 5, 20, 21, 30, 6, 20, 21, 40, 7, 20, 21, 30, 8, 20, 21};
  d->begin(ctx);
  const DraftTree t = propose(*d, ctx, 32, 3);
  ASSERT_TRUE(well_formed(t));
  ASSERT_GE(t.size(), 2);
  EXPECT_EQ(t.token(0), 30) << "the more frequent continuation first";
  EXPECT_GE(t.find_child(DraftTree::kRoot, 40), 0) << "the other continuation is a branch";
  EXPECT_GT(t.confidence(0), t.confidence(t.find_child(DraftTree::kRoot, 40)));
}

TEST_P(AdedSearchTest, NothingForUnknownStatesWithoutAdaptation) {
  auto model = tiny_model();
  testing::TempDir dir;
  TrigramTableBuilder b(model->tokenizer(), 12);
  b.add_document("the cat sat on the mat. the cat sat on the hat. the dog sat on the cat.");
  b.write((dir / "t.tri").string());
  const auto table = TrigramTable::open((dir / "t.tri").string(), &model->tokenizer().vocab());
  auto d = make_aded_drafter(table, options(GetParam(), /*adapt=*/false));
  // A pair the corpus never had, in a context that repeats it: without adaptation, nothing.
  const auto unknown = spec_testing::repeating_prompt({290, 291, 292}, 6);
  d->begin(unknown);
  EXPECT_TRUE(propose(*d, unknown, 16, 4).empty());
  // A pair of the corpus: its successors.
  const auto known = model->tokenizer().encode("the cat", true);
  d->begin(known);
  const DraftTree t = propose(*d, known, 16, 4);
  ASSERT_FALSE(t.empty());
  const auto s = table->find(known[known.size() - 2], known.back());
  ASSERT_GT(s.size, 0u);
  std::vector<int> kids;
  t.children(DraftTree::kRoot, kids);
  for (int k : kids) EXPECT_NE(std::find(s.tokens, s.tokens + s.size, static_cast<uint32_t>(t.token(k))), s.tokens + s.size);
  if (GetParam() == AdedSearch::BestFirst) {
    EXPECT_EQ(t.token(0), static_cast<int32_t>(s.tokens[0]));
  }
  // Too short a context, or no room: nothing.
  const std::vector<int32_t> one = {1};
  EXPECT_TRUE(propose(*d, one, 16, 4).empty());
  EXPECT_TRUE(propose(*d, known, 0, 4).empty());
}

// Property test: random contexts, with and without a table, random budgets. Trees are well formed,
// within max_nodes and max_depth, and every node's token is a known successor (table or overlay)
// of the two tokens before it on its path.
TEST_P(AdedSearchTest, RespectsBudgetsAndDraftsOnlyKnownSuccessors) {
  auto model = tiny_model();
  testing::TempDir dir;
  std::mt19937 rng(GetParam() == AdedSearch::Mcts ? 1 : 2);
  // A corpus over a small alphabet, so table states and context states overlap.
  std::string corpus;
  for (int i = 0; i < 3000; ++i) corpus += static_cast<char>('a' + rng() % 5);
  TrigramTableBuilder b(model->tokenizer(), 12);
  b.add_document(corpus);
  b.write((dir / "t.tri").string());
  const auto table = TrigramTable::open((dir / "t.tri").string());
  const auto corpus_ids = model->tokenizer().encode(corpus, true);
  int nonempty = 0, deep = 0, wide = 0;
  for (int trial = 0; trial < 120; ++trial) {
    auto shared = std::make_shared<TrigramOverlay>();
    AdedOptions o = options(GetParam(), /*adapt=*/trial % 3 != 0);
    o.context_order = trial % 4 < 2 ? 0 : 1 + static_cast<int>(rng() % 8);
    o.iterations = 20 + static_cast<int>(rng() % 200);
    o.search_depth = 1 + static_cast<int>(rng() % 6);
    o.top_paths = 1 + static_cast<int>(rng() % 30);
    o.branching = 1 + static_cast<int>(rng() % 10);
    const bool with_table = trial % 2 == 0;
    auto d = make_aded_drafter(with_table ? table : nullptr, o, shared);
    // Context: a slice of the corpus' tokens (known states), sometimes with random tokens.
    const size_t len = 3 + rng() % 200;
    const size_t at = rng() % (corpus_ids.size() - len);
    std::vector<int32_t> ctx(corpus_ids.begin() + static_cast<long>(at), corpus_ids.begin() + static_cast<long>(at + len));
    if (rng() % 4 == 0)
      for (auto& t : ctx)
        if (rng() % 5 == 0) t = static_cast<int32_t>(3 + rng() % 290);
    d->begin(ctx);
    const int max_nodes = 1 + static_cast<int>(rng() % 80);
    const int max_depth = 1 + static_cast<int>(rng() % 16);
    const DraftTree t = propose(*d, ctx, max_nodes, max_depth);
    ASSERT_TRUE(well_formed(t)) << "trial " << trial;
    ASSERT_LE(t.size(), max_nodes) << "trial " << trial;
    ASSERT_LE(t.max_depth(), max_depth) << "trial " << trial;
    if (!t.empty()) ++nonempty;
    if (t.max_depth() >= 3) ++deep;
    std::vector<int> kids;
    t.children(DraftTree::kRoot, kids);
    if (kids.size() >= 2) ++wide;
    for (int i = 0; i < t.size(); ++i) {
      ASSERT_GE(t.confidence(i), 0.0f);
      ASSERT_LE(t.confidence(i), 1.0f);
      const int32_t p = t.parent(i);
      const int32_t b_tok = p == DraftTree::kRoot ? ctx.back() : t.token(p);
      const int32_t pp = p == DraftTree::kRoot ? DraftTree::kRoot : t.parent(p);
      const int32_t a_tok = p == DraftTree::kRoot ? ctx[ctx.size() - 2] : pp == DraftTree::kRoot ? ctx.back() : t.token(pp);
      bool known = boost(*shared, a_tok, b_tok, t.token(i)) > 0;
      // The context model continues a suffix seen in the context: at least the last token.
      if (o.adapt && o.context_order > 0)
        for (size_t j = 1; j < ctx.size() && !known; ++j) known = ctx[j - 1] == b_tok && ctx[j] == t.token(i);
      if (with_table) {
        const auto s = table->find(a_tok, b_tok);
        known |= std::find(s.tokens, s.tokens + s.size, static_cast<uint32_t>(t.token(i))) != s.tokens + s.size;
      }
      ASSERT_TRUE(known) << "trial " << trial << ": node " << i << " token " << t.token(i) << " after (" << a_tok
                         << ", " << b_tok << ") is no known successor";
    }
  }
  EXPECT_GT(nonempty, 80);
  EXPECT_GT(deep, 30);
  EXPECT_GT(wide, 30);
}

TEST_P(AdedSearchTest, SharedOverlayRemembersAcrossRequests) {
  const std::vector<int32_t> pattern = {50, 51, 52, 53, 54};
  const auto learn = spec_testing::repeating_prompt(pattern, 4);
  const std::vector<int32_t> later = {1, 60, 61, 62, 50, 51};  // starts the pattern, never finished it
  // Per-request overlays: a new request forgets.
  auto alone = make_aded_drafter(nullptr, options(GetParam()));
  alone->begin(learn);
  ASSERT_FALSE(propose(*alone, learn, 16, 4).empty());
  alone->end();
  alone->begin(later);
  EXPECT_TRUE(propose(*alone, later, 16, 4).empty());
  // A shared overlay: another drafter (another request) drafts what the first one learned.
  auto shared = std::make_shared<TrigramOverlay>();
  auto first = make_aded_drafter(nullptr, options(GetParam()), shared);
  first->begin(learn);
  first->end();
  auto second = make_aded_drafter(nullptr, options(GetParam()), shared);
  second->begin(later);
  const DraftTree t = propose(*second, later, 16, 4);
  ASSERT_FALSE(t.empty());
  EXPECT_EQ(t.token(0), 52);
  EXPECT_EQ(best_path(t).size(), 4u);
}

INSTANTIATE_TEST_SUITE_P(Aded, AdedSearchTest, ::testing::Values(AdedSearch::Mcts, AdedSearch::BestFirst),
                         [](const auto& param_info) { return param_info.param == AdedSearch::Mcts ? "Mcts" : "BestFirst"; });

TEST(AdedDrafter, BadOptionsAreInputErrors) {
  auto bad = [](auto change) {
    AdedOptions o;
    change(o);
    return o;
  };
  EXPECT_THROW(make_aded_drafter(nullptr, bad([](AdedOptions& o) { o.window = 2; })), InputError);
  EXPECT_THROW(make_aded_drafter(nullptr, bad([](AdedOptions& o) { o.iterations = 0; })), InputError);
  EXPECT_THROW(make_aded_drafter(nullptr, bad([](AdedOptions& o) { o.search_depth = 0; })), InputError);
  EXPECT_THROW(make_aded_drafter(nullptr, bad([](AdedOptions& o) { o.rollout_depth = 0; })), InputError);
  EXPECT_THROW(make_aded_drafter(nullptr, bad([](AdedOptions& o) { o.top_paths = 0; })), InputError);
  EXPECT_THROW(make_aded_drafter(nullptr, bad([](AdedOptions& o) { o.branching = 0; })), InputError);
  EXPECT_THROW(make_aded_drafter(nullptr, bad([](AdedOptions& o) { o.c2 = 0; })), InputError);
  EXPECT_NO_THROW(make_aded_drafter(nullptr, AdedOptions{}));
}

}  // namespace
}  // namespace aded
