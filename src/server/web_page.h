// The page served at "/": web_page.html, turned into a string at build time (src/CMakeLists.txt).
#pragma once

#include <string_view>

namespace aded::server {

std::string_view web_page_html();

}  // namespace aded::server
