// The methods whose drafters run a model: "draft" (a draft model with the target's vocabulary)
// and "self" (the target drafting for itself: with sublayers skipped, with a low-bit copy of its
// weights, or both).
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "aded/context.h"
#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "aded/model_drafters.h"
#include "aded/model_tools.h"
#include "core/printable_text.h"
#include "speculative/method_settings.h"
#include "speculative/model_methods.h"

namespace aded {

namespace {

// exit_default: where the adaptive exit starts. Draft & Verify's 0.8 for the target drafting for
// itself; a small draft model is right far more often than its top probability says (on the code
// target the aligned 1.6M drafter's greedy drafts were accepted 93-99% of the time with the chain
// mostly stopped after one token at 0.8), and the rule moves by 0.001 a step, so it starts at 0.2.
std::vector<SettingSpec> exit_settings(double exit_default = 0.8) {
  SettingSpec adaptive =
      switch_setting("adaptive-exit", true, "move the exit threshold with the acceptance rate");
  return {real_setting("exit", 0, 1, exit_default, "stop drafting after a token less likely than this",
                       "--draft-exit"),
          adaptive,
          switch_setting("sample", true,
                         "when the target samples, draw drafts from the drafting model's own "
                         "distribution (off: its argmax, so the output is that of plain sampling "
                         "with the same seed, with fewer drafts accepted)")};
}

DraftExitOptions exit_options(const MethodSettings& s) {
  DraftExitOptions o;
  o.threshold = static_cast<float>(s.real("exit"));
  o.adaptive = s.on("adaptive-exit");
  return o;
}

ModelDraftOptions draft_options(const MethodSettings& s, const Model& drafting) {
  ModelDraftOptions o;
  o.exit = exit_options(s);
  o.sample = s.on("sample");
  if (s.text("skip") == "online")
    fail("skip=online adapts the target's own layers: use it with self (self:skip=online)");
  o.plan = read_skip_plan(s.text("skip"), drafting.config().n_layers);
  return o;
}

Context& target_context(DrafterEnvironment& env, std::string_view method) {
  if (!env.target_context || !env.target)
    fail("method '{}' runs a model: it needs the target's context (aded run, bench-spec)", method);
  return *env.target_context;
}

// The drafting context: the target's threads, context size and KV cache types, the greedy head
// for its argmax.
ContextOptions drafting_context(Context& target) {
  ContextOptions o;
  o.n_ctx = target.n_ctx();
  o.pool = target.shared_pool();
  o.cache_type_k = target.cache_type_k();
  o.cache_type_v = target.cache_type_v();
  return o;
}

void check_vocabulary(const Model& target, const Model& draft, const std::string& path) {
  const Vocab& a = target.tokenizer().vocab();
  const Vocab& b = draft.tokenizer().vocab();
  if (a.size() == b.size() && a.pieces == b.pieces) return;
  // Name the first tokens that differ, so a user sees whether it is another tokenizer altogether
  // or a few added tokens.
  std::string differences;
  int shown = 0, differing = 0;
  const int32_t common = std::min(a.size(), b.size());
  for (int32_t id = 0; id < common; ++id) {
    if (a.pieces[static_cast<size_t>(id)] == b.pieces[static_cast<size_t>(id)]) continue;
    ++differing;
    if (shown++ < 5)
      differences += fmt::format("{}id {}: '{}' in the target, '{}' in the draft model",
                                 differences.empty() ? "" : "; ", id,
                                 printable_text(a.pieces[static_cast<size_t>(id)]),
                                 printable_text(b.pieces[static_cast<size_t>(id)]));
  }
  if (a.size() != b.size())
    differences += fmt::format("{}ids {}..{} only in the {}", differences.empty() ? "" : "; ", common,
                               std::max(a.size(), b.size()) - 1,
                               a.size() > b.size() ? "target" : "draft model");
  fail(
      "{}: the draft model's vocabulary ({} tokens) is not the target's ({} tokens; {} of the ids "
      "both have differ): {}. Drafts must be the target's tokens: use a draft model trained with "
      "the target's vocabulary (aded train --vocab TARGET.gguf)",
      path, b.size(), a.size(), differing, differences);
}

// A copy of the target with its matrices in `type`, written to a temporary file and loaded (the
// mapping outlives the file's name).
std::shared_ptr<const Model> quantized_copy(const Model& target, const std::string& type_name) {
  const auto type = parse_tensor_type(type_name == "q8_0"   ? "Q8_0"
                                      : type_name == "q4_0" ? "Q4_0"
                                                            : "Q4_K");
  if (!type) fail("unknown quantization '{}'", type_name);
  const auto path = std::filesystem::temp_directory_path() /
                    fmt::format("aded-self-{}-{}.gguf", type_name, static_cast<long>(::getpid()));
  QuantizeOptions q;
  q.type = *type;
  quantize_model(target.gguf().path(), path.string(), q);
  try {
    auto model = Model::load(path.string());
    std::filesystem::remove(path);
    return model;
  } catch (...) {
    std::filesystem::remove(path);
    throw;
  }
}

// The copy drafts over the target's cache (see make_layer_skip_drafter): no cache of its own to
// fill with the prompt or to catch up after steps the budget skipped it.
std::unique_ptr<Drafter> make_copy_drafter(Context& target, std::shared_ptr<const Model> copy,
                                           const MethodSettings& s) {
  ModelDraftOptions o = draft_options(s, *copy);
  o.weights = std::move(copy);
  return make_layer_skip_drafter(target, std::move(o));
}

}  // namespace

DrafterMethod draft_model_method() {
  DrafterMethod m;
  m.name = "draft";
  m.summary =
      "a draft model with the target's vocabulary drafts a chain, exiting early when unsure";
  m.settings = {file_setting("model", "the draft model (GGUF)", "--model-draft"),
                integer_setting("branches", 0, 15, 0,
                                "a tree: up to this many alternatives beside each chain token the "
                                "draft model is unsure of (0: a chain)",
                                "--draft-branches"),
                real_setting("branch-below", 0, 1, 0.6,
                             "add alternatives where the model's top probability is below this"),
                real_setting("branch-min", 0, 1, 0.02,
                             "greedy: leave out alternatives less likely than this under the model"),
                file_setting("skip",
                             "sublayers the drafting model skips: every-other, a0,m3,... or @FILE "
                             "of aded tune-skip (none by default)",
                             {}, "@")};
  for (auto& s : exit_settings(0.2)) m.settings.push_back(s);
  m.create = [](const MethodSettings& s, DrafterEnvironment& env) {
    Context& target = target_context(env, "draft");
    const std::string& path = s.text("model");
    if (path.empty())
      fail("method 'draft' needs a draft model (--model-draft PATH or draft:model=PATH)");
    auto& model = env.models[path];
    if (!model) model = Model::load(path);
    check_vocabulary(*env.target, *model, path);
    ModelDraftOptions o = draft_options(s, *model);
    o.branches = s.integer("branches");
    o.branch_below = static_cast<float>(s.real("branch-below"));
    o.branch_min = static_cast<float>(s.real("branch-min"));
    return make_model_drafter(model, drafting_context(target), std::move(o));
  };
  return m;
}

DrafterMethod self_draft_method() {
  DrafterMethod m;
  m.name = "self";
  m.summary =
      "the target drafts for itself with sublayers skipped and/or a low-bit copy of its weights";
  m.settings = {
      file_setting("skip",
                   "sublayers the drafts skip: every-other, a0,m3,..., @FILE of aded tune-skip, or "
                   "online (adapted while generating, SWIFT) (none by default)",
                   "--skip", "@"),
      choice_setting("quant", {"none", "q8_0", "q4_0", "q4_k"}, "none",
                     "draft with a copy of the weights in this type (made at load)"),
      file_setting("copy",
                   "draft with this low-bit copy of the target (a GGUF of aded quantize) instead "
                   "of making one at load")};
  for (auto& s : exit_settings()) m.settings.push_back(s);
  m.create = [](const MethodSettings& s, DrafterEnvironment& env) -> std::unique_ptr<Drafter> {
    Context& target = target_context(env, "self");
    const std::string& quant = s.text("quant");
    const std::string& copy = s.text("copy");
    if (!copy.empty() && quant != "none")
      fail("self: give quant= (a copy made at load) or copy= (a copy from a file), not both");
    if (s.text("skip") == "online") {
      if (!copy.empty())
        fail("self:skip=online adapts the target's own layers: it cannot be combined with copy=");
      if (quant != "none")
        fail("self:skip=online adapts the target's own layers: it cannot be combined with quant={}",
             quant);
      return make_online_skip_drafter(target, exit_options(s), s.on("sample"));
    }
    if (!copy.empty()) {
      auto& model = env.models[copy];
      if (!model) model = Model::load(copy);
      check_vocabulary(*env.target, *model, copy);
      if (model->config().n_layers != env.target->config().n_layers ||
          model->config().dim != env.target->config().dim ||
          model->config().hidden_dim != env.target->config().hidden_dim)
        fail(
            "{}: not a copy of the target ({} layers of {}, the target {} of {}); a smaller model "
            "drafts with draft:model=",
            copy, model->config().n_layers, model->config().dim, env.target->config().n_layers,
            env.target->config().dim);
      if (!(model->config() == env.target->config()))
        fail("{}: not a copy of the target: {}; the target: {}", copy, model->config().describe(),
             env.target->config().describe());
      return make_copy_drafter(target, model, s);
    }
    if (quant == "none") {
      if (s.text("skip").empty())
        fail(
            "method 'self' drafts with the target itself: give skip=, quant= or copy= (or skip= "
            "with one of "
            "the others)");
      return make_layer_skip_drafter(target, draft_options(s, *env.target));
    }
    auto& model = env.models["quant:" + quant];
    if (!model) model = quantized_copy(*env.target, quant);
    return make_copy_drafter(target, model, s);
  };
  return m;
}

}  // namespace aded
