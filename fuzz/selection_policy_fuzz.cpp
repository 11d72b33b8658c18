// libFuzzer target: the files of the per-request drafter choice, selection logs (bench-spec
// --select-log, read by `aded select train --log`) and policies (`--spec auto:policy=FILE`). Any
// bytes must be refused with aded::InputError or parse; a parsed policy must write back to itself
// and give a finite prediction for every arm; parsed log rows must be learned from or refused.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "aded/error.h"
#include "aded/selection_policy.h"

namespace {

[[noreturn]] void failure(const char* what) {
  std::fprintf(stderr, "selection_policy_fuzz: %s\n", what);
  std::abort();
}

void check_policy(const aded::SelectionPolicy& p) {
  aded::RequestFeatures x;
  x.values = {1, 0.8, 0, 0.5, 0.1, 0.3, 0, 0, 0};
  for (const auto& m : p.models)
    if (!std::isfinite(m.mean(x)) || !std::isfinite(m.uncertainty(x))) failure("a prediction is not finite");
  const int chosen = p.choose(x, 0.1);
  if (chosen < 0 || static_cast<size_t>(chosen) >= p.arms.size()) failure("chose no arm");
  const aded::SelectionPolicy back = aded::parse_selection_policy(aded::selection_policy_json(p), "written.json");
  if (back.arms != p.arms || back.table != p.table) failure("a written policy reads back differently");
  for (size_t a = 0; a < p.arms.size(); ++a)
    if (back.models[a].a() != p.models[a].a() || back.models[a].b() != p.models[a].b())
      failure("a written policy's sums read back differently");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    check_policy(aded::parse_selection_policy(text, "fuzz.json"));
  } catch (const aded::InputError&) {
  }
  try {
    const auto rows = aded::parse_selection_log(text, "fuzz.jsonl");
    std::string written;
    for (const auto& r : rows) written += aded::selection_log_line(r);
    if (aded::parse_selection_log(written, "written.jsonl").size() != rows.size()) failure("log rows read back differently");
    check_policy(aded::train_selection_policy(rows));
  } catch (const aded::InputError&) {
  }
  return 0;
}
