// Stop strings over text that arrives in pieces: where the first one begins, and how much of the
// text is final (everything but the longest tail that could still grow into a stop string).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aded {

class StopStringMatcher {
 public:
  explicit StopStringMatcher(std::vector<std::string> stops);

  // Appends a piece of text. Returns true when a stop string now appears: the text is then cut
  // where the first one (leftmost) begins, and everything left is final.
  bool append(std::string_view piece);
  const std::string& text() const { return text_; }
  // Length of the prefix of text() that no stop string can change any more.
  size_t final_length() const { return final_; }

 private:
  std::vector<std::string> stops_;
  size_t longest_ = 0;
  std::string text_;
  size_t final_ = 0;
};

}  // namespace aded
