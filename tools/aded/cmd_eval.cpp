// `aded eval`: the logits at every position of a token sequence, float32, positions x vocabulary,
// row-major: the layout ../shared/tools/llamacpp/logits writes, so the two engines' forward passes
// can be compared on the same file and the same ids.
#include <cctype>
#include <charconv>
#include <memory>

#include "aded/context.h"
#include "aded/error.h"
#include "commands.h"
#include "common_options.h"
#include "core/output_file.h"

namespace aded::cli {

namespace {

// Whitespace-separated token ids; anything else is refused with its position in the file.
std::vector<int32_t> parse_ids(const std::string& text, const std::string& path, int32_t vocab) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[pos]))) {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    int64_t id = -1;
    const auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + end, id);
    if (ec != std::errc() || ptr != text.data() + end)
      fail("{}: '{}' at byte {} is not a token id (the file holds whitespace-separated integers)",
           path, text.substr(pos, std::min<size_t>(end - pos, 20)), pos);
    if (id < 0 || id >= vocab)
      fail("{}: token id {} at byte {} is outside the model's vocabulary (0 to {})", path, id, pos,
           vocab - 1);
    ids.push_back(static_cast<int32_t>(id));
    pos = end;
  }
  if (ids.empty()) fail("{}: no token ids", path);
  return ids;
}

}  // namespace

Command add_eval(CLI::App& app) {
  struct Options {
    ModelOptions model;
    std::string ids, out;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "eval",
      "Write the logits at every position of a token sequence (float32, positions x vocabulary), "
      "the layout of llama.cpp's reference tool, to compare forward passes");
  add_model_options(*cmd, o->model);
  cmd->add_option("-f,--file", o->ids, "token ids, whitespace-separated (add BOS yourself)")->required();
  cmd->add_option("-o,--output", o->out, "the logits file to write")->required();
  return {cmd, [o] {
            check_output_path(o->out, "-o", {o->model.path, o->ids});
            const auto model = load_model(o->model);
            const int32_t vocab = model->config().n_vocab;
            const auto ids = parse_ids(read_text_file(o->ids), o->ids, vocab);
            ContextOptions copts = context_options(o->model);
            if (copts.n_ctx == 0) copts.n_ctx = static_cast<int>(ids.size());
            Context ctx(model, copts);
            if (static_cast<int64_t>(ids.size()) > ctx.n_ctx())
              fail("{}: {} tokens do not fit a context of {} (use -c)", o->ids, ids.size(), ctx.n_ctx());
            OutputFile out(o->out);
            // One causal sequence, forwarded in slices so the activations stay bounded.
            constexpr size_t kSlice = 256;
            for (size_t at = 0; at < ids.size(); at += kSlice) {
              const std::span<const int32_t> slice(ids.data() + at, std::min(kSlice, ids.size() - at));
              ctx.forward(Batch::sequence(slice, ctx.n_past(), true));
              for (size_t i = 0; i < slice.size(); ++i) {
                const auto row = ctx.logits(static_cast<int>(i));
                out.write(row.data(), row.size() * sizeof(float));
              }
              std::vector<int32_t> keep(slice.size());
              for (size_t i = 0; i < keep.size(); ++i) keep[i] = static_cast<int32_t>(i);
              ctx.commit(keep);
            }
            out.commit();
            fmt::print(stderr, "{} positions x {} logits -> {}\n", ids.size(), vocab, o->out);
            return 0;
          }};
}

}  // namespace aded::cli
