// The generation loop every caller shares (aded run, bench-spec, the server): tokenized prompt in,
// tokens and text out, with the stop rules (token budget, end-of-generation tokens, stop strings,
// a full context), a callback per token and per piece of text, and prefix reuse: a prompt that
// begins with what the context's cache holds from the previous request evaluates only the rest.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aded/context.h"
#include "aded/decoding.h"
#include "aded/sampler.h"
#include "aded/speculator.h"

namespace aded {

enum class StopReason { MaxTokens, EndOfGeneration, StopString, ContextFull, Cancelled };
std::string_view stop_reason_name(StopReason reason);  // "length", "eog", "stop", "context", "cancelled"

struct GenerateOptions {
  SamplingParams sampling;
  Speculator* speculator = nullptr;  // nullptr: plain decoding
  int max_new_tokens = 256;
  // An end-of-generation token (EOS, EOT) ends the generation; it is not part of the output.
  bool stop_at_end_of_generation = true;
  // The generation ends where one of these appears in the text; the text stops before it.
  std::vector<std::string> stop_strings;
  // Report each token's probability under the model (greedy decoding then computes the whole
  // output head, which is slower).
  bool token_probabilities = false;
  // Keep the cache cells of the longest prefix the prompt shares with the previous request
  // (off: evaluate the whole prompt, e.g. to time every request alike).
  bool reuse_prefix = true;
};

struct GeneratedToken {
  int32_t id = 0;
  int index = 0;       // 0 for the first generated token
  int step = 0;        // the target forward that produced it: 0 is the prefill
  bool drafted = false;  // a draft token the target accepted (false: the target's own token)
  float probability = 0;  // when GenerateOptions::token_probabilities, else 0
};

struct GenerationCallbacks {
  // Each generated token once, in order; returning false stops the generation (Cancelled).
  std::function<bool(const GeneratedToken&)> on_token;
  // The text as it becomes final: whole UTF-8 characters, held back while it could be the start of
  // a stop string. The pieces concatenate to Generation::text.
  std::function<void(std::string_view)> on_text;
};

struct Generation {
  std::vector<int32_t> tokens;  // the output tokens (an end-of-generation token is not included)
  std::string text;             // their text, ending before a stop string
  StopReason stop = StopReason::MaxTokens;
  DecodingStats stats;          // stats.generated counts `tokens` (overshoot of the last step excluded)
};

class Generator {
 public:
  // The generator must be the only user of the context while it lives: it remembers what the
  // context's cache holds to reuse it for the next prompt.
  explicit Generator(Context& context);

  Generation generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                      const GenerationCallbacks& callbacks = {});
  // Tokenizes text with the model's BOS rule (an empty text starts from BOS alone).
  Generation generate(std::string_view prompt, const GenerateOptions& options, const GenerationCallbacks& callbacks = {});

  // Tokens whose cells the context's cache holds, in order.
  std::span<const int32_t> cached() const { return cached_; }

 private:
  Context& ctx_;
  std::vector<int32_t> cached_;
};

}  // namespace aded
