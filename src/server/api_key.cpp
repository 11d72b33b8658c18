#include "server/api_key.h"

namespace aded::server {

bool same_key(std::string_view given, std::string_view expected) {
  // Every byte of the expected key is compared whatever the given key holds; the difference is
  // accumulated, never branched on, until the end.
  unsigned diff = given.size() != expected.size() ? 1u : 0u;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0 && !expected.empty();
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (authorization.size() < kPrefix.size()) return {};
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    const char c = authorization[i];
    const char lower = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    const char want = kPrefix[i] >= 'A' && kPrefix[i] <= 'Z' ? static_cast<char>(kPrefix[i] - 'A' + 'a') : kPrefix[i];
    if (lower != want) return {};
  }
  return authorization.substr(kPrefix.size());
}

}  // namespace aded::server
