// Lossless speculation on the real models of ../shared/data (skipped when absent): stories260K
// (greedy and sampled, every drafter, a tri-gram table built from TinyStories text) and code15M on
// HumanEval prompts (greedy, a table built from the Python corpus). Drafts must be accepted on
// these models, so the identity is checked where it matters.
#include <gtest/gtest.h>

#include <chrono>

#include "aded/aded_drafter.h"
#include "aded/decoding.h"
#include "aded/spec_bench.h"
#include "aded/trigram_table.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

namespace fs = std::filesystem;
using spec_testing::Speculation;
using spec_testing::accepted_drafts;
using spec_testing::first_difference;
using spec_testing::generate;
using spec_testing::greedy_params;

// A tri-gram table over (the first `bytes` of) a corpus file, as `aded ngram build` makes it.
std::shared_ptr<const TrigramTable> corpus_table(const Model& model, const fs::path& corpus, size_t bytes,
                                                 const testing::TempDir& dir, const std::string& name) {
  std::string text = testing::read_file(corpus);
  if (text.size() > bytes) text.resize(text.rfind('\n', bytes) + 1);
  const auto part = dir / (name + ".txt");
  testing::write_file(part, text);
  TrigramTableBuilder b(model.tokenizer(), 12);
  b.add_file(part.string());
  const auto path = (dir / (name + ".tri")).string();
  b.write(path);
  return TrigramTable::open(path, &model.tokenizer().vocab());
}

struct NamedDrafter {
  std::string name;
  std::unique_ptr<Drafter> drafter;
  int max_nodes, max_depth;
  bool adaptive;
};

AdedOptions aded_options(AdedSearch search, bool adapt = true) {
  AdedOptions o;
  o.search = search;
  o.adapt = adapt;
  return o;
}

TEST(SpecRealModels, Stories260KGreedyIsIdenticalWithEveryDrafter) {
  ADED_REQUIRE_SHARED_DATA();
  const auto model = spec_testing::stories260k();
  ASSERT_TRUE(model);
  testing::TempDir dir;
  const auto table = corpus_table(*model, testing::shared_data() / "corpora/tinystories/tinystories_val_yuninxia.txt",
                                  300000, dir, "stories");
  ASSERT_GT(table->keys(), 1000u);
  const Tokenizer& tok = model->tokenizer();
  std::vector<std::vector<int32_t>> prompts;
  for (const char* text : {"Once upon a time", "Lily wanted to play with the big red ball.",
                           "Tom and Sue went to the park. They saw a bird.", "One day, a cat named Tim"})
    prompts.push_back(tok.encode(text, true));
  auto shared = std::make_shared<TrigramOverlay>();
  std::vector<NamedDrafter> methods;
  methods.push_back({"pld", make_prompt_lookup_drafter(), 16, 8, true});
  methods.push_back({"pld_1x1", make_prompt_lookup_drafter(), 1, 1, false});
  methods.push_back({"aded_mcts_table", make_aded_drafter(table, aded_options(AdedSearch::Mcts)), 64, 16, false});
  methods.push_back({"aded_mcts_table_adaptive", make_aded_drafter(table, aded_options(AdedSearch::Mcts)), 32, 8, true});
  methods.push_back({"aded_mcts_notable", make_aded_drafter(nullptr, aded_options(AdedSearch::Mcts)), 8, 4, false});
  methods.push_back({"aded_mcts_table_noadapt", make_aded_drafter(table, aded_options(AdedSearch::Mcts, false)), 16, 4, false});
  methods.push_back({"aded_bestfirst_table", make_aded_drafter(table, aded_options(AdedSearch::BestFirst)), 24, 12, false});
  methods.push_back({"aded_bestfirst_table_1x1", make_aded_drafter(table, aded_options(AdedSearch::BestFirst)), 1, 1, true});
  methods.push_back({"aded_bestfirst_shared", make_aded_drafter(table, aded_options(AdedSearch::BestFirst), shared), 24, 6, true});
  Context ctx(model, {.n_ctx = 512, .n_threads = 1});
  const int n = 300;
  std::map<std::string, int64_t> accepted;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto plain = generate(ctx, greedy_params(), {}, prompts[i], n).tokens;
    ASSERT_EQ(plain.size(), static_cast<size_t>(n));
    for (auto& m : methods) {
      Speculation spec{.drafter = m.drafter.get(), .max_nodes = m.max_nodes, .max_depth = m.max_depth,
                              .adaptive_budget = m.adaptive};
      const auto r = generate(ctx, greedy_params(), spec, prompts[i], n);
      ASSERT_EQ(first_difference(r.tokens, plain), -1) << m.name << ", prompt " << i;
      EXPECT_EQ(r.stats.generated, 1 + r.stats.steps + accepted_drafts(r.stats));
      accepted[m.name] += accepted_drafts(r.stats);
    }
  }
  for (const auto& m : methods) {
    EXPECT_GT(accepted[m.name], 0) << m.name << " never had a draft accepted on stories260K";
    RecordProperty("accepted_" + m.name, static_cast<int>(accepted[m.name]));
  }
  EXPECT_GT(accepted["aded_mcts_table"], n) << "a TinyStories table should draft TinyStories well";
}

TEST(SpecRealModels, Stories260KSamplingIsIdenticalWithTheSameSeed) {
  ADED_REQUIRE_SHARED_DATA();
  const auto model = spec_testing::stories260k();
  ASSERT_TRUE(model);
  testing::TempDir dir;
  const auto table = corpus_table(*model, testing::shared_data() / "corpora/tinystories/tinystories_val_yuninxia.txt",
                                  100000, dir, "stories");
  const Tokenizer& tok = model->tokenizer();
  Context ctx(model, {.n_ctx = 512, .n_threads = 1});
  std::vector<SamplingParams> params(3);
  params[1].temperature = 0.5f;
  params[1].repeat_penalty = 1.2f;
  params[1].repeat_last_n = 32;
  params[2].temperature = 0.3f;
  params[2].top_k = 0;
  params[2].top_p = 0.9f;
  params[2].min_p = 0.0f;
  std::map<std::string, int64_t> accepted;
  for (size_t pi = 0; pi < params.size(); ++pi) {
    for (uint64_t seed : {3u, 4u}) {
      SamplingParams p = params[pi];
      p.seed = seed;
      for (const char* text : {"Once upon a time", "The sun was shining and"}) {
        const auto prompt = tok.encode(text, true);
        const auto plain = generate(ctx, p, {}, prompt, 250).tokens;
        std::vector<NamedDrafter> methods;
        methods.push_back({"pld", make_prompt_lookup_drafter(), 16, 8, false});
        methods.push_back({"aded_mcts", make_aded_drafter(table, aded_options(AdedSearch::Mcts)), 32, 8, true});
        methods.push_back({"aded_bestfirst", make_aded_drafter(table, aded_options(AdedSearch::BestFirst)), 24, 12, false});
        for (auto& m : methods) {
          Speculation spec{.drafter = m.drafter.get(), .max_nodes = m.max_nodes, .max_depth = m.max_depth,
                                  .adaptive_budget = m.adaptive};
          const auto r = generate(ctx, p, spec, prompt, 250);
          ASSERT_EQ(first_difference(r.tokens, plain), -1) << m.name << ", params " << pi << ", seed " << seed << ", " << text;
          accepted[m.name] += accepted_drafts(r.stats);
        }
      }
    }
  }
  for (const auto& [name, count] : accepted) {
    EXPECT_GT(count, 0) << name << " never had a sampled draft accepted";
    RecordProperty("accepted_" + name, static_cast<int>(count));
  }
}

// code15M is slow enough that this test is kept small: three short HumanEval prompts, generation
// to the end of the model's 256-token context, four methods (about 20 s on 2 cores).
TEST(SpecRealModels, Code15MGreedyIsIdenticalOnHumanEval) {
  ADED_REQUIRE_SHARED_DATA();
  const fs::path data = testing::shared_data();
  if (!fs::exists(data / "models/code15M/code15M.bin")) GTEST_SKIP() << "code15M is not present";
  const auto model = spec_testing::code15m();
  ASSERT_TRUE(model);
  testing::TempDir dir;
  const auto table = corpus_table(*model, data / "corpora/python/python-stdlib-table.txt", 400000, dir, "python");
  const Tokenizer& tok = model->tokenizer();
  auto bench = read_bench_prompts((data / "prompts/humaneval/HumanEval.jsonl.gz").string());
  ASSERT_GE(bench.size(), 100u);
  std::stable_sort(bench.begin(), bench.end(), [](const BenchPrompt& a, const BenchPrompt& b) { return a.text.size() < b.text.size(); });
  Context ctx(model, {.n_ctx = 256, .n_threads = 2});
  std::map<std::string, int64_t> accepted;
  int64_t compared_tokens = 0;
  for (size_t i = 0; i < 3; ++i) {
    const auto prompt = tok.encode(bench[i].text, true);
    ASSERT_LT(prompt.size(), 160u) << bench[i].id;
    const int n = 256 - static_cast<int>(prompt.size());  // to the end of the context
    const auto plain = generate(ctx, greedy_params(), {}, prompt, n);
    ASSERT_EQ(plain.tokens.size(), static_cast<size_t>(n));
    std::vector<NamedDrafter> methods;
    methods.push_back({"pld", make_prompt_lookup_drafter(), 16, 8, true});
    methods.push_back({"aded_mcts_table", make_aded_drafter(table, aded_options(AdedSearch::Mcts)), 32, 8, false});
    methods.push_back({"aded_bestfirst_table", make_aded_drafter(table, aded_options(AdedSearch::BestFirst)), 64, 16, true});
    for (auto& m : methods) {
      Speculation spec{.drafter = m.drafter.get(), .max_nodes = m.max_nodes, .max_depth = m.max_depth,
                              .adaptive_budget = m.adaptive};
      const auto r = generate(ctx, greedy_params(), spec, prompt, n);
      ASSERT_EQ(first_difference(r.tokens, plain.tokens), -1) << m.name << ", " << bench[i].id;
      accepted[m.name] += accepted_drafts(r.stats);
      compared_tokens += n;
    }
  }
  for (const auto& [name, count] : accepted) {
    EXPECT_GT(count, 0) << name << " never had a draft accepted on code15M";
    RecordProperty("accepted_" + name, static_cast<int>(count));
  }
  RecordProperty("compared_tokens", static_cast<int>(compared_tokens));
}

}  // namespace
}  // namespace aded
