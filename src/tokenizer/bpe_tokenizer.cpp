// Placeholder until the byte-level BPE tokenizer lands.
#include "aded/error.h"
#include "tokenizer_impl.h"

namespace aded {
std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab) { throw Error("BPE tokenizer: not built yet"); }
}  // namespace aded
