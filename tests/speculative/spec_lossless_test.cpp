// Lossless speculative decoding, end to end on random-weight models (../shared/docs/VERIFY.md): greedy output
// is identical token for token with no drafter, prompt lookup and every ADED variant (table or
// none, MCTS or best-first, adaptation on or off, shared overlay), for tiny and huge budgets, fixed
// and adaptive; sampled output (temperature, top-k, top-p, min-p, repetition penalty) with a fixed
// seed is identical to plain sampling because the random stream is keyed by position.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "aded/aded_drafter.h"
#include "aded/decoding.h"
#include "aded/drafter.h"
#include "aded/sampler.h"
#include "aded/trigram_table.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::Speculation;
using spec_testing::accepted_drafts;
using spec_testing::first_difference;
using spec_testing::generate;
using spec_testing::greedy_params;
using spec_testing::random_prompt;
using spec_testing::repeating_prompt;
using spec_testing::Decoded;
using spec_testing::NoisyOracleDrafter;
using spec_testing::tiny_model;

struct Budget {
  int max_nodes, max_depth;
  bool adaptive;
};
const Budget kBudgets[] = {{1, 1, false}, {1, 1, true}, {8, 4, false}, {8, 4, true}, {64, 16, false}, {96, 24, true}};

std::string describe(const Budget& b) {
  return "budget " + std::to_string(b.max_nodes) + "x" + std::to_string(b.max_depth) + (b.adaptive ? " adaptive" : " fixed");
}

// Checks the statistics a session reports against the tokens it produced.
void check_stats(const Decoded& r, const Budget& b, const std::string& what) {
  const DecodingStats& s = r.stats;
  EXPECT_EQ(s.generated, 1 + s.steps + accepted_drafts(s)) << what;
  EXPECT_LE(s.nodes_verified, static_cast<int64_t>(s.steps) * b.max_nodes) << what;
  for (size_t d = static_cast<size_t>(b.max_depth) + 1; d < s.verified_at_depth.size(); ++d)
    EXPECT_EQ(s.verified_at_depth[d], 0) << what << ": a node deeper than max_depth " << b.max_depth;
  for (size_t d = 0; d < s.accepted_at_depth.size(); ++d) EXPECT_LE(s.accepted_at_depth[d], s.verified_at_depth[d]) << what;
}

// ------------------------------------------------------------------------------ greedy

struct DrafterCase {
  std::string name;
  // Builds the drafter for one test; table: the tiny model's tri-gram table; shared: an overlay
  // that lives for the whole test (every prompt and budget).
  std::function<std::unique_ptr<Drafter>(std::shared_ptr<const TrigramTable>, std::shared_ptr<TrigramOverlay>)> make;
  bool oracle = false;
};

void PrintTo(const DrafterCase& c, std::ostream* os) { *os << c.name; }

AdedOptions aded(AdedSearch search, bool adapt, bool overlay = false, int context_order = 8) {
  AdedOptions o;
  o.search = search;
  o.adapt = adapt;
  o.overlay = overlay;
  o.context_order = context_order;
  return o;
}

std::vector<DrafterCase> drafter_cases() {
  using T = std::shared_ptr<const TrigramTable>;
  using S = std::shared_ptr<TrigramOverlay>;
  return {
      {"none", [](T, S) { return std::unique_ptr<Drafter>(); }},
      {"pld", [](T, S) { return make_prompt_lookup_drafter(); }},
      {"pld_long", [](T, S) { return make_prompt_lookup_drafter({.max_ngram = 6, .min_ngram = 2, .max_matches = 16}); }},
      {"aded_mcts_table", [](T t, S) { return make_aded_drafter(t, aded(AdedSearch::Mcts, true)); }},
      {"aded_mcts_notable", [](T, S) { return make_aded_drafter(nullptr, aded(AdedSearch::Mcts, true)); }},
      {"aded_mcts_table_noadapt", [](T t, S) { return make_aded_drafter(t, aded(AdedSearch::Mcts, false)); }},
      {"aded_bestfirst_table", [](T t, S) { return make_aded_drafter(t, aded(AdedSearch::BestFirst, true)); }},
      {"aded_bestfirst_notable", [](T, S) { return make_aded_drafter(nullptr, aded(AdedSearch::BestFirst, true)); }},
      {"aded_bestfirst_table_noadapt", [](T t, S) { return make_aded_drafter(t, aded(AdedSearch::BestFirst, false)); }},
      {"aded_mcts_shared", [](T t, S s) { return make_aded_drafter(t, aded(AdedSearch::Mcts, true, true), s); }},
      {"aded_bestfirst_shared", [](T, S s) { return make_aded_drafter(nullptr, aded(AdedSearch::BestFirst, true, true), s); }},
      {"aded_default", [](T t, S) { return make_aded_drafter(t, AdedOptions{}); }},
      // The paper's drafter: MCTS over the tri-gram table and its overlay, no context model.
      {"aded_paper", [](T t, S) { return make_aded_drafter(t, aded(AdedSearch::Mcts, true, true, 0)); }},
      {"aded_overlay_and_context", [](T t, S) { return make_aded_drafter(t, aded(AdedSearch::BestFirst, true, true, 8)); }},
      {"oracle", [](T, S) { return std::unique_ptr<Drafter>(); }, true},
  };
}

// Prompts for the tiny model: random ones and ones that repeat a pattern (drafters hit there).
std::vector<std::vector<int32_t>> tiny_prompts(int vocab) {
  return {
      random_prompt(5, vocab, 1),
      random_prompt(40, vocab, 2),
      repeating_prompt({17, 99, 150, 23, 42, 8, 260}, 8),
      repeating_prompt({31, 32, 33}, 20),
      repeating_prompt({200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211}, 4),
      {1, 5},
  };
}

constexpr int kGreedyTokens = 400;

// Shared state of the greedy suite: the model, plain outputs, and a tri-gram table built from
// text in the model's own vocabulary (the decoded plain outputs of other prompts, plus prose).
class SpecLosslessGreedy : public ::testing::TestWithParam<DrafterCase> {
 protected:
  static void SetUpTestSuite() {
    model_ = tiny_model();
    const int vocab = model_->config().n_vocab;
    Context ctx(model_, {.n_ctx = 1024, .n_threads = 1});
    prompts_ = tiny_prompts(vocab);
    plain_.clear();
    for (const auto& p : prompts_) plain_.push_back(generate(ctx, greedy_params(), {}, p, kGreedyTokens).tokens);
    dir_ = std::make_unique<testing::TempDir>();
    TrigramTableBuilder b(model_->tokenizer(), 12);
    for (uint32_t seed : {101u, 102u, 103u}) {
      const auto out = generate(ctx, greedy_params(), {}, random_prompt(8, vocab, seed), 300).tokens;
      b.add_document(model_->tokenizer().decode(out));
    }
    b.add_document("Once upon a time there was a little cat. The cat sat on the mat and the cat was happy.");
    b.write((*dir_ / "tiny.tri").string());
    table_ = TrigramTable::open((*dir_ / "tiny.tri").string(), &model_->tokenizer().vocab());
  }
  static void TearDownTestSuite() {
    table_.reset();
    dir_.reset();
  }
  static std::shared_ptr<const Model> model_;
  static std::vector<std::vector<int32_t>> prompts_, plain_;
  static std::unique_ptr<testing::TempDir> dir_;
  static std::shared_ptr<const TrigramTable> table_;
};
std::shared_ptr<const Model> SpecLosslessGreedy::model_;
std::vector<std::vector<int32_t>> SpecLosslessGreedy::prompts_, SpecLosslessGreedy::plain_;
std::unique_ptr<testing::TempDir> SpecLosslessGreedy::dir_;
std::shared_ptr<const TrigramTable> SpecLosslessGreedy::table_;

TEST_P(SpecLosslessGreedy, IdenticalToPlainDecoding) {
  const DrafterCase& c = GetParam();
  auto shared = std::make_shared<TrigramOverlay>();
  auto drafter = c.make(table_, shared);  // one drafter for every prompt: begin() resets a request
  Context ctx(model_, {.n_ctx = 1024, .n_threads = 1});
  int64_t accepted = 0, accepted_repeating = 0;
  for (size_t i = 0; i < prompts_.size(); ++i) {
    std::unique_ptr<NoisyOracleDrafter> oracle;
    if (c.oracle) {
      std::vector<int32_t> ref = prompts_[i];
      ref.insert(ref.end(), plain_[i].begin(), plain_[i].end());
      oracle = std::make_unique<NoisyOracleDrafter>(ref, model_->config().n_vocab);
    }
    for (const Budget& b : kBudgets) {
      const std::string what = c.name + ", prompt " + std::to_string(i) + ", " + describe(b);
      Speculation spec;
      spec.drafter = c.oracle ? oracle.get() : drafter.get();
      spec.max_nodes = b.max_nodes;
      spec.max_depth = b.max_depth;
      spec.adaptive_budget = b.adaptive;
      const Decoded r = generate(ctx, greedy_params(), spec, prompts_[i], kGreedyTokens);
      ASSERT_FALSE(r.context_full) << what;
      ASSERT_EQ(r.tokens.size(), plain_[i].size()) << what;
      ASSERT_EQ(first_difference(r.tokens, plain_[i]), -1) << what << ": output differs from plain decoding";
      check_stats(r, b, what);
      accepted += accepted_drafts(r.stats);
      if (i >= 2 && i <= 4) accepted_repeating += accepted_drafts(r.stats);
      if (!spec.drafter) {
        EXPECT_EQ(r.stats.nodes_verified, 0) << what;
      }
    }
    if (oracle) {
      EXPECT_FALSE(oracle->diverged()) << c.name << ", prompt " << i;
    }
  }
  // The suite must not pass vacuously: drafts were accepted. The oracle always hits; prompt lookup
  // and ADED hit once the random model's greedy output repeats itself (it does, on every prompt
  // here), and the table alone hits because it was built from this model's own outputs.
  if (c.name != "none") {
    EXPECT_GT(accepted, 0) << c.name << " never had a draft accepted";
  }
  if (c.oracle) {
    EXPECT_GT(accepted, kGreedyTokens * static_cast<int64_t>(prompts_.size())) << "the oracle should hit often";
  }
  RecordProperty("accepted", static_cast<int>(accepted));
  RecordProperty("accepted_repeating", static_cast<int>(accepted_repeating));
}

INSTANTIATE_TEST_SUITE_P(SpecDrafters, SpecLosslessGreedy, ::testing::ValuesIn(drafter_cases()),
                         [](const auto& param_info) { return param_info.param.name; });

// The random-weight model is not special: another seed and F16/Q8_0 weights give the same identity.
TEST(SpecLosslessGreedyOtherModels, IdenticalForOtherWeightsAndTypes) {
  for (const auto& [seed, type] : std::vector<std::pair<uint64_t, TensorType>>{{7, TensorType::F16}, {9, TensorType::Q8_0}}) {
    const auto model = tiny_model(300, seed, type);
    Context ctx(model, {.n_ctx = 512, .n_threads = 2});
    for (const auto& prompt : {random_prompt(12, 300, 5), repeating_prompt({40, 41, 42, 43}, 6)}) {
      const auto plain = generate(ctx, greedy_params(), {}, prompt, 300).tokens;
      for (int which = 0; which < 3; ++which) {
        auto d = which == 0   ? make_prompt_lookup_drafter()
                 : which == 1 ? make_aded_drafter(nullptr, aded(AdedSearch::Mcts, true))
                              : make_aded_drafter(nullptr, aded(AdedSearch::BestFirst, true));
        Speculation spec{.drafter = d.get(), .max_nodes = 24, .max_depth = 6, .adaptive_budget = which != 1};
        const auto r = generate(ctx, greedy_params(), spec, prompt, 300);
        EXPECT_EQ(first_difference(r.tokens, plain), -1) << "seed " << seed << " drafter " << d->name();
      }
    }
  }
}

// Greedy pld and ADED give the plain tokens on two prompts (random, repeating) of 200 tokens.
void expect_pld_and_aded_lossless(Context& ctx, std::string_view label) {
  for (const auto& prompt : {random_prompt(12, 300, 5), repeating_prompt({40, 41, 42, 43}, 6)}) {
    const auto plain = generate(ctx, greedy_params(), {}, prompt, 200).tokens;
    for (int which = 0; which < 2; ++which) {
      auto d = which == 0 ? make_prompt_lookup_drafter() : make_aded_drafter(nullptr, aded(AdedSearch::Mcts, true));
      Speculation spec{.drafter = d.get(), .max_nodes = 24, .max_depth = 6, .adaptive_budget = true};
      const auto r = generate(ctx, greedy_params(), spec, prompt, 200);
      EXPECT_EQ(first_difference(r.tokens, plain), -1) << label << " drafter " << d->name();
    }
  }
}

// Every KV cache type keeps the identity: its rounding is the same whichever forward stores and
// reads a token (a shape with heads of 32 elements, so Q8_0 is allowed).
TEST(SpecLosslessGreedyOtherModels, IdenticalForEveryKvCacheType) {
  testing::TempDir dir;
  RandomModelOptions o;
  o.shape = ModelConfig::new_model(Architecture::Llama, 128, 2, 4, 2, 256, 300, 1024, true);
  o.seed = 13;
  write_random_model(o, (dir / "heads32.gguf").string());
  const auto model = Model::load((dir / "heads32.gguf").string());
  for (const TensorType kv : {TensorType::F32, TensorType::F16, TensorType::Q8_0}) {
    Context ctx(model, {.n_ctx = 512, .n_threads = 2, .cache_type_k = kv, .cache_type_v = kv});
    expect_pld_and_aded_lossless(ctx, tensor_type_name(kv));
  }
}

// Each architecture keeps the identity (Qwen2's biases and half-split RoPE; Phi-3's fused
// projections and LongRoPE; Qwen3's head norms and heads wider than dim / heads; Gemma 2's
// post-norms, GELU and soft-capping; Granite's multipliers; OLMo 2's whole-row q/k norms).
TEST(SpecLosslessGreedyOtherModels, IdenticalForEveryArchitecture) {
  testing::TempDir dir;
  for (const char* shape : {"tiny-qwen2", "tiny-phi3", "tiny-qwen3", "tiny-gemma2", "tiny-granite", "tiny-olmo2",
                            "tiny-starcoder2"}) {
    RandomModelOptions o;
    o.shape = *named_model_shape(shape);
    o.type = TensorType::Q8_0;
    o.seed = 21;
    const auto path = (dir / (std::string(shape) + ".gguf")).string();
    write_random_model(o, path);
    const auto model = Model::load(path);
    Context ctx(model, {.n_ctx = 512, .n_threads = 2});
    expect_pld_and_aded_lossless(ctx, shape);
  }
}

// ------------------------------------------------------------------------------ sampling

struct SamplingCase {
  std::string name;
  SamplingParams params;
};

std::vector<SamplingCase> sampling_cases() {
  auto p = [](float temp, int top_k, float top_p, float min_p, float penalty, int last_n) {
    SamplingParams s;
    s.temperature = temp;
    s.top_k = top_k;
    s.top_p = top_p;
    s.min_p = min_p;
    s.repeat_penalty = penalty;
    s.repeat_last_n = last_n;
    return s;
  };
  return {
      {"defaults_t08", SamplingParams{}},
      {"temperature_only", p(0.8f, 0, 1.0f, 0.0f, 1.0f, 64)},
      {"top_k_5", p(0.8f, 5, 1.0f, 0.0f, 1.0f, 64)},
      {"top_p_05", p(0.8f, 0, 0.5f, 0.0f, 1.0f, 64)},
      {"min_p_02", p(0.8f, 0, 1.0f, 0.2f, 1.0f, 64)},
      {"repeat_penalty", p(0.8f, 40, 0.95f, 0.05f, 1.3f, 16)},
      {"repeat_penalty_all", p(0.8f, 0, 1.0f, 0.0f, 1.5f, 0)},
      {"cold_t01_penalty", p(0.1f, 0, 1.0f, 0.0f, 1.2f, 8)},
      {"hot_t15", p(1.5f, 0, 1.0f, 0.0f, 1.0f, 64)},
  };
}

void PrintTo(const SamplingCase& c, std::ostream* os) { *os << c.name; }

class SpecLosslessSampling : public ::testing::TestWithParam<SamplingCase> {};

// Plain sampling reimplemented from the public pieces: one forward per token, and the token for
// absolute position i drawn with the uniform of (seed, i). The session must match it.
std::vector<int32_t> reference_sampling(const std::shared_ptr<const Model>& model, const SamplingParams& params,
                                        const std::vector<int32_t>& prompt, int n) {
  Context ctx(model, {.n_ctx = static_cast<int>(prompt.size()) + n + 1, .n_threads = 1});
  Sampler sampler(params);
  std::vector<int32_t> seq = prompt;
  ctx.forward(Batch::sequence(prompt, 0, false));
  std::vector<int32_t> all(prompt.size());
  std::iota(all.begin(), all.end(), 0);
  ctx.commit(all);
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    const int32_t t = sampler.sample(ctx.logits(static_cast<int>(i == 0 ? prompt.size() - 1 : 0)), seq, static_cast<int64_t>(seq.size()));
    out.push_back(t);
    seq.push_back(t);
    ctx.forward(Batch::sequence(std::span<const int32_t>(&t, 1), ctx.n_past(), true));
    const int32_t first[] = {0};
    ctx.commit(first);
  }
  return out;
}

TEST_P(SpecLosslessSampling, IdenticalToPlainSamplingWithTheSameSeed) {
  const auto model = tiny_model();
  const int vocab = model->config().n_vocab;
  Context ctx(model, {.n_ctx = 512, .n_threads = 1});
  const int n = 160;
  int64_t accepted = 0, oracle_accepted = 0;
  int compared = 0;
  const std::vector<std::vector<int32_t>> prompts = {random_prompt(10, vocab, 3), repeating_prompt({60, 61, 62, 63, 64}, 8),
                                                     repeating_prompt({9, 10}, 15)};
  for (uint64_t seed : {1u, 2u}) {
    SamplingParams params = GetParam().params;
    params.seed = seed;
    for (size_t pi = 0; pi < prompts.size(); ++pi) {
      const auto& prompt = prompts[pi];
      const auto plain = generate(ctx, params, {}, prompt, n).tokens;
      if (pi == 0) {
        ASSERT_EQ(plain, reference_sampling(model, params, prompt, n)) << "plain session vs reference, seed " << seed;
      }
      std::vector<int32_t> ref = prompt;
      ref.insert(ref.end(), plain.begin(), plain.end());
      NoisyOracleDrafter oracle(ref, vocab);
      auto pld = make_prompt_lookup_drafter();
      auto mcts = make_aded_drafter(nullptr, aded(AdedSearch::Mcts, true));
      auto best = make_aded_drafter(nullptr, aded(AdedSearch::BestFirst, true));
      for (Drafter* d : std::initializer_list<Drafter*>{pld.get(), mcts.get(), best.get(), &oracle}) {
        for (const Budget& b : {Budget{1, 1, false}, Budget{8, 4, true}, Budget{64, 16, false}}) {
          Speculation spec{.drafter = d, .max_nodes = b.max_nodes, .max_depth = b.max_depth, .adaptive_budget = b.adaptive};
          const Decoded r = generate(ctx, params, spec, prompt, n);
          const std::string what = GetParam().name + " seed " + std::to_string(seed) + " prompt " + std::to_string(pi) +
                                   " " + std::string(d->name()) + " " + describe(b);
          ASSERT_EQ(first_difference(r.tokens, plain), -1) << what;
          check_stats(r, b, what);
          (d == &oracle ? oracle_accepted : accepted) += accepted_drafts(r.stats);
          ++compared;
        }
      }
      EXPECT_FALSE(oracle.diverged());
    }
  }
  EXPECT_EQ(compared, 2 * 3 * 4 * 3);
  // Sampled drafts are accepted too: the oracle's whenever it drafts the truth, pld's and aded's
  // when the sampled output repeats (often at T <= 0.8 on these prompts; rarely at T = 1.5).
  EXPECT_GT(oracle_accepted, 500);
  if (GetParam().params.temperature <= 0.8f) {
    EXPECT_GT(accepted, 0) << "no prompt-lookup or ADED draft was ever accepted";
  }
  RecordProperty("accepted", static_cast<int>(accepted));
}

INSTANTIATE_TEST_SUITE_P(SpecSampling, SpecLosslessSampling, ::testing::ValuesIn(sampling_cases()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace aded
