#include "generation/stop_strings.h"

#include <algorithm>

namespace aded {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
  for (const auto& s : stops_) longest_ = std::max(longest_, s.size());
}

bool StopStringMatcher::append(std::string_view piece) {
  // A new occurrence must end inside the piece, so it starts at most longest_ - 1 bytes earlier.
  const size_t from = text_.size() >= longest_ ? text_.size() - longest_ + 1 : 0;
  text_.append(piece);
  size_t first = std::string::npos;
  for (const auto& s : stops_) first = std::min(first, text_.find(s, from));
  if (first != std::string::npos) {
    text_.resize(first);
    final_ = text_.size();
    return true;
  }
  // Hold back the longest tail that is a proper prefix of a stop string.
  size_t held = 0;
  for (const auto& s : stops_)
    for (size_t len = std::min(s.size() - 1, text_.size()); len > held; --len)
      if (text_.compare(text_.size() - len, len, s, 0, len) == 0) {
        held = len;
        break;
      }
  final_ = text_.size() - held;
  return false;
}

}  // namespace aded
