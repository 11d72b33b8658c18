// Greedy continuations recorded by `aded_spec_replay record`: one line per prompt,
// "id<TAB>prompt_tokens token token ...", the prompt's tokens first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aded {

struct Recorded {
  std::string id;
  size_t prompt_tokens = 0;
  std::vector<int32_t> tokens;  // prompt, then the greedy continuation
};

// Throws InputError naming the file and line for anything malformed.
std::vector<Recorded> read_recorded(const std::string& path);

}  // namespace aded
