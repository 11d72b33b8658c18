#include "distillation/distill_set.h"

#include <xxhash.h>

#include <cmath>
#include <cstring>

#include "aded/error.h"
#include "aded/mapped_file.h"
#include "aded/model.h"
#include "core/output_file.h"

namespace aded::distill {

namespace {

constexpr char kMagic[8] = {'A', 'D', 'E', 'D', 'D', 'S', 'E', 'T'};
constexpr char kRecordMagic[4] = {'D', 'R', 'E', 'C'};
constexpr char kEndMagic[4] = {'D', 'E', 'N', 'D'};
// Limits that keep a corrupt length from asking for gigabytes.
constexpr uint32_t kMaxVocab = 1u << 24;
constexpr uint32_t kMaxTopK = 1u << 16;
constexpr uint32_t kMaxTokens = 1u << 20;
constexpr uint32_t kMaxNameBytes = 4096;
// Stored probabilities are floats that were summed in double: a little over 1 is rounding.
constexpr float kProbabilitySlack = 1e-4f;

class Writer {
 public:
  template <typename T>
  void put(const T& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  template <typename T>
  void put_all(const std::vector<T>& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    bytes.insert(bytes.end(), p, p + v.size() * sizeof(T));
  }
  void put_bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes.insert(bytes.end(), b, b + n);
  }
  std::vector<uint8_t> bytes;
};

class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  void expect_magic(const char* magic, size_t n, const char* what) {
    need(n, what);
    if (std::memcmp(bytes_.data() + pos_, magic, n) != 0)
      fail("{}: not a distillation set ({} expected at byte {})", name_, what, pos_);
    pos_ += n;
  }
  const uint8_t* take(size_t n, const char* what) {
    need(n, what);
    const uint8_t* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  void need(size_t n, const char* what) const {
    if (bytes_.size() - pos_ < n)
      fail("{}: truncated at byte {} (reading {}; the file has {} bytes)", name_, pos_, what,
           bytes_.size());
  }
  size_t pos() const { return pos_; }
  size_t left() const { return bytes_.size() - pos_; }
  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  std::span<const uint8_t> bytes_;
  const std::string& name_;
  size_t pos_ = 0;
};

void put_info(Writer& w, const SetInfo& info) {
  w.put_bytes(kMagic, sizeof kMagic);
  w.put(kSetVersion);
  w.put(info.n_vocab);
  w.put(info.top_k);
  w.put(info.max_tokens);
  w.put(info.samples_per_prompt);
  w.put(info.temperature);
  w.put(info.seed);
  w.put(info.target_key);
  w.put(static_cast<uint32_t>(info.target_name.size()));
  w.put_bytes(info.target_name.data(), info.target_name.size());
}

SetInfo get_info(Reader& r, const std::string& name) {
  r.expect_magic(kMagic, sizeof kMagic, "the magic ADEDDSET");
  const auto version = r.get<uint32_t>("the version");
  if (version != kSetVersion)
    fail("{}: distillation set version {}; this aded reads version {}", name, version, kSetVersion);
  SetInfo info;
  info.n_vocab = r.get<uint32_t>("n_vocab");
  info.top_k = r.get<uint32_t>("top_k");
  info.max_tokens = r.get<uint32_t>("max_tokens");
  info.samples_per_prompt = r.get<uint32_t>("samples_per_prompt");
  info.temperature = r.get<float>("temperature");
  info.seed = r.get<uint64_t>("seed");
  info.target_key = r.get<uint64_t>("target_key");
  const auto name_bytes = r.get<uint32_t>("the target name's length");
  if (info.n_vocab < 2 || info.n_vocab > kMaxVocab)
    fail("{}: vocabulary of {} tokens (2 to {} expected)", name, info.n_vocab, kMaxVocab);
  if (info.top_k < 1 || info.top_k > info.n_vocab || info.top_k > kMaxTopK)
    fail("{}: top_k {} is outside 1..{}", name, info.top_k, std::min(info.n_vocab, kMaxTopK));
  if (!(info.temperature >= 0 && std::isfinite(info.temperature)))
    fail("{}: temperature {} is not a finite number >= 0", name, info.temperature);
  if (name_bytes > kMaxNameBytes) fail("{}: target name of {} bytes", name, name_bytes);
  const uint8_t* p = r.take(name_bytes, "the target name");
  info.target_name.assign(reinterpret_cast<const char*>(p), name_bytes);
  return info;
}

uint64_t xxh3(const uint8_t* p, size_t n) {
  return XXH3_64bits(p, n);
}

}  // namespace

std::string SetInfo::difference(const SetInfo& o) const {
  if (target_key != o.target_key)
    return fmt::format("it was made with another target ({})", o.target_name);
  if (n_vocab != o.n_vocab) return fmt::format("vocabulary {} vs {}", o.n_vocab, n_vocab);
  if (top_k != o.top_k) return fmt::format("--top-k-probs {} (not {})", o.top_k, top_k);
  if (max_tokens != o.max_tokens)
    return fmt::format("--max-tokens {} (not {})", o.max_tokens, max_tokens);
  if (samples_per_prompt != o.samples_per_prompt)
    return fmt::format("--samples-per-prompt {} (not {})", o.samples_per_prompt,
                       samples_per_prompt);
  if (temperature != o.temperature)
    return fmt::format("--temp {} (not {})", o.temperature, temperature);
  if (seed != o.seed) return fmt::format("--seed {} (not {})", o.seed, seed);
  return {};
}

uint64_t DistillSet::response_positions() const {
  uint64_t n = 0;
  for (const Record& r : records) n += r.response_length();
  return n;
}

void check_record(const Record& r, const SetInfo& info, const std::string& where) {
  const size_t n = r.tokens.size();
  if (n < 2 || n > kMaxTokens) fail("{}: {} tokens (2 to {} expected)", where, n, kMaxTokens);
  if (r.response_start < 1 || r.response_start >= n)
    fail("{}: the response starts at {} of {} tokens", where, r.response_start, n);
  for (int32_t t : r.tokens)
    if (t < 0 || static_cast<uint32_t>(t) >= info.n_vocab)
      fail("{}: token {} is outside the vocabulary of {}", where, t, info.n_vocab);
  const size_t positions = r.response_length(), k = info.top_k;
  if (r.top_ids.size() != positions * k || r.top_probs.size() != positions * k ||
      r.rest.size() != positions)
    fail("{}: distributions of the wrong size", where);
  for (size_t p = 0; p < positions; ++p) {
    double sum = r.rest[p];
    if (!(r.rest[p] >= 0 && r.rest[p] <= 1 + kProbabilitySlack))
      fail("{}: position {}: rest mass {} is outside [0, 1]", where, p, r.rest[p]);
    for (size_t i = p * k; i < (p + 1) * k; ++i) {
      if (r.top_ids[i] < 0 || static_cast<uint32_t>(r.top_ids[i]) >= info.n_vocab)
        fail("{}: position {}: token {} is outside the vocabulary of {}", where, p, r.top_ids[i],
             info.n_vocab);
      if (!(r.top_probs[i] >= 0 && r.top_probs[i] <= 1 + kProbabilitySlack))
        fail("{}: position {}: probability {} is outside [0, 1]", where, p, r.top_probs[i]);
      sum += r.top_probs[i];
    }
    if (std::fabs(sum - 1.0) > 1e-3)
      fail("{}: position {}: the probabilities sum to {}, not 1", where, p, sum);
  }
}

std::vector<uint8_t> serialize(const DistillSet& set) {
  Writer w;
  put_info(w, set.info);
  for (const Record& r : set.records) {
    const size_t start = w.bytes.size();
    w.put_bytes(kRecordMagic, sizeof kRecordMagic);
    w.put(r.prompt_key);
    w.put(r.sample);
    w.put(static_cast<uint32_t>(r.tokens.size()));
    w.put(r.response_start);
    w.put_all(r.tokens);
    const size_t k = set.info.top_k;
    for (size_t p = 0; p < r.rest.size(); ++p) {
      for (size_t i = p * k; i < (p + 1) * k; ++i) {
        w.put(r.top_ids[i]);
        w.put(r.top_probs[i]);
      }
      w.put(r.rest[p]);
    }
    w.put(xxh3(w.bytes.data() + start, w.bytes.size() - start));
  }
  const uint64_t body = xxh3(w.bytes.data(), w.bytes.size());
  w.put_bytes(kEndMagic, sizeof kEndMagic);
  w.put(static_cast<uint64_t>(set.records.size()));
  w.put(body);
  return std::move(w.bytes);
}

DistillSet parse_set(std::span<const uint8_t> bytes, const std::string& name,
                     bool verify_checksums) {
  Reader r(bytes, name);
  DistillSet set;
  set.info = get_info(r, name);
  const size_t k = set.info.top_k;
  while (true) {
    r.need(4, "a record or the trailer");
    if (std::memcmp(bytes.data() + r.pos(), kEndMagic, 4) == 0) break;
    const size_t start = r.pos();
    const std::string where =
        fmt::format("{}: record {} (byte {})", name, set.records.size(), start);
    r.expect_magic(kRecordMagic, sizeof kRecordMagic, "a record (DREC) or the trailer (DEND)");
    Record rec;
    rec.prompt_key = r.get<uint64_t>("prompt_key");
    rec.sample = r.get<uint32_t>("sample");
    const auto n = r.get<uint32_t>("n_tokens");
    rec.response_start = r.get<uint32_t>("response_start");
    if (n < 2 || n > kMaxTokens) fail("{}: {} tokens (2 to {} expected)", where, n, kMaxTokens);
    if (rec.response_start < 1 || rec.response_start >= n)
      fail("{}: the response starts at {} of {} tokens", where, rec.response_start, n);
    rec.tokens.resize(n);
    std::memcpy(rec.tokens.data(), r.take(n * sizeof(int32_t), "tokens"), n * sizeof(int32_t));
    const size_t positions = n - rec.response_start;
    // Size check before allocating: a corrupt count must not ask for more than the file holds.
    r.need(positions * (k * 8 + 4), "distributions");
    rec.top_ids.resize(positions * k);
    rec.top_probs.resize(positions * k);
    rec.rest.resize(positions);
    for (size_t p = 0; p < positions; ++p) {
      for (size_t i = p * k; i < (p + 1) * k; ++i) {
        rec.top_ids[i] = r.get<int32_t>("a token id");
        rec.top_probs[i] = r.get<float>("a probability");
      }
      rec.rest[p] = r.get<float>("a rest mass");
    }
    const uint64_t expected = xxh3(bytes.data() + start, r.pos() - start);
    if (r.get<uint64_t>("a record checksum") != expected && verify_checksums)
      fail("{}: checksum mismatch (the file is damaged)", where);
    check_record(rec, set.info, where);
    set.records.push_back(std::move(rec));
  }
  const uint64_t body = xxh3(bytes.data(), r.pos());
  r.expect_magic(kEndMagic, sizeof kEndMagic, "the trailer");
  const auto count = r.get<uint64_t>("the record count");
  const auto checksum = r.get<uint64_t>("the checksum");
  if (count != set.records.size())
    fail("{}: the trailer says {} records, the file holds {}", name, count, set.records.size());
  if (checksum != body && verify_checksums)
    fail("{}: checksum mismatch (the file is damaged)", name);
  if (r.left() != 0) fail("{}: {} bytes after the trailer", name, r.left());
  return set;
}

DistillSet read_set(const std::string& path) {
  const auto file = MappedFile::open(path);
  return parse_set(file->bytes(), path);
}

void write_set(const std::string& path, const DistillSet& set) {
  write_output_file(path, serialize(set));
}

uint64_t target_key(const Model& model) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  const ModelConfig& c = model.config();
  const int64_t shape[] = {c.n_vocab, c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.hidden_dim};
  XXH3_64bits_update(state, shape, sizeof shape);
  const uint64_t params = model.parameter_count();
  XXH3_64bits_update(state, &params, sizeof params);
  for (const std::string& piece : model.tokenizer().vocab().pieces)
    XXH3_64bits_update(state, piece.data(), piece.size() + 1);  // with the terminating NUL
  const uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return h;
}

}  // namespace aded::distill
