// Helpers of the tokenizer tests: SentencePiece's space symbol and readable pieces of ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aded/tokenizer.h"
#include "tokenizer/spm_normalizer.h"

namespace aded::testing {

inline const std::string kSpace(kSpmSpaceSymbol);  // "▁"

// The pieces of ids, for readable failure messages.
inline std::vector<std::string> pieces_of(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (auto id : ids) out.push_back(tok.valid(id) ? tok.vocab().pieces[id] : "<invalid>");
  return out;
}

}  // namespace aded::testing
