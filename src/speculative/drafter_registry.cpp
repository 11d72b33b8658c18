#include "aded/drafter_registry.h"

#include <algorithm>
#include <climits>
#include <set>
#include <string>

#include "aded/error.h"
#include "aded/model.h"
#include "aded/trigram_table.h"
#include "aded/online_selector.h"
#include "aded/request_selector.h"
#include "aded/union_drafter.h"
#include "speculative/method_settings.h"

namespace aded {

namespace {

// The settings every method has: the limits its speculator arm works within.
std::vector<SettingSpec> common_settings() {
  SettingSpec budget = choice_setting(
      "budget", {"adaptive", "fixed"}, "adaptive",
      "adaptive: verify what pays for the measured costs; fixed: always the whole draft (up to max)");
  budget.flag = "--fixed-budget";
  budget.flag_value = "fixed";
  return {integer_setting("max", 0, 256, 16, "most draft tokens verified per step", "--draft-max"),
          integer_setting("depth", 1, 64, 32, "deepest draft token", "--draft-depth"), budget};
}

// Methods made of other methods (their members, of=a/b).
bool is_composite(std::string_view name) { return name == "union" || name == "select" || name == "auto"; }

const SettingSpec* find_spec(const std::vector<SettingSpec>& specs, std::string_view key) {
  for (const auto& s : specs)
    if (s.key == key) return &s;
  return nullptr;
}

}  // namespace

std::shared_ptr<const TrigramTable> DrafterEnvironment::table(const std::string& path, int top_k) {
  auto& t = tables[{path, top_k}];
  if (!t) t = TrigramTable::open(path, target ? &target->tokenizer().vocab() : nullptr, top_k);
  return t;
}

DrafterRegistry::DrafterRegistry() : common_(common_settings()) {}

void DrafterRegistry::add(DrafterMethod method) {
  if (method.name.empty() || method.name.find_first_of(":,= ") != std::string::npos)
    throw Error(fmt::format("drafter registry: bad method name '{}'", method.name));
  if (find(method.name)) throw Error(fmt::format("drafter registry: method '{}' is already registered", method.name));
  for (const auto& s : method.settings) {
    if (find_spec(common_, s.key)) throw Error(fmt::format("drafter registry: {} redeclares '{}'", method.name, s.key));
    if (s.kind == SettingSpec::Kind::Integer && (s.min < INT_MIN || s.max > INT_MAX || s.min > s.max))
      throw Error(fmt::format("drafter registry: {}.{} has a bad range", method.name, s.key));
  }
  methods_.push_back(std::move(method));
}

const DrafterMethod* DrafterRegistry::find(std::string_view name) const {
  for (const auto& m : methods_)
    if (m.name == name) return &m;
  return nullptr;
}

std::vector<std::string> DrafterRegistry::method_names() const {
  std::vector<std::string> names = {"none"};
  for (const auto& m : methods_) names.push_back(m.name);
  return names;
}

std::vector<SettingSpec> DrafterRegistry::all_settings() const {
  std::vector<SettingSpec> all = common_;
  for (const auto& m : methods_)
    for (const auto& s : m.settings)
      if (!find_spec(all, s.key)) all.push_back(s);
  return all;
}

std::string DrafterRegistry::describe() const {
  const auto line = [](const SettingSpec& s) {
    std::string l = fmt::format("    {}={} (default {}): {}", s.key, s.range(), s.default_value.empty() ? "none" : s.default_value, s.help);
    if (!s.option.empty()) l += fmt::format(" [{}]", s.option);
    if (!s.flag.empty()) l += fmt::format(" [{} sets {}]", s.flag, s.flag_value);
    return l + "\n";
  };
  std::string out = "Methods: ";
  for (const auto& n : method_names()) out += n + (n == method_names().back() ? "\n" : ", ");
  out += "A method may carry presets and settings: name[:preset][:key=value]..., e.g. aded:paper:top-k=4.\n";
  out += "  every method:\n";
  for (const auto& s : common_) out += line(s);
  for (const auto& m : methods_) {
    out += fmt::format("  {}: {}\n", m.name, m.summary);
    for (const auto& s : m.settings) out += line(s);
    for (const auto& [preset, items] : m.presets) {
      std::string list;
      for (const auto& [k, v] : items) list += (list.empty() ? "" : ", ") + k + "=" + v;
      out += fmt::format("    preset {}: {}\n", preset, list);
    }
  }
  return out;
}

MethodChoice DrafterRegistry::parse_composite(std::string_view text, std::span<const SettingValue> flags) const {
  const std::string where = fmt::format("method '{}'", text);
  const std::string kind(text.substr(0, text.find(':')));  // union, select or auto
  const DrafterMethod* method = find(kind);
  // Split its own items from those for its members.
  std::string own = kind;
  std::vector<SettingValue> member_flags(flags.begin(), flags.end());
  std::vector<std::string> forwarded;
  const size_t colon = text.find(':');
  for (size_t at = colon; at != std::string_view::npos;) {
    const size_t next = text.find(':', at + 1);
    const std::string item(text.substr(at + 1, next == std::string_view::npos ? std::string_view::npos : next - at - 1));
    at = next;
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const bool mine = eq == std::string::npos || find_spec(common_, key) || find_spec(method->settings, key);
    if (mine) {
      own += ":" + item;
    } else {
      member_flags.push_back({key, item.substr(eq + 1), where});
      forwarded.push_back(key);
    }
  }
  // Its own settings: flags that are members' settings are not an error here.
  std::vector<SettingValue> own_flags;
  for (const auto& f : flags)
    if (find_spec(common_, f.key)) own_flags.push_back(f);
  MethodChoice choice = parse_plain(own, own_flags);
  choice.text = std::string(text);
  // auto's default arms are the drafters the run has: the draft model too when one is given.
  const bool draft_model_given =
      std::any_of(flags.begin(), flags.end(), [](const SettingValue& f) { return f.key == "model" && !f.value.empty(); });
  if (kind == "auto" && !choice.settings.given("of") && draft_model_given && find("draft"))
    choice.settings.values_["of"] += "/draft";
  std::vector<std::string> names;
  const std::string& of = choice.settings.text("of");
  for (size_t at = 0; at <= of.size();) {
    const size_t slash = std::min(of.find('/', at), of.size());
    names.push_back(of.substr(at, slash - at));
    at = slash + 1;
  }
  if (names.size() < 2) fail("{}: a {} needs at least two members (of={}), not '{}'", where, kind, method->settings[0].default_value, of);
  std::set<std::string> seen;
  for (const auto& name : names) {
    // Plain decoding is an arm a request may be given (auto), not a drafter to run beside others.
    if (is_composite(name) || (name == "none" && kind != "auto") || name.empty())
      fail("{}: '{}' cannot be a member of a {}", where, name, kind);
    if (!find(name) && name != "none") {
      std::string known;
      for (const auto& n : method_names())
        if ((n != "none" || kind == "auto") && !is_composite(n)) known += (known.empty() ? "" : ", ") + n;
      fail("{}: unknown member '{}' (known: {})", where, name, known);
    }
    if (!seen.insert(name).second) fail("{}: '{}' is a member twice", where, name);
    choice.members.push_back(parse_plain(name, member_flags));
  }
  for (const auto& key : forwarded) {
    bool used = false;
    for (const auto& name : names) used = used || (name != "none" && find_spec(find(name)->settings, key));
    if (!used) fail("{}: no member of the {} ({}) has a setting '{}'", where, kind, of, key);
  }
  return choice;
}

MethodChoice DrafterRegistry::parse(std::string_view text, std::span<const SettingValue> flags) const {
  const std::string_view name = text.substr(0, text.find(':'));
  if (is_composite(name) && find(name)) return parse_composite(text, flags);
  return parse_plain(text, flags);
}

MethodChoice DrafterRegistry::parse_plain(std::string_view text, std::span<const SettingValue> flags) const {
  MethodChoice choice;
  choice.text = std::string(text);
  const std::string where = fmt::format("method '{}'", text);
  const size_t colon = text.find(':');
  choice.method = std::string(text.substr(0, colon));
  const DrafterMethod* method = find(choice.method);
  if (!method && choice.method != "none") {
    std::string known;
    for (const auto& n : method_names()) known += (known.empty() ? "" : ", ") + n;
    fail("unknown speculative method '{}' (known: {})", choice.method, known);
  }
  std::vector<SettingSpec> specs = common_;
  if (method) specs.insert(specs.end(), method->settings.begin(), method->settings.end());
  MethodSettings& s = choice.settings;
  for (const auto& spec : specs) s.values_[spec.key] = spec.default_value;
  const auto set = [&](const std::string& key, const std::string& value, const std::string& origin) {
    const SettingSpec* spec = find_spec(specs, key);
    if (!spec) {
      std::string keys;
      for (const auto& k : specs) keys += (keys.empty() ? "" : ", ") + k.key;
      fail("{}: unknown setting '{}' (settings of {}: {})", origin, key, choice.method, keys);
    }
    s.values_[key] = checked_setting_value(*spec, value, origin);
    s.given_.insert(key);
  };
  const std::vector<SettingSpec> every = all_settings();
  for (const auto& f : flags) {
    if (find_spec(specs, f.key))
      set(f.key, f.value, f.origin);
    else if (const SettingSpec* other = find_spec(every, f.key))
      checked_setting_value(*other, f.value, f.origin);  // another method's setting: checked, unused
    else
      fail("{}: no method has a setting '{}'", f.origin, f.key);
  }
  std::set<std::string> in_text;  // keys given as key=value: twice is a mistake, not an override
  for (size_t at = colon; at != std::string_view::npos;) {
    const size_t next = text.find(':', at + 1);
    const std::string item(text.substr(at + 1, next == std::string_view::npos ? std::string_view::npos : next - at - 1));
    at = next;
    const size_t eq = item.find('=');
    if (eq != std::string::npos) {
      if (!in_text.insert(item.substr(0, eq)).second)
        fail("{}: '{}' is given twice", where, item.substr(0, eq));
      set(item.substr(0, eq), item.substr(eq + 1), where);
      continue;
    }
    const auto preset = method ? method->presets.find(item) : decltype(method->presets.end()){};
    if (!method || preset == method->presets.end()) {
      std::string presets;
      if (method)
        for (const auto& [name, items] : method->presets) presets += (presets.empty() ? "" : ", ") + name;
      fail("{}: '{}' is neither key=value nor a preset of {}{}", where, item, choice.method,
           presets.empty() ? " (it has none)" : " (" + presets + ")");
    }
    for (const auto& [k, v] : preset->second) set(k, v, where);
  }
  choice.limits.max_nodes = s.integer("max");
  choice.limits.max_depth = s.integer("depth");
  choice.limits.adaptive_budget = s.text("budget") == "adaptive";
  return choice;
}

std::unique_ptr<Drafter> DrafterRegistry::create(const MethodChoice& choice, DrafterEnvironment& env) const {
  if (choice.plain()) return nullptr;
  if (choice.method == "select" || choice.method == "auto")
    fail("method '{}': its members are the arms of one speculator (make_speculator), not one drafter", choice.text);
  if (!choice.members.empty()) {
    std::vector<std::unique_ptr<Drafter>> members;
    for (const auto& m : choice.members) members.push_back(create(m, env));
    return make_union_drafter(std::move(members), UnionOptions{choice.settings.real("ask-below")});
  }
  const DrafterMethod* method = find(choice.method);
  if (!method) fail("unknown speculative method '{}'", choice.method);
  return method->create(choice.settings, env);
}

std::unique_ptr<Speculator> DrafterRegistry::make_speculator(const MethodChoice& choice, DrafterEnvironment& env) const {
  if (choice.method == "select") {
    auto speculator = std::make_unique<Speculator>();
    for (const auto& m : choice.members) speculator->add(create(m, env), m.limits, m.text);
    OnlineSelectorOptions o;
    o.discount = choice.settings.real("discount");
    o.retry_every = static_cast<int>(choice.settings.integer("retry-every"));
    speculator->set_selector(make_online_selector(o));
    return speculator;
  }
  if (choice.method == "auto") return make_request_speculator(choice, env);
  auto drafter = create(choice, env);
  if (!drafter) return nullptr;
  auto speculator = std::make_unique<Speculator>();
  speculator->add(std::move(drafter), choice.limits, choice.text);
  return speculator;
}

}  // namespace aded
