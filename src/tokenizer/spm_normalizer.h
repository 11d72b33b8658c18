// SentencePiece's normalization of text as Llama's tokenizer.model does it (no Unicode rules):
// every ' ' becomes "▁" (U+2581), behind a dummy-prefix "▁" when the vocabulary asks for one.
// The tokenizer, the vocabulary trainer and the llama2.c converter all call this one function,
// so a learned or converted piece is spelled the way the encoder looks for it.
#pragma once

#include <string>
#include <string_view>

namespace aded {

inline constexpr std::string_view kSpmSpaceSymbol = "\xE2\x96\x81";  // "▁"

std::string spm_normalize(std::string_view text, bool add_space_prefix);

}  // namespace aded
