// The API key check: "Authorization: Bearer KEY", compared in time that does not depend on where
// the given key first differs (nor on its length beyond the expected key's).
#pragma once

#include <string_view>

namespace aded::server {

bool same_key(std::string_view given, std::string_view expected);
// The key of an Authorization header value ("Bearer KEY"); empty when it is not of that form.
std::string_view bearer_token(std::string_view authorization);

}  // namespace aded::server
