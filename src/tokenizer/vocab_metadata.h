// The tokenizer.ggml.* metadata of a vocabulary: the keys (llama.cpp's names), spelled once for
// the reader (Vocab::from_gguf) and every writer (vocab trainer, random models, llama2.c
// converter); what makes a GGUF file a vocabulary; the part every writer writes.
#pragma once

#include "aded/tokenizer.h"

namespace aded {

class GgufFile;
class GgufWriter;

// Throws InputError naming the file unless it has tokenizer.ggml.model and .tokens.
void require_vocabulary(const GgufFile& file);

// The model, pieces, scores, token types, and the BOS, EOS and unknown-token ids that are set.
// (The add_* flags are each writer's own choice.)
void write_vocab_core(GgufWriter& writer, const Vocab& vocab);

namespace vocab_key {

inline constexpr char kPrefix[] = "tokenizer.";  // every key of the tokenizer
inline constexpr char kModel[] = "tokenizer.ggml.model";
inline constexpr char kPre[] = "tokenizer.ggml.pre";
inline constexpr char kTokens[] = "tokenizer.ggml.tokens";
inline constexpr char kScores[] = "tokenizer.ggml.scores";
inline constexpr char kTokenType[] = "tokenizer.ggml.token_type";
inline constexpr char kMerges[] = "tokenizer.ggml.merges";
inline constexpr char kBosId[] = "tokenizer.ggml.bos_token_id";
inline constexpr char kEosId[] = "tokenizer.ggml.eos_token_id";
inline constexpr char kUnknownId[] = "tokenizer.ggml.unknown_token_id";
inline constexpr char kPaddingId[] = "tokenizer.ggml.padding_token_id";
inline constexpr char kEotId[] = "tokenizer.ggml.eot_token_id";
inline constexpr char kAddBos[] = "tokenizer.ggml.add_bos_token";
inline constexpr char kAddEos[] = "tokenizer.ggml.add_eos_token";
inline constexpr char kAddSpacePrefix[] = "tokenizer.ggml.add_space_prefix";

}  // namespace vocab_key
}  // namespace aded
