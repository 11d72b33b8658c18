#include "recorded_sequences.h"

#include <fstream>
#include <sstream>

#include "aded/error.h"

namespace aded {

std::vector<Recorded> read_recorded(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open", path);
  std::vector<Recorded> out;
  std::string line;
  for (size_t line_no = 1; std::getline(in, line); ++line_no) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos)
      fail("{}: line {}: expected 'id<TAB>prompt_tokens tokens...'", path, line_no);
    Recorded r;
    r.id = line.substr(0, tab);
    std::istringstream fields(line.substr(tab + 1));
    int64_t v;
    if (!(fields >> r.prompt_tokens)) fail("{}: line {}: no prompt length", path, line_no);
    while (fields >> v) r.tokens.push_back(static_cast<int32_t>(v));
    if (r.prompt_tokens < 2 || r.prompt_tokens >= r.tokens.size())
      fail("{}: line {}: the prompt length does not fit the tokens", path, line_no);
    out.push_back(std::move(r));
  }
  if (out.empty()) fail("{}: no recorded sequences", path);
  return out;
}

}  // namespace aded
