// Drafting methods by name: "none", "pld", "aded", "oracle", and whatever a caller registers
// (a test, later draft models and self-speculation). A method string names a method and may carry
// presets and settings, "aded:paper:top-k=4": every setting is declared once, with its range,
// here, and checked here whatever syntax carried it (a method string or a command-line flag).
// The CLI, bench-spec and the replay tool all build their speculators through a registry.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aded/drafter.h"
#include "aded/speculator.h"

namespace aded {

class Context;
class Model;
class TrigramTable;
class TrigramOverlay;

struct SettingSpec {
  enum class Kind { Integer, Real, Switch, Choice, Text };
  std::string key;
  Kind kind = Kind::Integer;
  std::string default_value;
  std::string help;
  int64_t min = 0, max = 0;           // Integer (within int)
  double min_real = 0, max_real = 0;  // Real (finite values only)
  std::vector<std::string> choices;   // Choice
  // The command-line form, if any: an option that takes the value ("--draft-max"), or a flag that
  // sets flag_value ("--no-adapt" sets "off").
  std::string option, flag, flag_value;
  // Text settings whose value names a file (a table, a model), or does when it starts with
  // file_prefix (skip=@FILE): a server takes these from its command line, never from a request.
  bool names_file = false;
  std::string file_prefix;
  bool refers_to_file(const std::string& value) const {
    return names_file && value.compare(0, file_prefix.size(), file_prefix) == 0;
  }

  // "0..256", "mcts|best-first", "on|off", "a path", for help and messages.
  std::string range() const;
};

// A setting given outside a method string (a command-line flag): applied to every method that
// has the key. origin names it in messages ("--draft-max").
struct SettingValue {
  std::string key, value, origin;
};

// The checked values of one method's settings.
class MethodSettings {
 public:
  int integer(std::string_view key) const;
  double real(std::string_view key) const;
  bool on(std::string_view key) const;
  const std::string& text(std::string_view key) const;  // Choice and Text settings
  // Whether the value came from the user (a method string or a flag), not from the default.
  bool given(std::string_view key) const;

 private:
  friend class DrafterRegistry;
  const std::string& value(std::string_view key) const;
  std::map<std::string, std::string, std::less<>> values_;
  std::set<std::string, std::less<>> given_;
};

// What drafters may share: the target model (its vocabulary), a cross-request overlay, tri-gram
// tables opened once, and the reference sequence oracle drafters follow. One environment serves
// every method of a run.
struct DrafterEnvironment {
  explicit DrafterEnvironment(const Model* target_model = nullptr, Context* context = nullptr)
      : target(target_model), target_context(context) {}
  const Model* target;
  // The context the session verifies with: drafters that run a model need it (its pool, its
  // size; self-speculation drafts in it). Null where nothing is forwarded (the replay tool).
  Context* target_context;
  // Drafting models loaded once per run: draft models by path, quantized copies by type.
  std::map<std::string, std::shared_ptr<const Model>> models;
  std::shared_ptr<TrigramOverlay> shared_overlay;  // made when a method first asks for it
  // bench-spec sets it to the plain output of each prompt; without it "oracle" is refused.
  std::shared_ptr<const std::vector<int32_t>> reference;
  std::map<std::pair<std::string, int>, std::shared_ptr<const TrigramTable>> tables;  // (path, top-k)

  std::shared_ptr<const TrigramTable> table(const std::string& path, int top_k);
};

struct DrafterMethod {
  std::string name;
  std::string summary;                // one line for help
  std::vector<SettingSpec> settings;  // besides the settings every method has
  // Named bundles of settings, e.g. aded's "paper": {{"search", "mcts"}, {"overlay", "on"}}.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> presets;
  std::function<std::unique_ptr<Drafter>(const MethodSettings&, DrafterEnvironment&)> create;
};

// A parsed and checked method string.
struct MethodChoice {
  std::string text;    // as given
  std::string method;  // "none" for plain decoding
  MethodSettings settings;
  DraftLimits limits;  // the settings every method has: max, depth, budget
  // "union": the members, each parsed with the command-line flags and the union's own key=value
  // items that are not the union's.
  std::vector<MethodChoice> members;
  bool plain() const { return method == "none"; }
};

class DrafterRegistry {
 public:
  DrafterRegistry();  // only "none"
  // none, pld, aded, oracle, draft, self, union, select, auto.
  static DrafterRegistry with_builtin_methods();

  // Registers a method (a name already taken is an Error).
  void add(DrafterMethod method);
  const DrafterMethod* find(std::string_view name) const;
  std::vector<std::string> method_names() const;
  // The settings every method has (max, depth, budget), then every method's own, each key once.
  std::vector<SettingSpec> all_settings() const;
  // Methods, presets and settings with their ranges and defaults, for --help.
  std::string describe() const;

  // Parses "name[:preset|:key=value]...": defaults, then `flags` (for the keys the method has),
  // then the string's items in order. Throws InputError naming the string or flag, the key, the
  // accepted range and the value.
  // "union[:of=A/B...][:key=value]...": max, depth, budget and of are the union's; any other
  // key=value goes to the members that have it (an error when none has). The same for select and
  // auto (whose members may include none).
  MethodChoice parse(std::string_view text, std::span<const SettingValue> flags = {}) const;
  // The method's drafter; nullptr for "none".
  std::unique_ptr<Drafter> create(const MethodChoice& choice, DrafterEnvironment& env) const;
  // A speculator whose one arm is the method (nullptr for "none").
  std::unique_ptr<Speculator> make_speculator(const MethodChoice& choice, DrafterEnvironment& env) const;

 private:
  MethodChoice parse_plain(std::string_view text, std::span<const SettingValue> flags) const;
  // union and select: their own settings, then the members (of=a/b), each with what is theirs.
  MethodChoice parse_composite(std::string_view text, std::span<const SettingValue> flags) const;
  // auto: the members as arms of a speculator whose selector picks one per request.
  std::unique_ptr<Speculator> make_request_speculator(const MethodChoice& choice, DrafterEnvironment& env) const;

  std::vector<SettingSpec> common_;
  std::vector<DrafterMethod> methods_;
};

}  // namespace aded
