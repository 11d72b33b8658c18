// DraftTree (parents-first storage, dedupe, truncation, confidence order) and the tree attention
// mask the verifier builds from it.
#include <gtest/gtest.h>

#include <random>

#include "aded/context.h"
#include "aded/draft_tree.h"
#include "aded/error.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::well_formed;

TEST(DraftTree, AddDeduplicatesSiblingsAndTracksDepth) {
  DraftTree t;
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.max_depth(), 0);
  const int a = t.add(DraftTree::kRoot, 10, 0.9f);
  const int b = t.add(DraftTree::kRoot, 11, 0.5f);
  const int a2 = t.add(DraftTree::kRoot, 10, 0.1f);  // same token under the root: the same node
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(a2, a);
  EXPECT_FLOAT_EQ(t.confidence(a), 0.9f) << "a dedupe must not overwrite the confidence";
  const int c = t.add(a, 10, 0.8f);  // the same token under another parent is a new node
  const int d = t.add(c, 12, 0.7f);
  EXPECT_EQ(c, 2);
  EXPECT_EQ(d, 3);
  EXPECT_EQ(t.size(), 4);
  EXPECT_EQ(t.depth(a), 1);
  EXPECT_EQ(t.depth(b), 1);
  EXPECT_EQ(t.depth(c), 2);
  EXPECT_EQ(t.depth(d), 3);
  EXPECT_EQ(t.max_depth(), 3);
  EXPECT_EQ(t.parent(d), c);
  EXPECT_EQ(t.find_child(DraftTree::kRoot, 11), b);
  EXPECT_EQ(t.find_child(a, 10), c);
  EXPECT_EQ(t.find_child(b, 10), -1);
  std::vector<int> kids;
  t.children(DraftTree::kRoot, kids);
  EXPECT_EQ(kids, (std::vector<int>{a, b}));
  t.children(d, kids);
  EXPECT_TRUE(kids.empty());
  EXPECT_TRUE(well_formed(t));
  EXPECT_FALSE(t.has_draft_distributions());
}

TEST(DraftTree, DuplicatesOnlyWhenAskedAndConfidenceIsClamped) {
  DraftTree t;
  const int a = t.add(DraftTree::kRoot, 7, 2.0f);
  const int b = t.add(DraftTree::kRoot, 7, -1.0f, /*allow_duplicate=*/true);
  EXPECT_NE(a, b);
  EXPECT_EQ(t.size(), 2);
  EXPECT_EQ(t.token(b), 7);
  EXPECT_FLOAT_EQ(t.confidence(a), 1.0f);
  EXPECT_FLOAT_EQ(t.confidence(b), 0.0f);
  std::vector<int> kids;
  t.children(DraftTree::kRoot, kids);
  EXPECT_EQ(kids.size(), 2u);
}

TEST(DraftTree, BadParentIsAnError) {
  DraftTree t;
  EXPECT_THROW(t.add(0, 5, 0.5f), Error);  // no node 0 yet
  t.add(DraftTree::kRoot, 5, 0.5f);
  EXPECT_THROW(t.add(1, 5, 0.5f), Error);
  EXPECT_THROW(t.add(-2, 5, 0.5f), Error);
  EXPECT_EQ(t.size(), 1);
}

TEST(DraftTree, TruncateKeepsAValidPrefix) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    DraftTree t;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      const int32_t parent = t.empty() || rng() % 4 == 0 ? DraftTree::kRoot : static_cast<int32_t>(rng() % static_cast<uint32_t>(t.size()));
      t.add(parent, static_cast<int32_t>(rng() % 20), 0.5f);
    }
    const int size = t.size();
    const std::vector<int32_t> tokens(t.tokens().begin(), t.tokens().end());
    const std::vector<int32_t> parents(t.parents().begin(), t.parents().end());
    const int keep = static_cast<int>(rng() % static_cast<uint32_t>(size + 1));
    t.truncate(keep);
    ASSERT_EQ(t.size(), keep);
    ASSERT_TRUE(well_formed(t));
    for (int i = 0; i < keep; ++i) {
      EXPECT_EQ(t.token(i), tokens[static_cast<size_t>(i)]);
      EXPECT_EQ(t.parent(i), parents[static_cast<size_t>(i)]);
    }
  }
  DraftTree t;
  t.add(DraftTree::kRoot, 1, 0.5f);
  t.add(0, 2, 0.5f);
  t.truncate(5);  // larger than the tree: nothing happens
  EXPECT_EQ(t.size(), 2);
  t.truncate(-1);
  EXPECT_EQ(t.size(), 2);
  t.truncate(0);
  EXPECT_TRUE(t.empty());
}

TEST(DraftTree, DraftDistributionsFollowTruncateAndClear) {
  DraftTree t;
  t.add(DraftTree::kRoot, 4, 0.5f);
  t.set_draft_distribution(0, {{4, 0.75f}, {5, 0.25f}});
  t.add(0, 6, 0.4f);  // added after: gets an empty distribution slot
  t.set_sampled_without_replacement(true);
  ASSERT_TRUE(t.has_draft_distributions());
  EXPECT_EQ(t.draft_distribution(0).size(), 2u);
  EXPECT_TRUE(t.draft_distribution(1).empty());
  t.truncate(1);
  EXPECT_EQ(t.size(), 1);
  EXPECT_EQ(t.draft_distribution(0)[1].id, 5);
  EXPECT_TRUE(t.sampled_without_replacement());
  t.clear();
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(t.has_draft_distributions());
  EXPECT_FALSE(t.sampled_without_replacement());
}

TEST(DraftTree, SortByConfidenceKeepsParentsFirst) {
  DraftTree t;
  const int a = t.add(DraftTree::kRoot, 1, 0.3f);
  const int b = t.add(DraftTree::kRoot, 2, 0.9f);
  const int c = t.add(a, 3, 0.95f);  // more confident than its parent: must still follow it
  const int d = t.add(b, 4, 0.5f);
  const int e = t.add(b, 5, 0.5f);  // equal to d: the original order stays (stable)
  t.set_draft_distribution(c, {{3, 1.0f}});
  (void)d;
  (void)e;
  t.sort_by_confidence();
  ASSERT_EQ(t.size(), 5);
  ASSERT_TRUE(well_formed(t));
  // Expected order: b(0.9), d(0.5), e(0.5), a(0.3), c(0.95, placed once a is).
  EXPECT_EQ(std::vector<int32_t>(t.tokens().begin(), t.tokens().end()), (std::vector<int32_t>{2, 4, 5, 1, 3}));
  EXPECT_EQ(t.parent(1), 0);
  EXPECT_EQ(t.parent(2), 0);
  EXPECT_EQ(t.parent(3), DraftTree::kRoot);
  EXPECT_EQ(t.parent(4), 3);
  EXPECT_EQ(t.depth(4), 2);
  EXPECT_FLOAT_EQ(t.confidence(4), 0.95f);
  // The draft distribution moved with its node.
  ASSERT_TRUE(t.has_draft_distributions());
  ASSERT_EQ(t.draft_distribution(4).size(), 1u);
  EXPECT_EQ(t.draft_distribution(4)[0].id, 3);
  EXPECT_TRUE(t.draft_distribution(0).empty());
}

TEST(DraftTree, SortByConfidenceOnRandomTreesPreservesPaths) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 100; ++trial) {
    DraftTree t;
    const int n = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      const int32_t parent = t.empty() || rng() % 3 == 0 ? DraftTree::kRoot : static_cast<int32_t>(rng() % static_cast<uint32_t>(t.size()));
      t.add(parent, static_cast<int32_t>(rng() % 50), static_cast<float>(rng() % 10) / 10.0f);
    }
    // The set of root-to-node token paths must not change.
    auto paths = [](const DraftTree& tree) {
      std::multiset<std::vector<int32_t>> out;
      for (int i = 0; i < tree.size(); ++i) {
        std::vector<int32_t> p;
        for (int32_t j = i; j != DraftTree::kRoot; j = tree.parent(j)) p.push_back(tree.token(j));
        out.insert(p);
      }
      return out;
    };
    const auto before = paths(t);
    t.sort_by_confidence();
    ASSERT_TRUE(well_formed(t));
    EXPECT_EQ(paths(t), before);
    // Each step places the most confident node whose parent is placed, so a node more confident
    // than its predecessor can only have been waiting for that predecessor: its parent.
    for (int i = 1; i < t.size(); ++i) {
      if (t.confidence(i) > t.confidence(i - 1)) {
        EXPECT_EQ(t.parent(i), i - 1) << "node " << i;
      }
    }
  }
}

TEST(DraftTreeMask, TreeMaskListsAncestorsRootFirst) {
  // Batch: 0 = the last emitted token, 1,2 its children, 3 child of 1, 4 child of 3.
  const std::vector<int32_t> parents = {-1, 0, 0, 1, 3};
  const AttentionMask m = AttentionMask::tree(10, parents);
  EXPECT_EQ(m.prefix, 10);
  ASSERT_EQ(m.queries(), 5);
  auto cells = [&](int q) {
    return std::vector<int32_t>(m.cells.begin() + m.offsets[static_cast<size_t>(q)],
                                m.cells.begin() + m.offsets[static_cast<size_t>(q) + 1]);
  };
  EXPECT_EQ(cells(0), (std::vector<int32_t>{10}));
  EXPECT_EQ(cells(1), (std::vector<int32_t>{10, 11}));
  EXPECT_EQ(cells(2), (std::vector<int32_t>{10, 12}));
  EXPECT_EQ(cells(3), (std::vector<int32_t>{10, 11, 13}));
  EXPECT_EQ(cells(4), (std::vector<int32_t>{10, 11, 13, 14}));
  // A chain is the causal mask.
  const std::vector<int32_t> chain = {-1, 0, 1, 2};
  const AttentionMask t = AttentionMask::tree(3, chain);
  const AttentionMask c = AttentionMask::causal(3, 4);
  EXPECT_EQ(t.prefix, c.prefix);
  EXPECT_EQ(t.offsets, c.offsets);
  EXPECT_EQ(t.cells, c.cells);
}

TEST(DraftTreeMask, ParentsMustComeFirst) {
  const std::vector<int32_t> self = {-1, 1};
  EXPECT_THROW(AttentionMask::tree(0, self), Error);
  const std::vector<int32_t> later = {-1, 2, 0};
  EXPECT_THROW(AttentionMask::tree(0, later), Error);
  const std::vector<int32_t> negative = {-1, -3};
  EXPECT_THROW(AttentionMask::tree(0, negative), Error);
  const AttentionMask empty = AttentionMask::tree(5, std::span<const int32_t>());
  EXPECT_EQ(empty.queries(), 0);
}

}  // namespace
}  // namespace aded
