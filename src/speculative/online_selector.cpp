#include "aded/online_selector.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <vector>

#include "aded/error.h"

namespace aded {

namespace {

// The tokens a tree's deepest accepted path would have had: walk it along the text that followed.
int matched_depth(const DraftTree& tree, std::span<const int32_t> following) {
  int32_t node = DraftTree::kRoot;
  int depth = 0;
  for (int32_t token : following) {
    const int child = tree.find_child(node, token);
    if (child < 0) break;
    node = child;
    ++depth;
  }
  return depth;
}

int deepest(const DraftTree& tree) {
  int d = 0;
  for (int i = 0; i < tree.size(); ++i) d = std::max(d, tree.depth(i));
  return d;
}

class OnlineSelector final : public DrafterSelector {
 public:
  explicit OnlineSelector(OnlineSelectorOptions o) : o_(o) {
    if (!(o_.discount > 0 && o_.discount <= 1)) fail("select: the discount must be in (0, 1], not {}", o_.discount);
    if (o_.retry_every < 1) fail("select: retry-every must be >= 1, not {}", o_.retry_every);
  }

  void begin(const Speculator& s, std::span<const int32_t>) override {
    if (arms_.size() != static_cast<size_t>(s.arms())) arms_.assign(static_cast<size_t>(s.arms()), {});
    pending_.clear();  // estimates carry over to the next request; unscored shadows do not
  }

  // Shadowed this step: an arm not yet scored, a contender as often as keeps its proposals under
  // kShadowShare of the step's time, one that trails far behind every kTrailingShadowEvery steps.
  bool shadow(const Speculator& s, int arm) const override {
    if (!shadowable(s, arm) || static_cast<size_t>(arm) >= arms_.size()) return false;
    const Estimate& e = arms_[static_cast<size_t>(arm)];
    if (e.weight == 0) return true;
    int every = kTrailingShadowEvery;
    if (e.rate() >= kContender * best_rate_ && step_seconds_ > 0)
      every = std::clamp(static_cast<int>(std::ceil(e.shadow_cost / (kShadowShare * step_seconds_))), 1,
                         kTrailingShadowEvery);
    return step_ % every == 0;
  }

  int choose(const Speculator& s, std::span<const int32_t>) override {
    if (arms_.size() != static_cast<size_t>(s.arms())) arms_.assign(static_cast<size_t>(s.arms()), {});
    ++step_;
    // Every arm once first (a shadowed arm is scored without being chosen).
    for (size_t a = 0; a < arms_.size(); ++a)
      if (arms_[a].weight == 0 && !(shadowable(s, static_cast<int>(a)) && arms_[a].shadowed)) return static_cast<int>(a);
    // The arm with the best rate; the one in use keeps its place unless beaten by a margin
    // (switching costs what the estimates do not see: a draft model's catch-up on skipped text,
    // a budget controller calibrated on other steps).
    int best = incumbent_ < static_cast<int>(arms_.size()) ? incumbent_ : 0;
    for (size_t a = 0; a < arms_.size(); ++a)
      if (arms_[a].rate() > kSwitchMargin * arms_[static_cast<size_t>(best)].rate()) best = static_cast<int>(a);
    incumbent_ = best;
    best_rate_ = arms_[static_cast<size_t>(best)].rate();
    // An arm that cannot be shadowed is measured only when chosen: retried now and then, so that
    // a drafter that got better (the text changed) is noticed, at a bounded cost.
    // The further behind it was, the longer it waits (a try costs a draft model its catch-up).
    for (size_t a = 0; a < arms_.size(); ++a) {
      if (static_cast<int>(a) == best || shadowable(s, static_cast<int>(a))) continue;
      const double behind = arms_[a].rate() > 0 ? std::min(8.0, best_rate_ / arms_[a].rate()) : 8.0;
      if (static_cast<double>(step_ - arms_[a].last_chosen) >= o_.retry_every * std::max(1.0, behind))
        return static_cast<int>(a);
    }
    return best;
  }

  void observe(const Speculator& s, const StepOutcome& o) override {
    // Shadowed arms are seen every step and fade every step; the others fade with their own
    // observations only, so an estimate keeps until the arm is measured again.
    for (size_t a = 0; a < arms_.size(); ++a)
      if (shadowable(s, static_cast<int>(a)) || static_cast<int>(a) == o.arm) arms_[a].fade(o_.discount);
    const CostCurve& target = s.target_cost();
    if (o.arm >= 0 && o.tree && o.result) {
      // Without catching up on text written while the drafter was not asked: a cost of switching,
      // not of drafting (the budget prices proposals the same way).
      const double drafting = std::max(0.0, o.draft_seconds - s.drafter(o.arm).idle_catch_up_seconds());
      const double seconds = drafting + target.at(o.tree->size() + 1);
      Estimate& e = arms_[static_cast<size_t>(o.arm)];
      e.add(static_cast<double>(o.result->emitted.size()), seconds);
      e.last_chosen = step_;
      step_seconds_ = step_seconds_ == 0 ? seconds : 0.9 * step_seconds_ + 0.1 * seconds;
    }
    // Shadows wait until the text has gone as deep as they reach, then are scored on it.
    const size_t position = o.context.size() - (o.result ? o.result->emitted.size() : 0);
    for (size_t a = 0; a < o.shadowed.size(); ++a) {
      if (!o.shadowed[a]) continue;
      arms_[a].shadowed = true;
      double& cost = arms_[a].shadow_cost;
      cost = cost == 0 ? o.shadow_seconds[a] : 0.9 * cost + 0.1 * o.shadow_seconds[a];
      pending_.push_back({position, static_cast<int>(a), o.shadows[a], o.shadow_seconds[a]});
    }
    while (!pending_.empty()) {
      const Pending& p = pending_.front();
      const size_t reach = p.position + static_cast<size_t>(deepest(p.tree)) + 1;
      if (o.context.size() < reach) break;
      const int accepted = matched_depth(p.tree, o.context.subspan(p.position));
      const double seconds = p.seconds + target.at(p.tree.size() + 1);
      arms_[static_cast<size_t>(p.arm)].add(accepted + 1.0, seconds);
      pending_.pop_front();
    }
  }

 private:
  struct Estimate {
    double weight = 0, tokens = 0, seconds = 0;  // discounted sums
    bool shadowed = false;
    int64_t last_chosen = 0;  // step_ when it last drafted
    double shadow_cost = 0;   // seconds per shadow proposal (running mean)
    double rate() const { return seconds > 0 ? tokens / seconds : 0; }
    void fade(double d) {
      weight *= d;
      tokens *= d;
      seconds *= d;
    }
    void add(double t, double s) {
      weight += 1;
      tokens += t;
      seconds += s;
    }
  };
  struct Pending {
    size_t position;  // context length when it was drafted: the text that followed starts here
    int arm;
    DraftTree tree;
    double seconds;
  };
  OnlineSelectorOptions o_;
  std::vector<Estimate> arms_;
  static bool shadowable(const Speculator& s, int arm) { return s.drafter(arm).can_shadow(); }
  static constexpr double kContender = 0.7;
  static constexpr double kSwitchMargin = 1.05;
  static constexpr double kShadowShare = 0.02;
  double step_seconds_ = 0;  // a step's drafting and verification (running mean)
  int incumbent_ = 0;
  static constexpr int kTrailingShadowEvery = 8;
  std::deque<Pending> pending_;
  int64_t step_ = 0;
  double best_rate_ = 0;
};

}  // namespace

std::unique_ptr<DrafterSelector> make_online_selector(OnlineSelectorOptions options) {
  return std::make_unique<OnlineSelector>(options);
}

}  // namespace aded
