#include <map>
#include <memory>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/model.h"
#include "core/printable_text.h"
#include "commands.h"

namespace aded::cli {

namespace {

// Keys, names and strings come from the file: escape what a terminal would act on.
std::string shown(std::string_view text) { return printable_text(text); }

std::string value_text(const GgufValue& v) {
  switch (v.type) {
    case GgufType::STRING: return v.str.size() > 80 ? fmt::format("\"{}...\" ({} bytes)", shown(utf8_prefix(v.str, 80)), v.str.size())
                                                    : fmt::format("\"{}\"", shown(v.str));
    case GgufType::BOOL: return v.u ? "true" : "false";
    case GgufType::F32: case GgufType::F64: return fmt::format("{}", v.f);
    case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64: return fmt::format("{}", v.i);
    case GgufType::ARRAY: {
      std::string s = fmt::format("[{} x {}]", v.count, gguf_type_name(v.elem_type));
      if (v.elem_type == GgufType::STRING && !v.strings.empty()) {
        s += " ";
        for (size_t i = 0; i < std::min<size_t>(5, v.strings.size()); ++i)
          s += fmt::format("{}\"{}\"", i ? ", " : "", shown(utf8_prefix(v.strings[i], 24)));
        if (v.strings.size() > 5) s += ", ...";
      }
      return s;
    }
    default: return fmt::format("{}", v.u);
  }
}

// "F16", or "F16/p16" for a matrix stored packed for the kernels (aded repack).
std::string type_label(const GgufTensor& t) {
  return fmt::format("{}{}", tensor_type_name(t.type), t.packed ? "/p16" : "");
}

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? " x " : "") + std::to_string(dims[i]);
  return s;
}

}  // namespace

Command add_info(CLI::App& app) {
  struct Options {
    std::string path;
    bool tensors = true;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("info", "Show a GGUF file's metadata, tensors and sizes");
  cmd->add_option("model", o->path, "GGUF file")->required();
  cmd->add_flag("!--no-tensors", o->tensors, "do not list the tensors");
  return {cmd, [o] {
    const GgufFile f = GgufFile::open(o->path);
    fmt::print("file: {}\nGGUF version: {}, alignment: {}, size: {:.2f} MB\n", o->path, f.version(), f.alignment(),
               static_cast<double>(f.file_size()) / 1e6);
    fmt::print("\nmetadata ({} keys):\n", f.metadata().size());
    for (const auto& [key, v] : f.metadata()) fmt::print("  {:<45} {}\n", shown(key), value_text(v));
    uint64_t params = 0, bytes = 0;
    std::map<std::string, std::pair<int, uint64_t>> by_type;
    for (const auto& t : f.tensors()) {
      params += static_cast<uint64_t>(t.elements());
      bytes += t.nbytes;
      auto& e = by_type[type_label(t)];
      e.first++;
      e.second += t.nbytes;
    }
    if (o->tensors && !f.tensors().empty()) {
      fmt::print("\ntensors ({}):\n", f.tensors().size());
      for (const auto& t : f.tensors())
        fmt::print("  {:<36} {:<6} {:<20} {:>12} bytes\n", shown(t.name), type_label(t), shape_text(t.dims), t.nbytes);
    }
    fmt::print("\nsummary: {} tensors, {:.2f} M parameters, {:.2f} MB of weights ({:.2f} bits/weight)\n",
               f.tensors().size(), static_cast<double>(params) / 1e6, static_cast<double>(bytes) / 1e6,
               params ? 8.0 * static_cast<double>(bytes) / static_cast<double>(params) : 0.0);
    for (const auto& [type, e] : by_type)
      fmt::print("  {:<6} {:>4} tensors {:>10.2f} MB\n", type, e.first, static_cast<double>(e.second) / 1e6);
    if (f.find("general.architecture") && !f.tensors().empty()) {
      const auto model = Model::from_gguf(GgufFile::open(o->path));
      const ModelConfig& c = model->config();
      fmt::print("\nmodel: {} | dim {} | layers {} | heads {} (kv {}) | head size {} | hidden {} | vocab {} | "
                 "context {} | rope base {} | output {}\n",
                 c.arch_name, c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.hidden_dim, c.n_vocab,
                 c.ctx_train, c.rope_base, c.tied_output ? "tied" : "separate");
    }
    return 0;
  }};
}

}  // namespace aded::cli
