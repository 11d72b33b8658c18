#include "distillation/drafter_evaluation.h"

#include <algorithm>
#include <cmath>

#include "aded/error.h"

namespace aded::distill {

namespace {

// softmax(logits / temperature); greedy (temperature 0): all mass on the first argmax.
void distribution(std::span<const float> logits, float temperature, std::vector<double>& out) {
  out.assign(logits.size(), 0.0);
  if (temperature <= 0) {
    out[static_cast<size_t>(std::max_element(logits.begin(), logits.end()) - logits.begin())] = 1;
    return;
  }
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i)
    sum += out[i] = std::exp(static_cast<double>(logits[i] - max) / temperature);
  for (double& v : out) v /= sum;
}

// Runs the whole sequence and keeps the logits before every response token.
void forward_response(Context& ctx, const std::vector<int32_t>& tokens, size_t response_start) {
  Batch batch = Batch::sequence(tokens, 0, false);
  batch.want_logits.assign(tokens.size(), 0);
  for (size_t i = response_start - 1; i + 1 < tokens.size(); ++i) batch.want_logits[i] = 1;
  ctx.forward(batch);
}

}  // namespace

std::vector<double> position_acceptance(Context& target, Context& drafter,
                                        const std::vector<int32_t>& tokens, size_t response_start,
                                        float temperature) {
  if (response_start < 1 || response_start >= tokens.size()) return {};
  if (target.model().config().n_vocab != drafter.model().config().n_vocab)
    fail("the drafter's vocabulary ({} tokens) is not the target's ({})",
         drafter.model().config().n_vocab, target.model().config().n_vocab);
  forward_response(target, tokens, response_start);
  forward_response(drafter, tokens, response_start);
  std::vector<double> result, p, q;
  for (size_t j = response_start; j < tokens.size(); ++j) {
    distribution(target.logits(static_cast<int>(j - 1)), temperature, p);
    distribution(drafter.logits(static_cast<int>(j - 1)), temperature, q);
    double s = 0;
    for (size_t x = 0; x < p.size(); ++x) s += std::min(p[x], q[x]);
    result.push_back(s);
  }
  target.truncate(0);
  drafter.truncate(0);
  return result;
}

AcceptanceReport summarize_acceptance(const std::vector<std::vector<double>>& responses,
                                      double parameter_ratio) {
  AcceptanceReport r;
  r.c = parameter_ratio;
  double sum = 0, blocks = 0;
  double tokens[kMaxGamma + 1] = {};
  for (const auto& beta : responses) {
    for (size_t t = 0; t < beta.size(); ++t) {
      sum += beta[t];
      blocks += 1;
      double chain = 1;  // probability that the first j drafts of a block at t are all accepted
      for (int g = 1; g <= kMaxGamma; ++g) {
        const size_t at = t + static_cast<size_t>(g) - 1;
        chain *= at < beta.size() ? beta[at] : 0.0;
        // tau(gamma) adds the chain term for j = g to every gamma >= g.
        for (int gamma = g; gamma <= kMaxGamma; ++gamma) tokens[gamma] += chain;
      }
    }
  }
  r.positions = static_cast<uint64_t>(blocks);
  if (blocks == 0) return r;
  r.alpha = sum / blocks;
  for (int g = 1; g <= kMaxGamma; ++g) {
    r.tau[g] = 1 + tokens[g] / blocks;
    r.tau_iid[g] = r.alpha >= 1 ? g + 1 : (1 - std::pow(r.alpha, g + 1)) / (1 - r.alpha);
    r.mbsu[g] = r.c * r.tau[g] / (r.c * g + 1);
  }
  return r;
}

Throughput measure_decoding(Context& ctx, const std::vector<std::vector<int32_t>>& prompts,
                            const GenerateOptions& options) {
  Throughput t;
  Generator generator(ctx);
  GenerateOptions o = options;
  o.reuse_prefix = false;  // every prompt evaluated alike
  for (const auto& prompt : prompts) {
    const Generation g = generator.generate(prompt, o);
    // The first token comes from the prefill; the decode time covers the others.
    if (g.stats.generated > 1) {
      t.tokens += static_cast<uint64_t>(g.stats.generated - 1);
      t.seconds += g.stats.decode_seconds;
    }
  }
  ctx.truncate(0);
  return t;
}

}  // namespace aded::distill
