// Registry entry of the per-request drafter choice, `auto` (auto_method.cpp).
#pragma once

#include "aded/drafter_registry.h"

namespace aded {

DrafterMethod auto_method();

}  // namespace aded
