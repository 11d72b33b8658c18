// One request's generation in a slot: picks the speculator the request asked for, runs the
// generator, and hands the text out as it becomes final, together with the tokens behind it (how
// each came: drafted and accepted, or the target's own). Cancellation (a client gone, the server
// stopping) ends it at the next token. The result carries llama.cpp-style timings and the counts
// /metrics adds up.
#pragma once

#include <atomic>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "aded/drafter_registry.h"
#include "aded/generator.h"
#include "server/metrics.h"
#include "server/slots.h"

namespace aded::server {

struct EmittedToken {
  int32_t id = 0;
  std::string text;  // its share of the text (whole UTF-8 characters; may be empty)
  bool drafted = false;
  int step = 0;
  float probability = 0;  // when the job asked for token probabilities
};

struct GenerationJob {
  std::vector<int32_t> prompt;  // BOS included
  GenerateOptions options;      // options.speculator: from speculator_for() on the job's slot
  std::string method = "none";  // the method string, as reported in timings
};

// The slot's speculator for the method (nullptr for plain decoding), made on first use: a slot
// keeps a few, each with what it learned across requests. Throws what making the drafter throws
// (InputError for a method that cannot be made, e.g. "draft" without a model).
Speculator* speculator_for(Slot& slot, const DrafterRegistry& registry, const MethodChoice& method);

struct JobOutput {
  Generation generation;
  std::vector<EmittedToken> tokens;  // every generated token with its text
  std::string method;                // the method that drafted ("none": plain decoding)
  RequestRecord record;              // for /metrics
  nlohmann::json timings;            // llama.cpp's names: prompt_n, predicted_per_second, draft_n, ...
};

// Called with each piece of final text and the tokens that produced it since the last call;
// returning false cancels the generation (the client is gone).
using TextSink = std::function<bool(std::string_view text, std::span<const EmittedToken> tokens)>;

// started: when the request arrived (time to first token counts from there).
JobOutput run_generation(Slot& slot, const GenerationJob& job, const TextSink& sink,
                         const std::atomic<bool>& cancel_all, double arrival_seconds);

// Seconds on a monotonic clock (for arrival times).
double monotonic_seconds();

}  // namespace aded::server
