#include "tokenizer/vocab_metadata.h"

#include "aded/error.h"
#include "aded/gguf.h"

namespace aded {

void require_vocabulary(const GgufFile& file) {
  if (!file.find(vocab_key::kModel) || !file.find(vocab_key::kTokens))
    fail("{}: not a vocabulary GGUF (no {} / {})", file.path(), vocab_key::kModel,
         vocab_key::kTokens);
}

void write_vocab_core(GgufWriter& writer, const Vocab& vocab) {
  std::vector<int32_t> types;
  types.reserve(vocab.kinds.size());
  for (const TokenKind kind : vocab.kinds) types.push_back(static_cast<int32_t>(kind));
  writer.set_string(vocab_key::kModel, vocab.model);
  writer.set_string_array(vocab_key::kTokens, vocab.pieces);
  writer.set_f32_array(vocab_key::kScores, vocab.scores);
  writer.set_i32_array(vocab_key::kTokenType, std::move(types));
  if (vocab.bos >= 0) writer.set_u32(vocab_key::kBosId, static_cast<uint32_t>(vocab.bos));
  if (vocab.eos >= 0) writer.set_u32(vocab_key::kEosId, static_cast<uint32_t>(vocab.eos));
  if (vocab.unk >= 0) writer.set_u32(vocab_key::kUnknownId, static_cast<uint32_t>(vocab.unk));
}

}  // namespace aded
