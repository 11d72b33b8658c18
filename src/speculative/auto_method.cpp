// `auto`: the members are the arms of one speculator, a LinUCB selector picks one per request
// (request_selector.h), from a policy learned offline (policy=FILE, selection_policy.h) or from
// nothing.
#include "speculative/auto_method.h"

#include <algorithm>
#include <filesystem>

#include "aded/error.h"
#include "aded/request_selector.h"
#include "speculative/method_settings.h"

namespace aded {

DrafterMethod auto_method() {
  DrafterMethod m;
  m.name = "auto";
  m.summary =
      "the drafter chosen per request by a contextual bandit (LinUCB) from the prompt and the "
      "temperature, learned offline (policy=FILE from 'aded select train') and online; none may "
      "be a member; settings go to the members that have them (auto:of=none/pld/aded/draft:policy=P.json)";
  SettingSpec of = text_setting("of", "the members, '/' between them (and draft when a draft model is given)");
  of.default_value = "none/pld/aded";
  m.settings = {of, file_setting("policy", "a policy from 'aded select train' (none: learn online from the first request)"),
                real_setting("explore", 0, 10, 0.1, "weight of an arm's uncertainty in the choice (0: the predicted best)"),
                real_setting("ridge", 1e-3, 1e3, 1, "prior of arms without a policy, in requests")};
  m.create = [](const MethodSettings&, DrafterEnvironment&) -> std::unique_ptr<Drafter> {
    fail("auto: made from its members (DrafterRegistry::make_speculator)");
  };
  return m;
}

namespace {
std::string base_name(const std::string& path) {
  return path.empty() ? std::string() : std::filesystem::path(path).filename().string();
}
}  // namespace

std::unique_ptr<Speculator> DrafterRegistry::make_request_speculator(const MethodChoice& choice,
                                                                     DrafterEnvironment& env) const {
  RequestSelectorOptions o;
  o.explore = choice.settings.real("explore");
  o.ridge = choice.settings.real("ridge");
  // The features read the table of the aded member, if any.
  std::string table_path;
  for (const auto& m : choice.members)
    if (m.method == "aded" && !m.settings.text("ngram").empty()) {
      table_path = m.settings.text("ngram");
      o.table = env.table(table_path, m.settings.integer("top-k"));
    }
  std::vector<const MethodChoice*> arms;
  for (const auto& m : choice.members) arms.push_back(&m);
  const std::string& policy_path = choice.settings.text("policy");
  if (!policy_path.empty()) {
    SelectionPolicy policy = read_selection_policy(policy_path);
    // Its arms are method strings as bench-spec ran them: matched to the members by method name.
    std::string members, learned;
    for (const auto& m : choice.members) members += (members.empty() ? "" : "/") + m.method;
    for (const auto& a : policy.arms) learned += (learned.empty() ? "" : ", ") + a;
    if (policy.arms.size() != choice.members.size())
      fail("{}: learned for the arms {}; this auto has {} (give of= with the same methods)", policy_path, learned, members);
    arms.clear();
    for (const auto& a : policy.arms) {
      const std::string name = a.substr(0, a.find(':'));
      const auto it = std::find_if(choice.members.begin(), choice.members.end(),
                                   [&](const MethodChoice& m) { return m.method == name; });
      if (it == choice.members.end() || std::find(arms.begin(), arms.end(), &*it) != arms.end())
        fail("{}: learned for the arms {}; this auto has {} (give of= with the same methods)", policy_path, learned, members);
      arms.push_back(&*it);
    }
    if (policy.table != base_name(table_path))
      fail("{}: learned with {}; this auto's aded member reads {}", policy_path,
           policy.table.empty() ? "no tri-gram table" : "the tri-gram table " + policy.table,
           table_path.empty() ? "none (give --ngram)" : "the table " + base_name(table_path));
    o.policy = std::move(policy);
  }
  auto speculator = std::make_unique<Speculator>();
  for (const MethodChoice* m : arms) {
    if (m->plain()) {
      DraftLimits plain = m->limits;
      plain.max_nodes = 0;
      speculator->add(make_plain_arm(), plain, "none");
    } else {
      speculator->add(create(*m, env), m->limits, m->text);
    }
  }
  speculator->set_selector(make_request_selector(std::move(o)));
  return speculator;
}

}  // namespace aded
