// A complete tiny Llama model written as GGUF (dim 8, one layer, six tokens) whose parts a test
// can spoil, and helpers to expect its rejection. Header-only: the suite compiles *_test.cpp.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/mapped_file.h"
#include "aded/model.h"

namespace aded::testing {

inline GgufFile parse(std::vector<uint8_t> bytes, const std::string& name = "bad.gguf") {
  return GgufFile::parse(MappedFile::from_bytes(std::move(bytes), name));
}

// Runs fn, which must throw InputError; returns its message (empty, with a test failure, if fn
// succeeds or throws anything else).
inline std::string rejection(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InputError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected InputError, but the input was accepted";
  return {};
}


struct TinyModel {
  std::string arch = "llama";
  uint32_t dim = 8, hidden = 16, heads = 2, kv_heads = 1, layers = 1;
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81" "a", "b", "c"};
  int64_t vocab_rows = 6;  // rows of token_embd.weight
  float attn_norm_fill = 1.0f;
  uint32_t tensor_layers = 0;                          // layers whose tensors are written (0: layers)
  std::map<std::string, std::pair<size_t, float>> poke;  // tensor -> (element, value) to set
  // More tensors (F32) to add: dims and the value of every element.
  std::map<std::string, std::pair<std::vector<int64_t>, float>> extra;
  std::set<std::string> omit;                          // metadata keys and tensors to leave out
  std::set<std::string> zeros;                         // tensors whose every element is 0
  std::map<std::string, std::vector<int64_t>> shapes;  // tensor shape overrides
  std::function<void(GgufWriter&)> edit;               // last word on metadata (overwrites keys)

  std::vector<uint8_t> bytes() const {
    GgufWriter w;
    write_metadata(w);
    write_tensors(w);
    if (edit) edit(w);
    return w.to_bytes();
  }

  std::shared_ptr<const Model> load(const std::string& name = "tiny.gguf") const {
    return Model::from_gguf(parse(bytes(), name));
  }

 private:
  bool keep(const std::string& name) const { return !omit.count(name); }

  void write_metadata(GgufWriter& w) const {
    const std::string a = arch + ".";
    if (keep("general.architecture")) w.set_string("general.architecture", arch);
    w.set_u32(a + "embedding_length", dim);
    w.set_u32(a + "block_count", layers);
    w.set_u32(a + "feed_forward_length", hidden);
    w.set_u32(a + "attention.head_count", heads);
    w.set_u32(a + "attention.head_count_kv", kv_heads);
    w.set_u32(a + "context_length", 32);
    if (keep("tokenizer.ggml.model")) w.set_string("tokenizer.ggml.model", "llama");
    if (keep("tokenizer.ggml.tokens")) w.set_string_array("tokenizer.ggml.tokens", tokens);
    std::vector<float> scores(tokens.size());
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = -static_cast<float>(i);
    if (keep("tokenizer.ggml.scores")) w.set_f32_array("tokenizer.ggml.scores", scores);
    std::vector<int32_t> types(tokens.size(), 1);
    types[0] = 2;
    if (types.size() > 2) types[1] = types[2] = 3;
    if (keep("tokenizer.ggml.token_type")) w.set_i32_array("tokenizer.ggml.token_type", types);
    w.set_u32("tokenizer.ggml.bos_token_id", 1);
    w.set_u32("tokenizer.ggml.eos_token_id", 2);
  }

  void add(GgufWriter& w, const std::string& name, std::vector<int64_t> dims, float fill) const {
    if (!keep(name)) return;
    if (auto it = shapes.find(name); it != shapes.end()) dims = it->second;
    size_t n = 1;
    for (auto d : dims) n *= static_cast<size_t>(d);
    std::vector<float> values(n, fill);
    if (fill == 0)
      for (size_t i = 0; i < n; ++i) values[i] = 0.01f * static_cast<float>(i % 13) - 0.06f;
    if (zeros.count(name)) std::fill(values.begin(), values.end(), 0.0f);
    if (auto it = poke.find(name); it != poke.end()) values.at(it->second.first) = it->second.second;
    w.add_tensor(name, TensorType::F32, dims, [values](std::span<uint8_t> out) {
      std::memcpy(out.data(), values.data(), out.size());
    });
  }

  void write_tensors(GgufWriter& w) const {
    const int64_t d = dim, kv = dim / heads * kv_heads, h = hidden;
    add(w, "token_embd.weight", {d, vocab_rows}, 0);
    for (uint32_t l = 0; l < (tensor_layers ? tensor_layers : std::min(layers, 2u)); ++l) {
      const std::string p = "blk." + std::to_string(l) + ".";
      add(w, p + "attn_norm.weight", {d}, l == 0 ? attn_norm_fill : 1.0f);
      add(w, p + "attn_q.weight", {d, d}, 0);
      add(w, p + "attn_k.weight", {d, kv}, 0);
      add(w, p + "attn_v.weight", {d, kv}, 0);
      add(w, p + "attn_output.weight", {d, d}, 0);
      add(w, p + "ffn_norm.weight", {d}, 1.0f);
      add(w, p + "ffn_gate.weight", {d, h}, 0);
      add(w, p + "ffn_up.weight", {d, h}, 0);
      add(w, p + "ffn_down.weight", {h, d}, 0);
    }
    add(w, "output_norm.weight", {d}, 1.0f);
    for (const auto& [name, tensor] : extra) add(w, name, tensor.first, tensor.second);
  }
};

inline std::string model_rejection(const TinyModel& m) {
  return rejection([&] { (void)m.load(); });
}

}  // namespace aded::testing
