// libFuzzer target: the tri-gram table reader (`--ngram TABLE`, a file users pass in). Any bytes
// must either be refused with aded::InputError or give a table whose every lookup stays inside
// the file and returns successors that make probabilities: tokens in the vocabulary, counts
// positive and decreasing, never more than the pair's total.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "aded/error.h"
#include "aded/mapped_file.h"
#include "aded/trigram_table.h"

namespace {

void check(bool ok, const char* invariant) {
  if (ok) return;
  std::fprintf(stderr, "trigram_table_fuzz: invariant violated: %s\n", invariant);
  std::abort();
}

void check_successors(const aded::TrigramTable& t, int32_t a, int32_t b) {
  const auto s = t.find(a, b);
  if (s.size == 0) return;
  check(s.tokens != nullptr && s.counts != nullptr, "successor arrays");
  uint64_t sum = 0;
  for (uint32_t i = 0; i < s.size; ++i) {
    check(s.tokens[i] < t.vocab_size(), "successor token in the vocabulary");
    check(s.counts[i] > 0, "positive count");
    check(i == 0 || s.counts[i] <= s.counts[i - 1], "counts decreasing");
    sum += s.counts[i];
  }
  check(sum <= s.total, "counts within the pair's total");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  for (int top_k : {0, 3}) {
    std::shared_ptr<const aded::TrigramTable> table;
    try {
      table = aded::TrigramTable::open(aded::MappedFile::from_bytes(bytes, "fuzz.tri"), nullptr, top_k);
    } catch (const aded::InputError&) {
      return 0;
    }
    check(table->keys() <= table->file_bytes(), "key count bounded by the file");
    // Pairs from the input itself (they hit stored keys often), plus edge values.
    for (size_t i = 0; i + 8 <= size && i < 4096; i += 4) {
      int32_t a, b;
      std::memcpy(&a, data + i, 4);
      std::memcpy(&b, data + i + 4, 4);
      check_successors(*table, a, b);
      check_successors(*table, a % 64, b % 64);
    }
    for (int32_t a : {-1, 0, 1, 1 << 30})
      for (int32_t b : {-1, 0, 1, 1 << 30}) check_successors(*table, a, b);
  }
  return 0;
}
