// Checking one setting's value against its declaration (drafter_registry.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aded/drafter_registry.h"

namespace aded {

// Declarations, for methods to list their settings with.
SettingSpec integer_setting(std::string key, int64_t min, int64_t max, int64_t default_value, std::string help,
                            std::string option = {});
SettingSpec real_setting(std::string key, double min, double max, double default_value, std::string help,
                         std::string option = {});
SettingSpec switch_setting(std::string key, bool default_value, std::string help);
SettingSpec choice_setting(std::string key, std::vector<std::string> choices, std::string default_value,
                           std::string help, std::string option = {});
SettingSpec text_setting(std::string key, std::string help, std::string option = {});
// A text setting whose value is a file's path, or is one when it starts with file_prefix.
SettingSpec file_setting(std::string key, std::string help, std::string option = {}, std::string file_prefix = {});

// The value in canonical form ("on"/"off" for switches, the number as written for numbers), or
// an InputError "<where>: <key> must be <range>, not '<value>'".
std::string checked_setting_value(const SettingSpec& spec, const std::string& value, const std::string& where);

}  // namespace aded
