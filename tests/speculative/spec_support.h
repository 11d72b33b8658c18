// Helpers shared by the tests of the speculative layer (tests/speculative/*_test.cpp): tiny random-weight
// models, prompts, the real models of ../shared/data, and decoding runs with and without a drafter.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "aded/context.h"
#include "aded/convert.h"
#include "aded/decoding.h"
#include "aded/draft_tree.h"
#include "aded/drafter.h"
#include "aded/error.h"
#include "aded/model.h"
#include "aded/model_tools.h"
#include "support/test_support.h"

namespace aded::spec_testing {

// A tiny Llama of the synthetic vocabulary (n_vocab >= 260), with a long training context so
// generations of several hundred tokens fit. Written once per (vocab, seed, type) per process.
inline std::shared_ptr<const Model> tiny_model(int n_vocab = 300, uint64_t seed = 42,
                                               TensorType type = TensorType::F32) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Model>> cache;
  static testing::TempDir dir;
  std::lock_guard<std::mutex> lock(mutex);
  const std::string key = "tiny-" + std::to_string(n_vocab) + "-" + std::to_string(seed) + "-" +
                          std::string(tensor_type_name(type));
  auto& m = cache[key];
  if (!m) {
    RandomModelOptions o;
    o.shape = ModelConfig::new_model(Architecture::Llama, 64, 2, 4, 2, 160, n_vocab, 1024, true);
    o.type = type;
    o.seed = seed;
    const auto path = (dir / (key + ".gguf")).string();
    write_random_model(o, path);
    m = Model::load(path);
  }
  return m;
}

// The real models of ../shared/data converted to GGUF once per process; nullptr when absent.
inline std::shared_ptr<const Model> shared_llama2c_model(const std::string& model_rel,
                                                         const std::string& tokenizer_rel) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Model>> cache;
  static testing::TempDir dir;
  std::lock_guard<std::mutex> lock(mutex);
  const auto data = testing::shared_data();
  if (data.empty() || !std::filesystem::exists(data / model_rel)) return nullptr;
  auto& m = cache[model_rel];
  if (!m) {
    const auto out = (dir / (std::filesystem::path(model_rel).stem().string() + ".gguf")).string();
    convert_llama2c((data / model_rel).string(), (data / tokenizer_rel).string(), out);
    m = Model::load(out);
  }
  return m;
}
inline std::shared_ptr<const Model> stories260k() {
  return shared_llama2c_model("models/stories260K/stories260K.bin", "models/stories260K/tok512.bin");
}
inline std::shared_ptr<const Model> code15m() {
  return shared_llama2c_model("models/code15M/code15M.bin", "tokenizers/llama2-spm-32000/tokenizer.bin");
}

// BOS, then n - 1 uniformly random tokens of [3, vocab).
inline std::vector<int32_t> random_prompt(int n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& v : t) v = 3 + static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab - 3));
  t[0] = 1;
  return t;
}

// BOS, then `pattern` repeated `times` times.
inline std::vector<int32_t> repeating_prompt(const std::vector<int32_t>& pattern, int times) {
  std::vector<int32_t> t{1};
  for (int i = 0; i < times; ++i) t.insert(t.end(), pattern.begin(), pattern.end());
  return t;
}

// Test shorthand for speculation with one borrowed drafter and its limits (no drafter: plain).
struct Speculation {
  Drafter* drafter = nullptr;
  int max_nodes = 16;
  int max_depth = 32;
  bool adaptive_budget = true;
};

inline std::unique_ptr<Speculator> make_speculator(const Speculation& s) {
  if (!s.drafter) return nullptr;
  auto speculator = std::make_unique<Speculator>();
  speculator->add(*s.drafter, DraftLimits{s.max_nodes, s.max_depth, s.adaptive_budget});
  return speculator;
}

struct Decoded {
  std::vector<int32_t> tokens;  // the generated tokens (prompt excluded)
  DecodingStats stats;
  bool context_full = false;  // step() returned false before n tokens
};

// Generates at least n tokens (or until the context is full) with the session directly, and keeps
// the first n.
inline Decoded generate_with(Context& ctx, const SamplingParams& sampling, Speculator* speculator,
                             const std::vector<int32_t>& prompt, int n) {
  Decoded r;
  DecodingSession session(ctx, sampling, speculator);
  session.prefill(prompt);
  while (static_cast<int>(r.tokens.size()) < n) {
    if (!session.step(r.tokens)) {
      r.context_full = true;
      break;
    }
  }
  if (static_cast<int>(r.tokens.size()) > n) r.tokens.resize(static_cast<size_t>(n));
  r.stats = session.stats();
  return r;
}

inline Decoded generate(Context& ctx, const SamplingParams& sampling, const Speculation& spec,
                        const std::vector<int32_t>& prompt, int n) {
  const auto speculator = make_speculator(spec);
  return generate_with(ctx, sampling, speculator.get(), prompt, n);
}

inline SamplingParams greedy_params() {
  SamplingParams p;
  p.temperature = 0;
  return p;
}

inline int64_t accepted_drafts(const DecodingStats& s) {
  return std::accumulate(s.accepted_at_depth.begin(), s.accepted_at_depth.end(), int64_t{0});
}

// Index of the first difference, or -1 when a == b.
inline long first_difference(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return static_cast<long>(i);
  return a.size() == b.size() ? -1 : static_cast<long>(n);
}

// A draft tree is well formed: parents come first, depths are parent depth + 1, and the children
// of a node carry distinct tokens.
inline ::testing::AssertionResult well_formed(const DraftTree& t) {
  std::set<std::pair<int32_t, int32_t>> seen;
  for (int i = 0; i < t.size(); ++i) {
    const int32_t p = t.parent(i);
    if (p != DraftTree::kRoot && (p < 0 || p >= i))
      return ::testing::AssertionFailure() << "node " << i << " has parent " << p << " (not earlier)";
    const int expected_depth = p == DraftTree::kRoot ? 1 : t.depth(p) + 1;
    if (t.depth(i) != expected_depth)
      return ::testing::AssertionFailure() << "node " << i << " depth " << t.depth(i) << " != " << expected_depth;
    if (!seen.insert({p, t.token(i)}).second)
      return ::testing::AssertionFailure() << "node " << i << " repeats token " << t.token(i) << " under " << p;
  }
  return ::testing::AssertionSuccess();
}

// A test-only drafter that knows the output of plain decoding (same sampling parameters and seed)
// and proposes trees around it: the true continuation to a random depth, wrong siblings (sometimes
// more confident than the true node), and a wrong token below the true path. Lossless decoding
// accepts exactly the true part, so this drives long accepted paths through the verifier even on
// random-weight models, where real drafters rarely hit.
class NoisyOracleDrafter final : public Drafter {
 public:
  explicit NoisyOracleDrafter(std::vector<int32_t> reference, int vocab) : ref_(std::move(reference)), vocab_(vocab) {}
  std::string_view name() const override { return "noisy-oracle"; }
  void begin(std::span<const int32_t>) override {}
  void observe(const DraftFeedback&) override {}
  void propose(const DraftRequest& r, DraftTree& out) override {
    const size_t at = r.context.size();
    if (at >= ref_.size() || !std::equal(r.context.begin(), r.context.end(), ref_.begin())) {
      diverged_ = true;
      return;
    }
    std::mt19937 rng(static_cast<uint32_t>(at * 2654435761u));
    const int depth = static_cast<int>(rng() % static_cast<uint32_t>(r.max_depth + 1));
    int32_t parent = DraftTree::kRoot;
    float conf = 1.0f;
    for (int d = 0; d < depth && at + static_cast<size_t>(d) < ref_.size(); ++d) {
      const int32_t truth = ref_[at + static_cast<size_t>(d)];
      conf *= 0.9f;
      if (rng() % 3 == 0 && out.size() < r.max_nodes) out.add(parent, wrong(truth, rng), conf);
      if (out.size() >= r.max_nodes) return;
      parent = out.add(parent, truth, conf * 0.99f);
    }
    if (out.size() < r.max_nodes && depth < r.max_depth && rng() % 2 == 0 && at + static_cast<size_t>(depth) < ref_.size())
      out.add(parent, wrong(ref_[at + static_cast<size_t>(depth)], rng), conf * 0.5f);
  }
  bool diverged() const { return diverged_; }

 private:
  int32_t wrong(int32_t truth, std::mt19937& rng) const {
    int32_t t = truth;
    while (t == truth) t = static_cast<int32_t>(3 + rng() % static_cast<uint32_t>(vocab_ - 3));
    return t;
  }
  std::vector<int32_t> ref_;
  int vocab_;
  bool diverged_ = false;
};

// Drafts a chain the target (almost) never accepts: the token after the last one, repeated.
class WrongChainDrafter final : public Drafter {
 public:
  std::string_view name() const override { return "wrong"; }
  void begin(std::span<const int32_t>) override {}
  void observe(const DraftFeedback&) override {}
  void propose(const DraftRequest& r, DraftTree& out) override {
    int32_t parent = DraftTree::kRoot;
    for (int d = 0; d < std::min(r.max_nodes, r.max_depth); ++d)
      parent = out.add(parent, (r.context.back() + 7 + d) % 300, 0.9f);
  }
};

// The message of the InputError f throws, or "(accepted)".
inline std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace aded::spec_testing
