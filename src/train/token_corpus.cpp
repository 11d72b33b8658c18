#include "train/token_corpus.h"

#include <xxhash.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "aded/error.h"
#include "aded/mapped_file.h"
#include "core/output_file.h"
#include "train/token_cache.h"

namespace aded::train {

namespace {

constexpr std::string_view kSectionMarker = "# ==== file: ";
constexpr std::string_view kSectionMarkerLine = "\n# ==== file: ";
// Documents longer than this are tokenized in pieces cut at line ends (tokenizers slow down on
// very long inputs, and the pieces spread over the threads).
constexpr size_t kPieceBytes = 1 << 20;

// Length of the valid UTF-8 sequence at the start of s, or 0.
size_t utf8_sequence(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || n > s.size()) return 0;
  for (size_t i = 1; i < n; ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) return 0;
  return n;
}

struct Piece {
  size_t document;
  std::string_view text;
  bool first;  // the document's first piece: gets BOS and the tokenizer's usual space prefix
};

std::vector<Piece> cut_pieces(const std::vector<std::string_view>& documents) {
  std::vector<Piece> pieces;
  for (size_t d = 0; d < documents.size(); ++d) {
    std::string_view rest = documents[d];
    bool first = true;
    do {
      size_t cut = rest.size();
      if (cut > kPieceBytes) {
        const size_t newline = rest.rfind('\n', kPieceBytes);
        cut = newline == std::string_view::npos || newline == 0 ? kPieceBytes : newline + 1;
      }
      pieces.push_back({d, rest.substr(0, cut), first});
      rest.remove_prefix(cut);
      first = false;
    } while (!rest.empty());
  }
  return pieces;
}

uint64_t corpus_key(const std::vector<std::shared_ptr<const MappedFile>>& files,
                    const MappedFile& vocab) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  const std::string version = "aded-corpus-v1: BOS-separated documents, '# ==== file:' sections";
  XXH3_64bits_update(state, version.data(), version.size());
  for (const auto& f : files) {
    const uint64_t size = f->bytes().size();
    XXH3_64bits_update(state, &size, sizeof(size));
    XXH3_64bits_update(state, f->bytes().data(), f->bytes().size());
  }
  XXH3_64bits_update(state, vocab.bytes().data(), vocab.bytes().size());
  const uint64_t key = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return key;
}

bool read_cache(const std::string& path, uint64_t key, int32_t vocab_size, CorpusTokens& out) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  try {
    const auto file = MappedFile::open(path);
    auto cached = parse_token_cache(file->bytes(), key, vocab_size);
    if (!cached) return false;
    out.tokens = std::move(cached->tokens);
    out.documents = cached->documents;
    out.bytes = cached->bytes;
    return true;
  } catch (const Error&) {
    return false;  // unreadable: tokenize again
  }
}

void write_cache(const std::string& path, const CorpusTokens& c) {
  CacheHeader h{};
  std::memcpy(h.magic, kCacheMagic, sizeof(kCacheMagic));
  h.key = c.key;
  h.n_tokens = c.tokens.size();
  h.documents = c.documents;
  h.bytes = c.bytes;
  const size_t data_bytes = c.tokens.size() * sizeof(int32_t);
  const uint64_t checksum = XXH3_64bits(c.tokens.data(), data_bytes);
  OutputFile out(path);
  out.write(&h, sizeof(h));
  out.write(c.tokens.data(), data_bytes);
  out.write(&checksum, sizeof(checksum));
  out.commit();
}

}  // namespace

std::vector<std::string_view> split_documents(std::string_view text) {
  if (!text.starts_with(kSectionMarker) && text.find(kSectionMarkerLine) == std::string_view::npos)
    return {text};
  std::vector<std::string_view> docs;
  size_t start = 0;  // at a marker line, or 0
  while (start < text.size()) {
    const size_t next = text.find(kSectionMarkerLine, start);
    const size_t end = next == std::string_view::npos ? text.size() : next + 1;
    std::string_view section = text.substr(start, end - start);
    if (section.starts_with(kSectionMarker)) {
      const size_t eol = section.find('\n');
      section = eol == std::string_view::npos ? std::string_view{} : section.substr(eol + 1);
    }
    if (!section.empty()) docs.push_back(section);
    start = end;
  }
  return docs;
}

void check_text_file(std::string_view bytes, const std::string& path) {
  if (bytes.empty()) fail("{}: the corpus file is empty", path);
  if (bytes.find('\0') != std::string_view::npos)
    fail("{}: not a text file (it contains NUL bytes); the corpus must be UTF-8 text", path);
  size_t invalid = 0;
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = utf8_sequence(bytes.substr(i));
    if (n == 0) {
      ++invalid;
      ++i;
    } else {
      i += n;
    }
  }
  if (invalid * 100 > bytes.size())
    fail("{}: not a text file ({} of {} bytes are not valid UTF-8); the corpus must be UTF-8 text",
         path, invalid, bytes.size());
}

CorpusTokens load_corpus(const CorpusOptions& o, const Tokenizer& tokenizer, ThreadPool& pool) {
  if (o.files.empty()) fail("no corpus files given");
  std::vector<std::shared_ptr<const MappedFile>> files;
  CorpusTokens result;
  for (const std::string& path : o.files) {
    files.push_back(MappedFile::open(path));
    const auto b = files.back()->bytes();
    check_text_file({reinterpret_cast<const char*>(b.data()), b.size()}, path);
    result.bytes += b.size();
  }
  const auto vocab = MappedFile::open(o.vocab_path);
  result.key = corpus_key(files, *vocab);
  if (!o.cache_dir.empty()) {
    result.cache_path =
        (std::filesystem::path(o.cache_dir) / fmt::format("aded-tokens-{:016x}.bin", result.key))
            .string();
    if (read_cache(result.cache_path, result.key, tokenizer.size(), result)) {
      result.from_cache = true;
      return result;
    }
  }

  std::vector<std::string_view> documents;
  for (const auto& f : files) {
    const auto docs =
        split_documents({reinterpret_cast<const char*>(f->bytes().data()), f->bytes().size()});
    documents.insert(documents.end(), docs.begin(), docs.end());
  }
  const std::vector<Piece> pieces = cut_pieces(documents);
  // Continuation pieces of a long document must not get the SentencePiece dummy-prefix space.
  Vocab no_prefix_vocab = tokenizer.vocab();
  no_prefix_vocab.add_space_prefix = false;
  const auto continuation = Tokenizer::from_vocab(std::move(no_prefix_vocab));
  const int32_t bos = tokenizer.bos(), eos = tokenizer.eos();

  std::vector<std::vector<int32_t>> piece_tokens(pieces.size());
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> bytes_done{0}, tokens_done{0};
  auto last_report = std::chrono::steady_clock::now();
  pool.run([&](int t, int) {
    for (size_t i; (i = next.fetch_add(1)) < pieces.size();) {
      const Piece& p = pieces[i];
      std::vector<int32_t>& ids = piece_tokens[i];
      ids = (p.first ? tokenizer : *continuation).encode(p.text, p.first && bos >= 0);
      // Without a BOS token, EOS ends each document instead.
      const bool last = i + 1 == pieces.size() || pieces[i + 1].first;
      if (bos < 0 && eos >= 0 && last) ids.push_back(eos);
      bytes_done += p.text.size();
      tokens_done += ids.size();
      if (t == 0 && o.progress &&
          std::chrono::steady_clock::now() - last_report > std::chrono::milliseconds(500)) {
        last_report = std::chrono::steady_clock::now();
        o.progress({bytes_done.load(), result.bytes, tokens_done.load()});
      }
    }
  });
  size_t total = 0;
  for (const auto& ids : piece_tokens) total += ids.size();
  result.tokens.reserve(total);
  for (const auto& ids : piece_tokens)
    result.tokens.insert(result.tokens.end(), ids.begin(), ids.end());
  result.documents = documents.size();
  if (o.progress) o.progress({result.bytes, result.bytes, result.tokens.size()});
  if (!result.cache_path.empty()) {
    try {
      write_cache(result.cache_path, result);
    } catch (const Error& e) {
      result.cache_error = e.what();
    }
  }
  return result;
}

}  // namespace aded::train
