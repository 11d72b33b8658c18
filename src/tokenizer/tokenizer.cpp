#include "aded/tokenizer.h"

#include "aded/error.h"
#include "aded/gguf.h"
#include "tokenizer_impl.h"

namespace aded {

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) {
  Vocab vocab = Vocab::from_gguf(file);
  try {
    return from_vocab(std::move(vocab));
  } catch (const InputError& e) {
    // Building the tokenizer (merges, pre-tokenizer) does not know the file: name it here.
    fail("{}: {}", file.path(), e.what());
  }
}

std::unique_ptr<Tokenizer> Tokenizer::from_vocab(Vocab vocab) {
  if (vocab.model == "llama") return make_spm_tokenizer(std::move(vocab));
  if (vocab.model == "gpt2") return make_bpe_tokenizer(std::move(vocab));
  fail("unsupported tokenizer model '{}'", vocab.model);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  Detokenizer d(*this);
  std::string out;
  for (auto id : ids) out += d.push(id);
  return out + d.flush();
}

std::string Detokenizer::push(int32_t id) {
  if (!tok_.valid(id)) return {};
  const auto kind = tok_.vocab().kinds[static_cast<size_t>(id)];
  if (id == tok_.bos()) {
    at_start_ = true;
    return {};
  }
  std::string bytes = tok_.token_bytes(id);
  if (at_start_ && kind != TokenKind::Control) {
    if (tok_.vocab().add_space_prefix && !bytes.empty() && bytes[0] == ' ') bytes.erase(0, 1);
    at_start_ = false;
  }
  pending_ += bytes;
  return take_complete_utf8(pending_);
}

std::string Detokenizer::flush() {
  std::string out;
  if (!pending_.empty()) out = "\xEF\xBF\xBD";
  pending_.clear();
  return out;
}

std::string take_complete_utf8(std::string& buf) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  size_t i = 0;
  const size_t n = buf.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(buf[i]);
    size_t len;
    uint32_t min_cp;
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2, min_cp = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3, min_cp = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4, min_cp = 0x10000;
    } else {
      out += kReplacement;
      ++i;
      continue;
    }
    // Check the continuation bytes that are present.
    size_t k = 1;
    uint32_t cp = c & (0xFFu >> (len + 1));
    bool bad = false;
    for (; k < len && i + k < n; ++k) {
      const auto cc = static_cast<unsigned char>(buf[i + k]);
      if ((cc & 0xC0) != 0x80) {
        bad = true;
        break;
      }
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (bad) {
      out += kReplacement;
      i += k;
      continue;
    }
    if (k < len) break;  // incomplete: keep for later
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      out += kReplacement;
    } else {
      out.append(buf, i, len);
    }
    i += len;
  }
  buf.erase(0, i);
  return out;
}

}  // namespace aded
