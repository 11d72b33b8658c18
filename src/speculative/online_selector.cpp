#include "aded/online_selector.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
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
    if (!(o_.exploration >= 0)) fail("select: the exploration must be >= 0, not {}", o_.exploration);
  }

  void begin(const Speculator& s, std::span<const int32_t>) override {
    if (arms_.size() != static_cast<size_t>(s.arms())) arms_.assign(static_cast<size_t>(s.arms()), {});
    pending_.clear();  // estimates carry over to the next request; unscored shadows do not
  }

  bool shadow(const Speculator& s, int arm) const override { return s.drafter(arm).can_shadow(); }

  int choose(const Speculator& s, std::span<const int32_t>) override {
    if (arms_.size() != static_cast<size_t>(s.arms())) arms_.assign(static_cast<size_t>(s.arms()), {});
    // Every arm once first (a shadowed arm is scored without being chosen).
    for (size_t a = 0; a < arms_.size(); ++a)
      if (arms_[a].weight == 0 && !(shadow(s, static_cast<int>(a)) && arms_[a].shadowed)) return static_cast<int>(a);
    double best_rate = 0, total = 0;
    for (const auto& a : arms_) {
      best_rate = std::max(best_rate, a.rate());
      total += a.weight;
    }
    int chosen = 0;
    double best = -std::numeric_limits<double>::infinity();
    for (size_t a = 0; a < arms_.size(); ++a) {
      const Estimate& e = arms_[a];
      double index = e.rate();
      // Shadowed arms are seen every step: no bonus; the others' grows as their weight fades.
      if (!shadow(s, static_cast<int>(a)))
        index += o_.exploration * best_rate * std::sqrt(std::log(std::max(total, 1.0)) / std::max(e.weight, 1e-9));
      if (index > best) {
        best = index;
        chosen = static_cast<int>(a);
      }
    }
    return chosen;
  }

  void observe(const Speculator& s, const StepOutcome& o) override {
    for (auto& a : arms_) a.fade(o_.discount);
    const CostCurve& target = s.target_cost();
    if (o.arm >= 0 && o.tree && o.result) {
      const int nodes = o.tree->size();
      const double seconds = o.draft_seconds + target.at(nodes + 1);
      arms_[static_cast<size_t>(o.arm)].add(static_cast<double>(o.result->emitted.size()), seconds);
    }
    // Shadows wait until the text has gone as deep as they reach, then are scored on it.
    const size_t position = o.context.size() - (o.result ? o.result->emitted.size() : 0);
    for (size_t a = 0; a < o.shadows.size(); ++a) {
      if (!shadow(s, static_cast<int>(a)) || static_cast<int>(a) == o.arm) continue;
      arms_[a].shadowed = true;
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
  std::deque<Pending> pending_;
};

}  // namespace

std::unique_ptr<DrafterSelector> make_online_selector(OnlineSelectorOptions options) {
  return std::make_unique<OnlineSelector>(options);
}

}  // namespace aded
