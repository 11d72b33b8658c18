#include "aded/speculator.h"

#include <algorithm>

#include "aded/error.h"
#include "core/stopwatch.h"

namespace aded {

namespace {
// Sizes of the target's cost curve: a root and the largest draft a method may verify.
constexpr int kMaxForward = 257;
}  // namespace

struct Speculator::Arm {
  Arm(Drafter* d, std::unique_ptr<Drafter> owned_drafter, DraftLimits l, std::string arm_name)
      : owned(std::move(owned_drafter)),
        drafter(d),
        name(std::move(arm_name)),
        budget(l),
        cost(std::max(1, l.max_nodes), CostCurve::BelowSmallest::ProportionalToZero) {}
  std::unique_ptr<Drafter> owned;
  Drafter* drafter;
  std::string name;
  BudgetController budget;
  CostCurve cost;  // seconds per proposal by nodes produced
  ArmStats stats;
};

Speculator::Speculator() : target_cost_(kMaxForward) {}
Speculator::~Speculator() = default;

int Speculator::add(std::unique_ptr<Drafter> drafter, DraftLimits limits, std::string name) {
  if (!drafter) throw Error("speculator: no drafter given");
  Drafter* d = drafter.get();
  if (name.empty()) name = std::string(d->name());
  arms_.push_back(std::make_unique<Arm>(d, std::move(drafter), limits, std::move(name)));
  return arms() - 1;
}

int Speculator::add(Drafter& drafter, DraftLimits limits, std::string name) {
  if (name.empty()) name = std::string(drafter.name());
  arms_.push_back(std::make_unique<Arm>(&drafter, nullptr, limits, std::move(name)));
  return arms() - 1;
}

void Speculator::set_selector(std::unique_ptr<DrafterSelector> selector) {
  selector_ = std::move(selector);
}

Speculator::Arm& Speculator::arm(int index) {
  if (index < 0 || index >= arms()) throw Error(fmt::format("speculator: no arm {}", index));
  return *arms_[static_cast<size_t>(index)];
}
const Speculator::Arm& Speculator::arm(int index) const {
  return const_cast<Speculator*>(this)->arm(index);
}

const std::string& Speculator::arm_name(int a) const {
  return arm(a).name;
}
const Drafter& Speculator::drafter(int a) const {
  return *arm(a).drafter;
}
const BudgetController& Speculator::budget(int a) const {
  return arm(a).budget;
}
const CostCurve& Speculator::draft_cost(int a) const {
  return arm(a).cost;
}
const ArmStats& Speculator::arm_stats(int a) const {
  return arm(a).stats;
}

int Speculator::max_nodes() const {
  int m = 0;
  for (const auto& a : arms_) m = std::max(m, a->budget.limits().max_nodes);
  return m;
}

int Speculator::max_depth() const {
  int m = 1;
  for (const auto& a : arms_) m = std::max(m, a->budget.limits().max_depth);
  return m;
}

bool Speculator::adaptive() const {
  return std::any_of(arms_.begin(), arms_.end(),
                     [](const auto& a) { return a->budget.limits().adaptive_budget; });
}

void Speculator::begin(std::span<const int32_t> prompt) {
  SamplingParams greedy;
  greedy.temperature = 0;
  begin(prompt, greedy);
}

void Speculator::begin(std::span<const int32_t> prompt, const SamplingParams& sampling) {
  if (arms_.empty()) throw Error("speculator: no drafters");
  sampling_.reset();
  if (!sampling.greedy()) sampling_ = sampling;  // before the selector begins: it may read it
  if (arms_.size() > 1 && !selector_) throw Error("speculator: several drafters need a selector");
  request_draft_seconds_ = 0;
  const Stopwatch start;
  if (selector_) selector_->begin(*this, prompt);
  active_.assign(arms_.size(), 1);
  for (int i = 0; i < arms(); ++i) {
    if (selector_ && selector_->idle(*this, i)) active_[static_cast<size_t>(i)] = 0;
    if (active(i)) arm(i).drafter->begin(prompt);
  }
  request_draft_seconds_ += start.seconds();
}

bool Speculator::active(int index) const {
  return static_cast<size_t>(index) >= active_.size() || active_[static_cast<size_t>(index)] != 0;
}

void Speculator::observe_prefill(std::span<const int32_t> context) {
  const Stopwatch start;
  for (int i = 0; i < arms(); ++i)
    if (active(i)) arm(i).drafter->observe(DraftFeedback{context, 1, nullptr, {}});
  request_draft_seconds_ += start.seconds();
}

int Speculator::draft(std::span<const int32_t> context, int room, DraftTree& tree) {
  tree.clear();
  current_ = -1;
  current_draft_ = 0;
  asked_ = false;
  for (auto& t : shadows_) t.clear();
  std::fill(shadowed_.begin(), shadowed_.end(), 0);
  if (arms_.empty()) return -1;
  const int chosen = selector_ ? selector_->choose(*this, context) : 0;
  if (!active(chosen)) throw Error(fmt::format("speculator: the selector chose arm {}, which sits the request out", chosen));
  Arm& a = arm(chosen);
  ++a.stats.steps;
  const int request = a.budget.request(target_cost_, a.cost, room);
  current_ = chosen;
  if (selector_) propose_shadows(context, room);
  if (request < 1) return -1;
  asked_ = true;
  const Stopwatch start;
  a.drafter->propose(DraftRequest{context, request, a.budget.limits().max_depth,
                                  sampling_ ? &*sampling_ : nullptr},
                     tree);
  tree.limit_depth(a.budget.limits().max_depth);  // drafters are trusted for speed, not for limits
  tree.truncate(std::min(tree.size(), request));
  current_draft_ = start.seconds();
  // Priced by the nodes produced, not asked for: a chain drafter that exits early after one node
  // spent one node's time (recorded at the size asked, one expensive node looked like 1/16th of
  // its cost, and the budget drafted at a loss). A proposal that found nothing (a lookup drafter
  // without a match) says what a miss costs, not what a node costs: it only seeds an empty curve.
  // Without the catch-up on text emitted while the drafter was idle (see Drafter).
  const double priced = std::max(0.0, current_draft_ - a.drafter->idle_catch_up_seconds());
  if (tree.size() > 0 || a.cost.empty()) a.cost.record(std::max(1, tree.size()), priced);
  requested_ = request;
  produced_ = tree.size();
  tree.truncate(a.budget.choose(tree, target_cost_, current_draft_));
  ++a.stats.drafted_steps;
  a.stats.propose_seconds += current_draft_;
  request_draft_seconds_ += current_draft_;
  return tree.empty() ? -1 : chosen;
}

void Speculator::propose_shadows(std::span<const int32_t> context, int room) {
  shadows_.resize(arms_.size());
  shadow_seconds_.assign(arms_.size(), 0.0);
  shadowed_.assign(arms_.size(), 0);
  for (int i = 0; i < arms(); ++i) {
    DraftTree& t = shadows_[static_cast<size_t>(i)];
    t.clear();
    if (i == current_ || !active(i) || !selector_->shadow(*this, i)) continue;
    shadowed_[static_cast<size_t>(i)] = 1;
    Arm& a = arm(i);
    const int request = a.budget.request(target_cost_, a.cost, room);
    if (request < 1) continue;
    const Stopwatch start;
    a.drafter->propose(DraftRequest{context, request, a.budget.limits().max_depth,
                                    sampling_ ? &*sampling_ : nullptr},
                       t);
    t.limit_depth(a.budget.limits().max_depth);
    t.truncate(std::min(t.size(), request));
    const double seconds = start.seconds();
    t.truncate(a.budget.choose(t, target_cost_, seconds));
    shadow_seconds_[static_cast<size_t>(i)] = seconds;
    ++a.stats.shadow_steps;
    a.stats.shadow_seconds += seconds;
    request_draft_seconds_ += seconds;
  }
}

void Speculator::observe(std::span<const int32_t> context, const DraftTree& tree,
                         const VerifyResult& result, double verify_seconds) {
  target_cost_.record(tree.size() + 1, verify_seconds);
  const int drafted = current_;
  if (drafted >= 0) {
    Arm& a = arm(drafted);
    a.budget.record_step(asked_, tree.size());
    if (!tree.empty()) a.budget.record_outcome(tree, result, requested_, produced_);
    a.stats.nodes_verified += tree.size();
    a.stats.nodes_accepted += static_cast<int64_t>(result.accepted_nodes.size());
  }
  const auto added = static_cast<int>(result.emitted.size());
  for (int i = 0; i < arms(); ++i) {
    if (!active(i)) continue;
    Arm& a = arm(i);
    const bool own = i == drafted && !tree.empty();
    const Stopwatch start;
    a.drafter->observe(
        DraftFeedback{context, added, own ? &tree : nullptr,
                      own ? std::span<const int>(result.accepted_nodes) : std::span<const int>()});
    const double seconds = start.seconds();
    a.stats.observe_seconds += seconds;
    request_draft_seconds_ += seconds;
  }
  if (selector_) {
    StepOutcome outcome{context, drafted, &tree, &result, current_draft_, verify_seconds, shadows_, shadow_seconds_, shadowed_};
    selector_->observe(*this, outcome);
  }
  current_ = -1;
  current_draft_ = 0;
  asked_ = false;
}

void Speculator::end() {
  for (int i = 0; i < arms(); ++i)
    if (active(i)) arm(i).drafter->end();
  if (selector_) selector_->end(*this);
}

}  // namespace aded
