// libFuzzer target: bench-spec prompt files (`--prompts FILE.jsonl[.gz]`), JSON lines, plain or
// gzip. Any bytes must be refused with aded::InputError or give at least one prompt, each with an
// id and a category.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "aded/error.h"
#include "aded/spec_bench.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto prompts = aded::parse_bench_prompts({data, size}, "fuzz.jsonl");
    bool ok = !prompts.empty();
    for (const auto& p : prompts) ok = ok && !p.id.empty() && !p.category.empty();
    if (!ok) {
      std::fprintf(stderr, "bench_prompts_fuzz: a prompt without id or category\n");
      std::abort();
    }
  } catch (const aded::InputError&) {
  }
  return 0;
}
