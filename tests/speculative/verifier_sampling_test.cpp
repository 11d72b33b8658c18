// The verifier's sampling rules with stochastic drafts (DraftTree::set_draft_distribution), tested
// statistically (../shared/docs/VERIFY.md "Tests for the sampling rules"): whatever the drafts, every emitted
// token is an exact sample of the target p. On a tiny random model with top-k = 5 the target at
// the root has 5 tokens; the test computes the exact p with Sampler::distribution on the same
// logits, runs the real TreeVerifier once per seed (seeds 0 .. N-1: deterministic), and compares
// the empirical distribution of the first emitted token, and of the second given the first, with
// p by a chi-square test. Chains of one and several drafts, trees with several candidates (with and
// without replacement, with duplicates), drafts that always fail and always succeed, greedy with q.
// A documented wrong rule fed the same draws must fail the same test (the test has power).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <random>

#include "aded/context.h"
#include "aded/sampler.h"
#include "aded/tree_verifier.h"
#include "speculative/chi_square.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::add_chi_square;
using spec_testing::chi_square_p_value;
using spec_testing::ChiSquare;
using spec_testing::kAlpha;
using spec_testing::random_prompt;
using spec_testing::tiny_model;
using Dist = std::vector<TokenProb>;

// ------------------------------------------------------------------------------ statistics

// ------------------------------------------------------------------------------ set-up

uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The drafter's own randomness: independent of the verifier's position-keyed stream.
struct DraftRng {
  uint64_t state;
  double uniform() {
    state = mix(state);
    return static_cast<double>(state >> 11) * 0x1.0p-53;
  }
  int32_t draw(const Dist& q) { return Sampler::draw(q, uniform()); }
  // A draw from q without the tokens in `exclude` (renormalized).
  int32_t draw_excluding(const Dist& q, const std::vector<int32_t>& exclude) {
    Dist r;
    for (const auto& t : q)
      if (std::find(exclude.begin(), exclude.end(), t.id) == exclude.end()) r.push_back(t);
    return r.empty() ? -1 : Sampler::draw(r, uniform());
  }
};

Dist normalized(std::vector<std::pair<int32_t, double>> w) {
  double total = 0;
  for (const auto& [t, x] : w) total += x;
  Dist d;
  for (const auto& [t, x] : w) d.push_back({t, static_cast<float>(x / total)});
  return d;
}

double prob(const Dist& d, int32_t token) {
  for (const auto& t : d)
    if (t.id == token) return t.p;
  return 0;
}

// The target model, a prefix, and the exact target distributions the verifier must reproduce.
class VerifierSampling : public ::testing::Test {
 protected:
  static constexpr int kTrials = 20000;

  void prepare(SamplingParams params) {
    params_ = params;
    model_ = tiny_model();
    vocab_ = model_->config().n_vocab;
    history_ = random_prompt(12, vocab_, 1234);
    history_.push_back(history_[3]);  // the root repeats a token: the repetition penalty matters
    ctx_ = std::make_unique<Context>(model_, ContextOptions{.n_ctx = 64, .n_threads = 1});
    // Exact p at the root and, for every possible first token, at the next position.
    Context ref(model_, {.n_ctx = 64, .n_threads = 1});
    const Sampler sampler(params);
    ref.forward(Batch::sequence(history_, 0, true));
    sampler.distribution(ref.logits(static_cast<int>(history_.size()) - 1), history_, p1_);
    p2_.clear();
    for (const auto& t : p1_) {
      std::vector<int32_t> h = history_;
      h.push_back(t.id);
      ref.truncate(0);
      ref.forward(Batch::sequence(h, 0, true));
      sampler.distribution(ref.logits(static_cast<int>(h.size()) - 1), h, p2_[t.id]);
    }
    // Tokens outside the root's support (to build drafts that must fail).
    outside_.clear();
    for (int32_t t = 3; static_cast<int>(outside_.size()) < 3; ++t)
      if (prob(p1_, t) == 0) outside_.push_back(t);
  }

  // The prefix (all of history but the root) in the cache, as a session has it before a step.
  void reset_cache() {
    ctx_->truncate(0);
    ctx_->forward(Batch::sequence(std::span<const int32_t>(history_.data(), history_.size() - 1), 0, false));
    std::vector<int32_t> all(history_.size() - 1);
    std::iota(all.begin(), all.end(), 0);
    ctx_->commit(all);
    cached_ = ctx_->n_past();
  }

  // One trial: a tree drafted by `build` (given the drafter's rng and the state's last token and p
  // when known), verified with seed `seed`; returns the first two tokens of the output. When the
  // first step emits a single token, a second step (with its own draft) produces the second, like
  // a decoding session.
  using Builder = std::function<void(DraftRng&, int32_t last, DraftTree&)>;
  struct Outcome {
    int32_t x1, x2;
    std::vector<int> accepted_depths;  // depths of the accepted nodes of the first step
    int first_step_tokens;
  };
  Outcome trial(uint64_t seed, const Builder& build) {
    if (ctx_->n_past() != cached_) {
      ctx_->truncate(cached_);
    }
    SamplingParams p = params_;
    p.seed = seed;
    const Sampler sampler(p);
    TreeVerifier verifier(*ctx_, sampler);
    DraftRng rng{mix(seed ^ 0xD1B54A32D192ED03ull)};
    DraftTree tree;
    build(rng, history_.back(), tree);
    const VerifyResult r = verifier.verify(tree, history_);
    Outcome o{r.emitted[0], -1, {}, static_cast<int>(r.emitted.size())};
    for (int n : r.accepted_nodes) o.accepted_depths.push_back(tree.depth(n));
    if (r.emitted.size() >= 2) {
      o.x2 = r.emitted[1];
    } else {
      std::vector<int32_t> h = history_;
      h.push_back(o.x1);
      DraftTree second;
      build(rng, o.x1, second);
      o.x2 = verifier.verify(second, h).emitted[0];
    }
    return o;
  }

  struct Result {
    ChiSquare first, second;
    int64_t impossible = 0;
    std::vector<int64_t> accepted_at_depth = std::vector<int64_t>(8, 0);
    int64_t trials = 0;
  };
  Result run(const Builder& build, int trials = kTrials) {
    reset_cache();
    std::map<int32_t, int64_t> c1;
    std::map<int32_t, std::map<int32_t, int64_t>> c2;
    Result res;
    for (int s = 0; s < trials; ++s) {
      const Outcome o = trial(static_cast<uint64_t>(s), build);
      ++c1[o.x1];
      ++c2[o.x1][o.x2];
      for (int d : o.accepted_depths) ++res.accepted_at_depth[static_cast<size_t>(std::min(d, 7))];
    }
    res.trials = trials;
    add_chi_square(c1, trials, p1_, res.first, res.impossible);
    for (const auto& [x1, counts] : c2) {
      int64_t n = 0;
      for (const auto& [t, c] : counts) n += c;
      const auto it = p2_.find(x1);
      if (it == p2_.end()) {
        res.impossible += n;  // x1 itself was impossible (counted above too)
        continue;
      }
      add_chi_square(counts, n, it->second, res.second, res.impossible);
    }
    return res;
  }

  static void expect_exact(const Result& r, const std::string& what) {
    RecordProperty("first_token", "chi2 " + std::to_string(r.first.chi2) + " df " + std::to_string(r.first.df));
    RecordProperty("second_token", "chi2 " + std::to_string(r.second.chi2) + " df " + std::to_string(r.second.df));
    RecordProperty("accepted_depth1", std::to_string(r.accepted_at_depth[1]));
    RecordProperty("accepted_depth2", std::to_string(r.accepted_at_depth[2]));
    EXPECT_EQ(r.impossible, 0) << what << ": tokens outside the target's support were emitted";
    EXPECT_GE(r.first.df, 2) << what;
    EXPECT_GE(r.second.df, 4) << what;
    EXPECT_GT(r.first.p_value(), kAlpha) << what << ": first token, chi2 " << r.first.chi2 << " df " << r.first.df;
    EXPECT_GT(r.second.p_value(), kAlpha) << what << ": second token | first, chi2 " << r.second.chi2 << " df "
                                          << r.second.df;
  }

  // Draft distributions. At the root: a q unlike p, with mass outside p's support.
  Dist q_root() const {
    return normalized({{p1_[0].id, 0.1}, {p1_[1].id, 0.4}, {p1_[2].id, 0.05}, {outside_[0], 0.3}, {p1_.back().id, 0.15}});
  }
  // Below a node with token x: half the target at that state (when known), half uniform over a few
  // tokens of which one is outside every support we know.
  Dist q_child(int32_t x) const {
    std::vector<std::pair<int32_t, double>> w;
    const auto it = p2_.find(x);
    if (it != p2_.end()) {
      for (const auto& t : it->second) w.emplace_back(t.id, 0.5 * t.p + 0.1);
    } else {
      for (const auto& t : p1_) w.emplace_back(t.id, 0.1);
    }
    w.emplace_back(outside_[1], 0.1);
    return normalized(w);
  }
  Dist q_for(int32_t last) const { return last == history_.back() ? q_root() : q_child(last); }

  // A chain: each draft sampled from q of its parent's state.
  Builder chain(int depth) const {
    return [this, depth](DraftRng& rng, int32_t last, DraftTree& t) {
      int32_t parent = DraftTree::kRoot;
      int32_t prev = last;
      for (int d = 0; d < depth; ++d) {
        const Dist q = q_for(prev);
        const int32_t x = rng.draw(q);
        parent = t.add(parent, x, 0.5f, /*allow_duplicate=*/true);
        t.set_draft_distribution(parent, q);
        prev = x;
      }
    };
  }
  // k candidates at the first level (i.i.d., duplicates kept as separate nodes; or without
  // replacement), each with a chain of `below` drafts.
  Builder tree(int k, bool without_replacement, int below) const {
    return [this, k, without_replacement, below](DraftRng& rng, int32_t last, DraftTree& t) {
      t.set_sampled_without_replacement(without_replacement);
      const Dist q = q_for(last);
      std::vector<int32_t> tried;
      for (int i = 0; i < k; ++i) {
        const int32_t x = without_replacement ? rng.draw_excluding(q, tried) : rng.draw(q);
        if (x < 0) break;
        tried.push_back(x);
        int32_t node = t.add(DraftTree::kRoot, x, 0.5f, /*allow_duplicate=*/true);
        t.set_draft_distribution(node, q);
        int32_t prev = x;
        for (int d = 0; d < below; ++d) {
          const Dist qc = q_child(prev);
          const int32_t y = rng.draw(qc);
          node = t.add(node, y, 0.5f, /*allow_duplicate=*/true);
          t.set_draft_distribution(node, qc);
          prev = y;
        }
      }
    };
  }

  static SamplingParams top5(float temperature = 1.0f) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = 5;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repeat_penalty = 1.0f;
    return p;
  }

  SamplingParams params_;
  std::shared_ptr<const Model> model_;
  int vocab_ = 0;
  std::vector<int32_t> history_;
  std::unique_ptr<Context> ctx_;
  int32_t cached_ = 0;
  Dist p1_;
  std::map<int32_t, Dist> p2_;
  std::vector<int32_t> outside_;
};

TEST_F(VerifierSampling, TargetIsSpreadEnoughForTheTest) {
  prepare(top5());
  ASSERT_EQ(p1_.size(), 5u);
  for (const auto& t : p1_) EXPECT_GT(t.p, 0.05f) << "every cell needs a large expected count";
  for (const auto& [x, p] : p2_) EXPECT_EQ(p.size(), 5u);
}

TEST_F(VerifierSampling, ChainOfOneDraft) {
  prepare(top5());
  const Result r = run(chain(1));
  expect_exact(r, "chain of 1");
  // The acceptance probability is sum_x min(p(x), q(x)) exactly (Leviathan et al.).
  double expected = 0;
  for (const auto& t : q_root()) expected += std::min<double>(t.p, prob(p1_, t.id));
  const double rate = static_cast<double>(r.accepted_at_depth[1]) / static_cast<double>(r.trials);
  const double sigma = std::sqrt(expected * (1 - expected) / static_cast<double>(r.trials));
  EXPECT_NEAR(rate, expected, 5 * sigma);
}

TEST_F(VerifierSampling, ChainOfSeveralDrafts) {
  prepare(top5());
  const Result r = run(chain(4));
  expect_exact(r, "chain of 4");
  EXPECT_GT(r.accepted_at_depth[2], 1000) << "second-level drafts must be accepted often";
}

TEST_F(VerifierSampling, ChainWithRepetitionPenaltyAndTemperature) {
  SamplingParams p = top5(0.7f);
  p.repeat_penalty = 1.8f;
  p.repeat_last_n = 6;
  prepare(p);
  const Result r = run(chain(3));
  expect_exact(r, "chain with penalty");
}

TEST_F(VerifierSampling, TopPAndMinPFilters) {
  SamplingParams p;
  p.temperature = 0.6f;
  p.top_k = 12;
  p.top_p = 0.8f;
  p.min_p = 0.1f;
  prepare(p);
  ASSERT_GE(p1_.size(), 3u);
  const Result r = run(chain(2));
  expect_exact(r, "top-p/min-p");
}

TEST_F(VerifierSampling, SeveralCandidatesWithReplacementAndDuplicates) {
  prepare(top5());
  // Four i.i.d. candidates from q: duplicates are frequent (q(s1) = 0.4) and stay separate nodes.
  int with_duplicates = 0;
  {
    DraftRng rng{5};
    for (int i = 0; i < 200; ++i) {
      DraftTree t;
      tree(4, false, 1)(rng, history_.back(), t);
      std::vector<int> kids;
      t.children(DraftTree::kRoot, kids);
      std::set<int32_t> distinct;
      for (int k : kids) distinct.insert(t.token(k));
      with_duplicates += distinct.size() < kids.size();
    }
  }
  EXPECT_GT(with_duplicates, 100);
  const Result r = run(tree(4, false, 1));
  expect_exact(r, "4 candidates with replacement");
  EXPECT_GT(r.accepted_at_depth[1], r.trials / 2);
}

TEST_F(VerifierSampling, SeveralCandidatesWithoutReplacement) {
  prepare(top5());
  const Result r = run(tree(3, true, 1));
  expect_exact(r, "3 candidates without replacement");
  EXPECT_GT(r.accepted_at_depth[1], r.trials / 2);
  EXPECT_GT(r.accepted_at_depth[2], 0);
}

TEST_F(VerifierSampling, DraftsThatAlwaysFail) {
  prepare(top5());
  // q only has tokens p cannot produce: every draft is rejected and the residual is p itself.
  const Dist disjoint = normalized({{outside_[0], 0.5}, {outside_[1], 0.3}, {outside_[2], 0.2}});
  const Builder build = [&](DraftRng& rng, int32_t, DraftTree& t) {
    for (int i = 0; i < 2; ++i) {
      const int n = t.add(DraftTree::kRoot, rng.draw(disjoint), 0.5f, true);
      t.set_draft_distribution(n, disjoint);
    }
  };
  const Result r = run(build);
  expect_exact(r, "always fail");
  EXPECT_EQ(r.accepted_at_depth[1], 0);
}

TEST_F(VerifierSampling, DraftsThatAlwaysSucceed) {
  prepare(top5());
  // q = p at every node: every draft is accepted (u * q < p with q == p), and the bonus follows.
  const Builder build = [&](DraftRng& rng, int32_t last, DraftTree& t) {
    const Dist& q1 = last == history_.back() ? p1_ : p2_.at(last);
    const int32_t x = rng.draw(q1);
    const int a = t.add(DraftTree::kRoot, x, 0.5f);
    t.set_draft_distribution(a, q1);
    if (last == history_.back()) {
      const Dist& q2 = p2_.at(x);
      const int b = t.add(a, rng.draw(q2), 0.5f);
      t.set_draft_distribution(b, q2);
    }
  };
  const Result r = run(build);
  expect_exact(r, "always succeed");
  EXPECT_EQ(r.accepted_at_depth[1], r.trials);
  EXPECT_EQ(r.accepted_at_depth[2], r.trials);
}

TEST_F(VerifierSampling, GreedyWithDraftDistributions) {
  SamplingParams greedy = top5();
  greedy.temperature = 0;
  prepare(greedy);
  ASSERT_EQ(p1_.size(), 1u);
  // The greedy path from the root, with plain decoding.
  SamplingParams t1 = top5();
  Context ref(model_, {.n_ctx = 64, .n_threads = 1});
  ref.forward(Batch::sequence(history_, 0, true));
  const auto l1 = ref.logits(static_cast<int>(history_.size()) - 1);
  const int32_t g1 = static_cast<int32_t>(std::max_element(l1.begin(), l1.end()) - l1.begin());
  ASSERT_EQ(g1, p1_[0].id);
  const int32_t g2 = p2_.at(g1)[0].id;
  // Stochastic drafts from a q (over the top-5 of T = 1) that sometimes contains the argmax.
  Dist q;
  {
    std::vector<TokenProb> top;
    Sampler(t1).distribution(l1, history_, top);
    std::vector<std::pair<int32_t, double>> w;
    for (const auto& t : top) w.emplace_back(t.id, 1.0);
    w.emplace_back(outside_[0], 2.0);
    q = normalized(w);
  }
  const Builder build = [&](DraftRng& rng, int32_t, DraftTree& t) {
    t.set_sampled_without_replacement(true);
    std::vector<int32_t> tried;
    for (int i = 0; i < 2; ++i) {
      const int32_t x = rng.draw_excluding(q, tried);
      tried.push_back(x);
      const int n = t.add(DraftTree::kRoot, x, 0.5f);
      t.set_draft_distribution(n, q);
      const int c = t.add(n, rng.draw(q), 0.5f);
      t.set_draft_distribution(c, q);
    }
  };
  reset_cache();
  int accepted = 0, rejected = 0;
  for (int s = 0; s < 2000; ++s) {
    const Outcome o = trial(static_cast<uint64_t>(s), build);
    ASSERT_EQ(o.x1, g1) << "seed " << s;
    ASSERT_EQ(o.x2, g2) << "seed " << s;
    (o.accepted_depths.empty() ? rejected : accepted) += 1;
  }
  EXPECT_GT(accepted, 100);
  EXPECT_GT(rejected, 100);
}

// ------------------------------------------------------------------------------ power

// Negative control through the real verifier: a drafter that samples its drafts from one
// distribution but declares another breaks the premise of the rule, so the output is no longer p;
// the same chi-square test must see it.
TEST_F(VerifierSampling, MisdeclaredDraftDistributionIsDetected) {
  prepare(top5());
  const Dist declared = q_root();
  const Dist actual = normalized({{p1_.back().id, 0.7}, {p1_[0].id, 0.3}});
  const Builder build = [&](DraftRng& rng, int32_t, DraftTree& t) {
    const int n = t.add(DraftTree::kRoot, rng.draw(actual), 0.5f);
    t.set_draft_distribution(n, declared);
  };
  const Result r = run(build, kTrials / 2);
  EXPECT_EQ(r.impossible, 0);
  EXPECT_LT(r.first.p_value(), kAlpha) << "chi2 " << r.first.chi2 << " df " << r.first.df;
}

// Wrong rules, fed the same p, q and random numbers as the verifier, must fail the same test.
// (1) "accept the draft if it is the argmax of p, else sample p": the lossy shortcut some engines
//     take at T > 0. (2) The right acceptance test min(1, p/q) but a fresh sample of p after a
//     rejection instead of the residual norm(max(0, p - q)).
enum class WrongRule { AcceptIfArgmax, ResampleTargetOnReject };

int32_t wrong_walk(WrongRule rule, const Dist& p, const Dist& q, int32_t draft, uint64_t seed, int64_t position) {
  const double u_accept = position_uniform(seed, position, 1);
  const double u_sample = position_uniform(seed, position, 0);
  switch (rule) {
    case WrongRule::AcceptIfArgmax:
      return draft == p.front().id ? draft : Sampler::draw(p, u_sample);
    case WrongRule::ResampleTargetOnReject: {
      const double qx = prob(q, draft), px = prob(p, draft);
      return u_accept * qx < px ? draft : Sampler::draw(p, u_sample);
    }
  }
  return -1;
}

TEST_F(VerifierSampling, WrongRulesFailTheSameTest) {
  prepare(top5());
  const Dist q = q_root();
  for (WrongRule rule : {WrongRule::AcceptIfArgmax, WrongRule::ResampleTargetOnReject}) {
    std::map<int32_t, int64_t> counts;
    for (int s = 0; s < kTrials; ++s) {
      DraftRng rng{mix(static_cast<uint64_t>(s) ^ 0xD1B54A32D192ED03ull)};
      const int32_t draft = rng.draw(q);
      ++counts[wrong_walk(rule, p1_, q, draft, static_cast<uint64_t>(s), static_cast<int64_t>(history_.size()))];
    }
    ChiSquare c;
    int64_t impossible = 0;
    add_chi_square(counts, kTrials, p1_, c, impossible);
    EXPECT_EQ(impossible, 0);
    EXPECT_LT(c.p_value(), kAlpha) << "wrong rule " << static_cast<int>(rule) << " passed: chi2 " << c.chi2 << " df " << c.df;
  }
  // And the statistics themselves: a correct sampler of p passes, a slightly biased one does not.
  std::map<int32_t, int64_t> exact, biased;
  for (int s = 0; s < kTrials; ++s) {
    const double u = position_uniform(static_cast<uint64_t>(s), 77);
    ++exact[Sampler::draw(p1_, u)];
    ++biased[Sampler::draw(p1_, u * 0.97)];  // 3% of the top token's tail mass moves up
  }
  ChiSquare ce, cb;
  int64_t impossible = 0;
  add_chi_square(exact, kTrials, p1_, ce, impossible);
  add_chi_square(biased, kTrials, p1_, cb, impossible);
  EXPECT_GT(ce.p_value(), kAlpha);
  EXPECT_LT(cb.p_value(), kAlpha);
}

TEST(VerifierSamplingStatistics, ChiSquareTailMatchesKnownQuantiles) {
  // Upper 1e-4 quantiles of chi-square (standard tables).
  EXPECT_NEAR(chi_square_p_value(15.137, 1), 1e-4, 2e-6);
  EXPECT_NEAR(chi_square_p_value(23.513, 4), 1e-4, 2e-6);
  EXPECT_NEAR(chi_square_p_value(31.828, 8), 1e-4, 2e-6);
  EXPECT_NEAR(chi_square_p_value(52.386, 20), 1e-4, 2e-6);
  EXPECT_NEAR(chi_square_p_value(4.0, 4), 0.40601, 1e-5);   // exp(-2) * (1 + 2)
  EXPECT_NEAR(chi_square_p_value(2.0, 2), std::exp(-1.0), 1e-12);
}

}  // namespace
}  // namespace aded
