// libFuzzer target: distillation sets (`aded train --distill SET`, and the set distill-data
// continues). Any bytes must be refused with aded::InputError or give a set whose every record
// fits its header (tokens and ids in the vocabulary, distributions of top_k entries that sum to
// 1); the first byte chooses whether checksums are verified, so mutations also reach the checks
// behind them.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "aded/error.h"
#include "distillation/distill_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool verify = (data[0] & 1) != 0;
  try {
    const auto set = aded::distill::parse_set({data + 1, size - 1}, "fuzz.set", verify);
    for (const auto& r : set.records) aded::distill::check_record(r, set.info, "fuzz.set");
    // What parses must serialize back to a set that parses the same.
    const auto again = aded::distill::parse_set(aded::distill::serialize(set), "again");
    if (again.records.size() != set.records.size()) {
      std::fprintf(stderr, "distill_set_fuzz: the round trip lost records\n");
      std::abort();
    }
  } catch (const aded::InputError&) {
  }
  return 0;
}
