// A distillation set: token sequences a target model wrote (prompt, then its response) with the
// target's next-token distribution at every response position, kept as its top k (ids,
// probabilities) and the probability mass left over. `aded distill-data` writes it, `aded train
// --distill` reads it. docs/distillation.md describes the binary format; in short (little-endian):
//
//   header  "ADEDDSET", u32 version, u32 n_vocab, u32 top_k, u32 max_tokens,
//           u32 samples_per_prompt, f32 temperature, u64 seed, u64 target_key,
//           u32 name length, name bytes (the target's file name, for messages)
//   record  "DREC", u64 prompt_key, u32 sample, u32 n_tokens, u32 response_start,
//           i32 tokens[n_tokens], then for each response position
//           (response_start .. n_tokens-1): top_k x (i32 id, f32 p), f32 rest;
//           u64 checksum (XXH3 of the record from "DREC" on)
//   trailer "DEND", u64 records, u64 checksum (XXH3 of every byte before the trailer)
//
// The distribution at position j is the target's (at temperature 1) for tokens[j] given
// tokens[0..j): the top k sorted by probability, `rest` = 1 - their sum.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace aded {
class Model;
}

namespace aded::distill {

inline constexpr uint32_t kSetVersion = 1;

// What a set was made with; a resumed run must ask for the same.
struct SetInfo {
  uint32_t n_vocab = 0;
  uint32_t top_k = 0;
  uint32_t max_tokens = 0;
  uint32_t samples_per_prompt = 0;
  float temperature = 0;
  uint64_t seed = 0;
  uint64_t target_key = 0;  // fingerprint of the target (vocabulary and shape)
  std::string target_name;

  // An empty string when `other` was made the same way, else which setting differs.
  std::string difference(const SetInfo& other) const;
};

struct Record {
  uint64_t prompt_key = 0;  // XXH3 of the prompt's text
  uint32_t sample = 0;      // which of the samples_per_prompt responses
  uint32_t response_start = 0;
  std::vector<int32_t> tokens;
  // Per response position p = j - response_start: top_k entries at [p * top_k, (p + 1) * top_k).
  std::vector<int32_t> top_ids;
  std::vector<float> top_probs;
  std::vector<float> rest;

  uint32_t response_length() const { return static_cast<uint32_t>(tokens.size()) - response_start; }
};

struct DistillSet {
  SetInfo info;
  std::vector<Record> records;

  uint64_t response_positions() const;
};

// The bytes of a whole set (header, records, trailer).
std::vector<uint8_t> serialize(const DistillSet& set);
// Parses and validates a whole set; throws InputError naming `name`, the byte offset and the
// problem (bad magic, version, sizes, ids outside the vocabulary, probabilities outside [0, 1],
// checksum mismatches, truncation, trailing bytes).
// verify_checksums false: only for the fuzz target, so that mutated bytes reach the checks after
// the checksums.
DistillSet parse_set(std::span<const uint8_t> bytes, const std::string& name,
                     bool verify_checksums = true);
DistillSet read_set(const std::string& path);
// Writes the set safely (core/output_file.h: the old file or the whole new one).
void write_set(const std::string& path, const DistillSet& set);

// Throws InputError if the record does not fit the set's info (used by the writer and reader).
void check_record(const Record& r, const SetInfo& info, const std::string& where);

// A fingerprint of a model's vocabulary and shape (SetInfo::target_key): a set is continued, and
// a drafter trained on it, only with the target that wrote it.
uint64_t target_key(const Model& model);

}  // namespace aded::distill
