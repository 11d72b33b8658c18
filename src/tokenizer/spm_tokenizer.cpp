// Placeholder until the SentencePiece tokenizer lands.
#include "aded/error.h"
#include "tokenizer_impl.h"

namespace aded {
std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocab) { throw Error("SPM tokenizer: not built yet"); }
}  // namespace aded
