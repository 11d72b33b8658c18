#include "speculative/method_settings.h"

#include <charconv>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "aded/error.h"

namespace aded {

namespace {
SettingSpec declared(std::string key, SettingSpec::Kind kind, std::string default_value, std::string help,
                     std::string option) {
  SettingSpec s;
  s.key = std::move(key);
  s.kind = kind;
  s.default_value = std::move(default_value);
  s.help = std::move(help);
  s.option = std::move(option);
  return s;
}
}  // namespace

SettingSpec integer_setting(std::string key, int64_t min, int64_t max, int64_t default_value, std::string help,
                            std::string option) {
  SettingSpec s = declared(std::move(key), SettingSpec::Kind::Integer, std::to_string(default_value), std::move(help),
                           std::move(option));
  s.min = min;
  s.max = max;
  return s;
}

SettingSpec real_setting(std::string key, double min, double max, double default_value, std::string help,
                         std::string option) {
  SettingSpec s = declared(std::move(key), SettingSpec::Kind::Real, fmt::format("{}", default_value), std::move(help),
                           std::move(option));
  s.min_real = min;
  s.max_real = max;
  return s;
}

SettingSpec switch_setting(std::string key, bool default_value, std::string help) {
  return declared(std::move(key), SettingSpec::Kind::Switch, default_value ? "on" : "off", std::move(help), {});
}

SettingSpec choice_setting(std::string key, std::vector<std::string> choices, std::string default_value,
                           std::string help, std::string option) {
  SettingSpec s = declared(std::move(key), SettingSpec::Kind::Choice, std::move(default_value), std::move(help),
                           std::move(option));
  s.choices = std::move(choices);
  return s;
}

SettingSpec text_setting(std::string key, std::string help, std::string option) {
  return declared(std::move(key), SettingSpec::Kind::Text, {}, std::move(help), std::move(option));
}

SettingSpec file_setting(std::string key, std::string help, std::string option, std::string file_prefix) {
  SettingSpec s = text_setting(std::move(key), std::move(help), std::move(option));
  s.names_file = true;
  s.file_prefix = std::move(file_prefix);
  return s;
}

std::string SettingSpec::range() const {
  switch (kind) {
    case Kind::Integer:
      return fmt::format("an integer from {} to {}", min, max);
    case Kind::Real:
      return fmt::format("a number from {} to {}", min_real, max_real);
    case Kind::Switch:
      return "on or off";
    case Kind::Choice: {
      std::string s;
      for (const auto& c : choices) s += (s.empty() ? "" : "|") + c;
      return "one of " + s;
    }
    case Kind::Text:
      return "a text (empty: none)";
  }
  return {};
}

std::string checked_setting_value(const SettingSpec& spec, const std::string& value, const std::string& where) {
  const auto bad = [&]() -> std::string { fail("{}: {} must be {}, not '{}'", where, spec.key, spec.range(), value); };
  switch (spec.kind) {
    case SettingSpec::Kind::Integer: {
      int64_t v = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || v < spec.min || v > spec.max)
        return bad();
      return value;
    }
    case SettingSpec::Kind::Real: {
      char* end = nullptr;
      const double v = value.empty() ? NAN : std::strtod(value.c_str(), &end);
      if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v) || v < spec.min_real ||
          v > spec.max_real)
        return bad();
      return value;
    }
    case SettingSpec::Kind::Switch:
      if (value == "on" || value == "true" || value == "1") return "on";
      if (value == "off" || value == "false" || value == "0") return "off";
      return bad();
    case SettingSpec::Kind::Choice:
      for (const auto& c : spec.choices)
        if (value == c) return value;
      return bad();
    case SettingSpec::Kind::Text:
      return value;
  }
  return bad();
}

const std::string& MethodSettings::value(std::string_view key) const {
  const auto it = values_.find(key);
  if (it == values_.end()) throw Error(fmt::format("method setting '{}' is not declared", key));
  return it->second;
}

int MethodSettings::integer(std::string_view key) const {
  const std::string& v = value(key);
  int64_t x = 0;
  std::from_chars(v.data(), v.data() + v.size(), x);
  if (x < INT_MIN || x > INT_MAX) throw Error(fmt::format("method setting '{}' does not fit an int", key));
  return static_cast<int>(x);
}

double MethodSettings::real(std::string_view key) const { return std::strtod(value(key).c_str(), nullptr); }
bool MethodSettings::on(std::string_view key) const { return value(key) == "on"; }
const std::string& MethodSettings::text(std::string_view key) const { return value(key); }
bool MethodSettings::given(std::string_view key) const { return given_.count(key) > 0; }

}  // namespace aded
