#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/tokenizer.h"
#include "tokenizer/vocab_metadata.h"

namespace aded {

namespace {

int32_t special_id(const GgufFile& f, std::string_view key, int32_t n_vocab) {
  const GgufValue* v = f.find(key);
  if (!v) return -1;
  if (!v->is_integer()) fail("{}: metadata '{}' should be an integer", f.path(), key);
  // Some converters write -1 (as a signed or wrapped unsigned value) for "none".
  if (v->i == -1 || v->u == 0xFFFFFFFFu) return -1;
  if (v->i < 0 || v->i >= n_vocab)
    fail("{}: metadata '{}' = {} is outside the vocabulary (size {})", f.path(), key, v->i, n_vocab);
  return static_cast<int32_t>(v->i);
}

}  // namespace

Vocab Vocab::from_gguf(const GgufFile& f) {
  Vocab v;
  const auto model = f.string_or(vocab_key::kModel);
  if (!model)
    fail("{}: no tokenizer in this file (metadata '{}' is missing)", f.path(), vocab_key::kModel);
  v.model = std::string(*model);
  if (v.model != "llama" && v.model != "gpt2")
    fail("{}: unsupported tokenizer model '{}' (supported: llama, gpt2)", f.path(), v.model);
  v.pre = std::string(f.string_or(vocab_key::kPre).value_or(""));

  const auto& tokens = f.get_string_array(vocab_key::kTokens);
  if (tokens.empty()) fail("{}: {} is empty", f.path(), vocab_key::kTokens);
  if (tokens.size() > (1u << 24))
    fail("{}: {} has {} entries (too many)", f.path(), vocab_key::kTokens, tokens.size());
  const auto n = static_cast<int32_t>(tokens.size());
  v.pieces.reserve(tokens.size());
  for (auto t : tokens) v.pieces.emplace_back(t);

  if (f.find(vocab_key::kScores)) {
    v.scores = f.get_f32_array(vocab_key::kScores);
    if (v.scores.size() != tokens.size())
      fail("{}: {} has {} entries, tokens has {}", f.path(), vocab_key::kScores, v.scores.size(),
           n);
  }
  v.kinds.assign(tokens.size(), TokenKind::Normal);
  if (f.find(vocab_key::kTokenType)) {
    const auto types = f.get_i32_array(vocab_key::kTokenType);
    if (types.size() != tokens.size())
      fail("{}: {} has {} entries, tokens has {}", f.path(), vocab_key::kTokenType, types.size(),
           n);
    for (size_t i = 0; i < types.size(); ++i) {
      if (types[i] < 0 || types[i] > 6)
        fail("{}: {}[{}] = {} is not a known token type", f.path(), vocab_key::kTokenType, i,
             types[i]);
      v.kinds[i] = static_cast<TokenKind>(types[i]);
    }
  }
  if (v.model == "gpt2") {
    const auto& merges = f.get_string_array(vocab_key::kMerges);
    v.merges.reserve(merges.size());
    for (auto m : merges) v.merges.emplace_back(m);
  }

  v.bos = special_id(f, vocab_key::kBosId, n);
  v.eos = special_id(f, vocab_key::kEosId, n);
  v.unk = special_id(f, vocab_key::kUnknownId, n);
  v.pad = special_id(f, vocab_key::kPaddingId, n);
  v.eot = special_id(f, vocab_key::kEotId, n);
  const bool spm = v.model == "llama";
  v.add_bos = f.bool_or(vocab_key::kAddBos).value_or(spm);
  v.add_eos = f.bool_or(vocab_key::kAddEos).value_or(false);
  v.add_space_prefix = f.bool_or(vocab_key::kAddSpacePrefix).value_or(spm);
  if (spm && v.unk < 0) {
    for (int32_t i = 0; i < n; ++i)
      if (v.kinds[i] == TokenKind::Unknown) { v.unk = i; break; }
  }
  v.piece_to_id.reserve(tokens.size());
  for (int32_t i = 0; i < n; ++i) v.piece_to_id.emplace(v.pieces[i], i);
  return v;
}

}  // namespace aded
