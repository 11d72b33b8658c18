// Internal: constructors of the concrete tokenizers (one file each).
#pragma once

#include <memory>

#include "aded/tokenizer.h"

namespace aded {

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocab vocab);  // spm_tokenizer.cpp
std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab vocab);  // bpe_tokenizer.cpp

}  // namespace aded
