#include "aded/request_selector.h"

#include <algorithm>
#include <cmath>

#include "aded/error.h"

namespace aded {

namespace {

class PlainArm final : public Drafter {
 public:
  std::string_view name() const override { return "none"; }
  void begin(std::span<const int32_t>) override {}
  void propose(const DraftRequest&, DraftTree&) override {}
  void observe(const DraftFeedback&) override {}
};

class RequestSelector final : public DrafterSelector {
 public:
  explicit RequestSelector(RequestSelectorOptions o) : o_(std::move(o)) {
    if (!(o_.explore >= 0) || !std::isfinite(o_.explore)) fail("auto: explore must be >= 0, not {}", o_.explore);
    if (o_.policy) policy_ = *o_.policy;
    policy_.ridge = o_.policy ? o_.policy->ridge : o_.ridge;
  }

  void begin(const Speculator& s, std::span<const int32_t> prompt) override {
    if (policy_.models.empty()) {
      for (int a = 0; a < s.arms(); ++a) {
        policy_.arms.push_back(s.arm_name(a));
        policy_.models.emplace_back(policy_.ridge);
      }
    }
    if (policy_.models.size() != static_cast<size_t>(s.arms()))
      fail("auto: the policy has {} arms, the speculator {}", policy_.models.size(), s.arms());
    const SamplingParams* sampling = s.sampling();
    x_ = request_features(prompt, sampling ? sampling->temperature : 0.0, o_.table.get());
    chosen_ = -1;
    for (size_t a = 0; a < policy_.models.size() && chosen_ < 0; ++a)  // every arm once first
      if (policy_.models[a].observations() == 0) chosen_ = static_cast<int>(a);
    if (chosen_ < 0) chosen_ = policy_.choose(x_, o_.explore);
    tokens_ = 0;
    verify_seconds_ = 0;
  }

  int choose(const Speculator&, std::span<const int32_t>) override { return std::max(chosen_, 0); }
  // The other arms do no work during the request (nothing to observe for a drafter not asked).
  bool idle(const Speculator&, int arm) const override { return chosen_ >= 0 && arm != chosen_; }

  void observe(const Speculator&, const StepOutcome& o) override {
    if (o.result) tokens_ += static_cast<int64_t>(o.result->emitted.size());
    verify_seconds_ += o.verify_seconds;
  }

  void end(const Speculator& s) override {
    if (chosen_ < 0) return;
    const double seconds = verify_seconds_ + s.request_draft_seconds();
    const double forward = s.target_cost().at(1);
    // A request cancelled before it decoded says nothing about the arm.
    if (tokens_ > 0 && seconds > 0 && forward > 0)
      policy_.models[static_cast<size_t>(chosen_)].add(x_, static_cast<double>(tokens_) / seconds * forward);
    chosen_ = -1;
  }

 private:
  RequestSelectorOptions o_;
  SelectionPolicy policy_;
  RequestFeatures x_;
  int chosen_ = -1;
  int64_t tokens_ = 0;
  double verify_seconds_ = 0;
};

}  // namespace

std::unique_ptr<DrafterSelector> make_request_selector(RequestSelectorOptions options) {
  return std::make_unique<RequestSelector>(std::move(options));
}

std::unique_ptr<Drafter> make_plain_arm() {
  return std::make_unique<PlainArm>();
}

}  // namespace aded
