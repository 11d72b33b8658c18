#include "aded/generator.h"

#include <algorithm>

#include "aded/error.h"
#include "aded/model.h"
#include "aded/tokenizer.h"
#include "generation/stop_strings.h"

namespace aded {

std::string_view stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::MaxTokens:
      return "length";
    case StopReason::EndOfGeneration:
      return "eog";
    case StopReason::StopString:
      return "stop";
    case StopReason::ContextFull:
      return "context";
    case StopReason::Cancelled:
      return "cancelled";
  }
  return "unknown";
}

Generator::Generator(Context& context) : ctx_(context) {}

Generation Generator::generate(std::string_view prompt, const GenerateOptions& options,
                               const GenerationCallbacks& callbacks) {
  const std::vector<int32_t> ids = ctx_.model().tokenizer().encode(prompt, /*add_bos=*/true);
  if (ids.empty()) fail("the model's vocabulary has no BOS token, so an empty prompt cannot start generation");
  return generate(ids, options, callbacks);
}

Generation Generator::generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                               const GenerationCallbacks& callbacks) {
  if (options.max_new_tokens < 0) fail("the number of tokens to generate must be >= 0, not {}", options.max_new_tokens);
  if (prompt.empty()) fail("generate: the prompt is empty (add BOS)");
  const Tokenizer& tok = ctx_.model().tokenizer();
  // The cells to keep: the longest common prefix, but the last prompt token is always evaluated.
  const size_t limit =
      options.reuse_prefix ? std::min({cached_.size(), prompt.size() - 1, static_cast<size_t>(ctx_.n_past())}) : 0;
  size_t reuse = 0;
  while (reuse < limit && cached_[reuse] == prompt[reuse]) ++reuse;
  cached_.clear();  // until this request has left the cache in a known state

  Generation g;
  DecodingSession session(ctx_, options.sampling, options.speculator, options.token_probabilities);
  session.prefill(prompt, static_cast<int>(reuse));
  Detokenizer detok(tok);
  for (int32_t id : prompt) detok.push(id);  // the dummy-prefix state after the prompt
  StopStringMatcher stops(options.stop_strings);
  size_t released = 0;
  const auto release = [&](size_t upto) {
    if (upto > released && callbacks.on_text)
      callbacks.on_text(std::string_view(stops.text()).substr(released, upto - released));
    released = std::max(released, upto);
  };

  std::vector<int32_t> step_tokens;
  bool done = options.max_new_tokens == 0;
  for (int step = 0; !done; ++step) {
    step_tokens.clear();
    if (!session.step(step_tokens)) {
      g.stop = StopReason::ContextFull;
      break;
    }
    const auto probabilities = session.last_probabilities();
    for (size_t k = 0; k < step_tokens.size() && !done; ++k) {
      const int32_t id = step_tokens[k];
      if (options.stop_at_end_of_generation && tok.is_end_of_generation(id)) {
        g.stop = StopReason::EndOfGeneration;
        done = true;
        break;
      }
      GeneratedToken t;
      t.id = id;
      t.index = static_cast<int>(g.tokens.size());
      t.step = step;
      t.drafted = static_cast<int>(k) < session.last_drafted();
      t.probability = k < probabilities.size() ? probabilities[k] : 0.0f;
      g.tokens.push_back(id);
      const bool cancelled = callbacks.on_token && !callbacks.on_token(t);
      if (stops.append(detok.push(id))) {
        g.stop = StopReason::StopString;
        done = true;
      } else if (cancelled) {
        g.stop = StopReason::Cancelled;
        done = true;
      } else if (static_cast<int>(g.tokens.size()) >= options.max_new_tokens) {
        g.stop = StopReason::MaxTokens;
        done = true;
      }
      release(stops.final_length());
    }
  }
  if (g.stop != StopReason::StopString && stops.append(detok.flush())) g.stop = StopReason::StopString;
  release(stops.text().size());
  g.text = stops.text();
  session.finish();
  g.stats = session.stats();
  g.stats.generated = static_cast<int>(g.tokens.size());
  const auto& sequence = session.sequence();
  cached_.assign(sequence.begin(), sequence.begin() + std::min<ptrdiff_t>(ctx_.n_past(), static_cast<ptrdiff_t>(sequence.size())));
  return g;
}

}  // namespace aded
