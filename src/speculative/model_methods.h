// Registry entries of the drafters that run a model (model_methods.cpp).
#pragma once

#include "aded/drafter_registry.h"

namespace aded {

DrafterMethod draft_model_method();
DrafterMethod self_draft_method();

}  // namespace aded
