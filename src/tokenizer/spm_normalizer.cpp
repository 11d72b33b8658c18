#include "tokenizer/spm_normalizer.h"

namespace aded {

std::string spm_normalize(std::string_view text, bool add_space_prefix) {
  std::string out;
  out.reserve(text.size() + text.size() / 4 + kSpmSpaceSymbol.size());
  if (add_space_prefix) out += kSpmSpaceSymbol;
  for (const char c : text) {
    if (c == ' ')
      out += kSpmSpaceSymbol;
    else
      out += c;
  }
  return out;
}

}  // namespace aded
