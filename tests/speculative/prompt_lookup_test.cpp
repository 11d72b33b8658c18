// Prompt lookup drafting: continuations of earlier occurrences of the context's suffix n-grams,
// longest match first, distinct continuations as branches, within the request's budget.
#include <gtest/gtest.h>

#include <random>

#include "aded/drafter.h"
#include "aded/error.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::well_formed;

DraftTree propose(Drafter& d, const std::vector<int32_t>& context, int max_nodes, int max_depth) {
  DraftTree t;
  d.propose(DraftRequest{context, max_nodes, max_depth}, t);
  return t;
}

std::vector<int32_t> path_to(const DraftTree& t, int node) {
  std::vector<int32_t> p;
  for (int32_t i = node; i != DraftTree::kRoot; i = t.parent(i)) p.push_back(t.token(i));
  return {p.rbegin(), p.rend()};
}

std::vector<int32_t> root_children(const DraftTree& t) {
  std::vector<int> kids;
  t.children(DraftTree::kRoot, kids);
  std::vector<int32_t> tokens;
  for (int k : kids) tokens.push_back(t.token(k));
  std::sort(tokens.begin(), tokens.end());
  return tokens;
}

TEST(PromptLookup, LongestSuffixMatchComesFirst) {
  // The suffix 7 8 9 occurred once (followed by 20 21); the 1-gram 9 was also followed by 30 31.
  const std::vector<int32_t> ctx = {1, 7, 8, 9, 20, 21, 9, 30, 31, 7, 8, 9};
  auto d = make_prompt_lookup_drafter();
  EXPECT_EQ(d->name(), "pld");
  d->begin(ctx);
  const DraftTree t = propose(*d, ctx, 16, 4);
  ASSERT_FALSE(t.empty());
  ASSERT_TRUE(well_formed(t));
  EXPECT_EQ(t.token(0), 20);
  EXPECT_EQ(t.parent(0), DraftTree::kRoot);
  EXPECT_EQ(root_children(t), (std::vector<int32_t>{20, 30}));
  // The most confident path is the continuation of the 3-gram match, to the depth limit.
  const int deepest = t.find_child(t.find_child(t.find_child(0, 21), 9), 30);
  ASSERT_GE(deepest, 0);
  EXPECT_EQ(path_to(t, deepest), (std::vector<int32_t>{20, 21, 9, 30}));
  EXPECT_EQ(t.max_depth(), 4);
  EXPECT_GT(t.confidence(0), t.confidence(t.find_child(DraftTree::kRoot, 30)));
  // Confidence never grows along a path.
  for (int i = 0; i < t.size(); ++i)
    if (t.parent(i) != DraftTree::kRoot) {
      EXPECT_LE(t.confidence(i), t.confidence(t.parent(i)));
    }

  // With one match allowed, only the longest one is used.
  auto one = make_prompt_lookup_drafter({.max_ngram = 3, .min_ngram = 1, .max_matches = 1});
  one->begin(ctx);
  const DraftTree single = propose(*one, ctx, 16, 8);
  EXPECT_EQ(root_children(single), (std::vector<int32_t>{20}));
  // The continuation runs to the end of the context, not past it.
  EXPECT_EQ(path_to(single, single.size() - 1), (std::vector<int32_t>{20, 21, 9, 30, 31, 7, 8, 9}));
}

TEST(PromptLookup, DistinctContinuationsBecomeBranches) {
  const std::vector<int32_t> ctx = {1, 3, 4, 10, 11, 3, 4, 12, 13, 3, 4, 14, 50, 3, 4};
  auto d = make_prompt_lookup_drafter();
  d->begin(ctx);
  const DraftTree t = propose(*d, ctx, 32, 2);
  ASSERT_TRUE(well_formed(t));
  EXPECT_EQ(root_children(t), (std::vector<int32_t>{10, 12, 14}));
  EXPECT_GE(t.find_child(t.find_child(DraftTree::kRoot, 10), 11), 0);
  EXPECT_GE(t.find_child(t.find_child(DraftTree::kRoot, 12), 13), 0);
  EXPECT_GE(t.find_child(t.find_child(DraftTree::kRoot, 14), 50), 0);
  EXPECT_EQ(t.size(), 6);
}

TEST(PromptLookup, NoProposalWithoutAMatch) {
  std::vector<int32_t> distinct(40);
  std::iota(distinct.begin(), distinct.end(), 1);
  auto d = make_prompt_lookup_drafter();
  d->begin(distinct);
  EXPECT_TRUE(propose(*d, distinct, 16, 8).empty());
  const std::vector<int32_t> single = {1};
  d->begin(single);
  EXPECT_TRUE(propose(*d, single, 16, 8).empty());
  // Only a 1-gram repeats: a drafter that needs 2-grams has nothing to say.
  const std::vector<int32_t> ctx = {1, 5, 6, 7, 5};
  auto two = make_prompt_lookup_drafter({.max_ngram = 3, .min_ngram = 2, .max_matches = 8});
  two->begin(ctx);
  EXPECT_TRUE(propose(*two, ctx, 16, 8).empty());
  auto d1 = make_prompt_lookup_drafter();
  d1->begin(ctx);
  EXPECT_EQ(root_children(propose(*d1, ctx, 16, 8)), (std::vector<int32_t>{6}));
}

TEST(PromptLookup, BeginForgetsThePreviousRequest) {
  const std::vector<int32_t> a = {1, 5, 6, 7, 8, 5, 6, 7};
  auto d = make_prompt_lookup_drafter();
  d->begin(a);
  EXPECT_FALSE(propose(*d, a, 16, 8).empty());
  // A new request whose own tokens never repeat: nothing, although request a had 5 6 7 -> 8.
  const std::vector<int32_t> b = {1, 9, 10, 5, 6, 7};
  d->begin(b);
  EXPECT_TRUE(propose(*d, b, 16, 8).empty());
  // Tokens that arrive later are indexed (through observe or propose).
  std::vector<int32_t> grown = b;
  for (int32_t t : {11, 12, 5, 6, 7}) grown.push_back(t);
  d->observe({.context = grown, .added = 5});
  const DraftTree t = propose(*d, grown, 16, 8);
  ASSERT_FALSE(t.empty());
  EXPECT_EQ(t.token(0), 11);
}

// Property test: on random contexts over a small alphabet, every proposal respects the budget,
// is a well-formed tree, and every path is a continuation that followed an occurrence of the
// context's last token.
TEST(PromptLookup, BudgetsAndPathsOnRandomContexts) {
  std::mt19937 rng(1234);
  int proposals = 0;
  for (int trial = 0; trial < 200; ++trial) {
    PromptLookupOptions o;
    o.min_ngram = 1 + static_cast<int>(rng() % 2);
    o.max_ngram = o.min_ngram + static_cast<int>(rng() % 4);
    o.max_matches = 1 + static_cast<int>(rng() % 10);
    auto d = make_prompt_lookup_drafter(o);
    const int len = 2 + static_cast<int>(rng() % 150);
    const auto alphabet = 3 + rng() % 6;
    std::vector<int32_t> ctx(static_cast<size_t>(len));
    for (auto& t : ctx) t = static_cast<int32_t>(rng() % alphabet);
    // Half the time the drafter sees the context grow over several calls.
    const size_t start = rng() % 2 ? ctx.size() : ctx.size() / 2;
    d->begin(std::span<const int32_t>(ctx.data(), std::max<size_t>(start, 1)));
    const int max_nodes = 1 + static_cast<int>(rng() % 40);
    const int max_depth = 1 + static_cast<int>(rng() % 10);
    const DraftTree t = propose(*d, ctx, max_nodes, max_depth);
    ASSERT_TRUE(well_formed(t));
    ASSERT_LE(t.size(), max_nodes);
    ASSERT_LE(t.max_depth(), max_depth);
    if (!t.empty()) ++proposals;
    for (int i = 0; i < t.size(); ++i) {
      ASSERT_GE(t.confidence(i), 0.0f);
      ASSERT_LE(t.confidence(i), 1.0f);
      const auto p = path_to(t, i);
      bool found = false;
      for (size_t s = 1; s + p.size() <= ctx.size() && !found; ++s)
        found = ctx[s - 1] == ctx.back() && std::equal(p.begin(), p.end(), ctx.begin() + static_cast<long>(s));
      ASSERT_TRUE(found) << "trial " << trial << ": node " << i << " is no continuation of the context";
    }
  }
  EXPECT_GT(proposals, 150);
}

TEST(PromptLookup, BadOptionsAreInputErrors) {
  EXPECT_THROW(make_prompt_lookup_drafter({.max_ngram = 3, .min_ngram = 0, .max_matches = 8}), InputError);
  EXPECT_THROW(make_prompt_lookup_drafter({.max_ngram = 2, .min_ngram = 3, .max_matches = 8}), InputError);
  EXPECT_THROW(make_prompt_lookup_drafter({.max_ngram = 9, .min_ngram = 1, .max_matches = 8}), InputError);
  EXPECT_THROW(make_prompt_lookup_drafter({.max_ngram = 3, .min_ngram = 1, .max_matches = 0}), InputError);
}

}  // namespace
}  // namespace aded
