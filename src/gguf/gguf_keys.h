// The general.* metadata keys (GGUF's own section) that more than one part of aded reads or
// writes, spelled once.
#pragma once

namespace aded {

inline constexpr char kAlignmentKey[] = "general.alignment";
inline constexpr char kArchitectureKey[] = "general.architecture";
inline constexpr char kModelNameKey[] = "general.name";
inline constexpr char kFileTypeKey[] = "general.file_type";

}  // namespace aded
