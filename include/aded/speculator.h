// The speculator: the one object a decoding session drafts with. It holds one or more drafters
// (arms), and per arm the limits it works within, a budget controller and the measured cost of
// its proposals; the target's cost curve is shared by all arms. Each step it picks an arm (a
// selector decides when there are several), asks its controller how many nodes are worth drafting,
// lets the drafter propose, keeps the prefix of the tree worth verifying, and after the
// verification hands what happened to every drafter and to the selector.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "aded/budget_controller.h"
#include "aded/cost_curve.h"
#include "aded/draft_tree.h"
#include "aded/drafter.h"
#include "aded/tree_verifier.h"

namespace aded {

// What one step did: the tree that was verified (empty for a plain step), from which arm, and
// what the target made of it.
struct StepOutcome {
  std::span<const int32_t> context;  // every token so far, the step's own included
  int arm = -1;                      // the arm chosen for the step
  const DraftTree* tree = nullptr;   // as verified (empty: the arm drafted nothing worth it)
  const VerifyResult* result = nullptr;
  double draft_seconds = 0, verify_seconds = 0;
  // Per arm: what the arms the selector shadows would have drafted at the same context, as their
  // budgets would have cut it (empty for the others and for the chosen arm), and the seconds
  // proposing took. The step verified none of it.
  std::span<const DraftTree> shadows = {};
  std::span<const double> shadow_seconds = {};
  std::span<const uint8_t> shadowed = {};  // 1: the arm was asked (its tree may be empty: no draft)
};

class Speculator;

// Chooses the arm that drafts each step (the drafter-selection issue builds bandits on this).
class DrafterSelector {
 public:
  virtual ~DrafterSelector() = default;
  virtual void begin(const Speculator&, std::span<const int32_t> /*prompt*/) {}
  virtual int choose(const Speculator& speculator, std::span<const int32_t> context) = 0;
  virtual void observe(const Speculator& speculator, const StepOutcome& outcome) = 0;
  // Arms to ask every step, beside the chosen one, what they would draft (StepOutcome::shadows).
  virtual bool shadow(const Speculator& /*speculator*/, int /*arm*/) const { return false; }
  // The request is over (after its last observe).
  virtual void end(const Speculator&) {}
  // Arms that sit the request out, decided in begin() (which runs before the drafters begin) and
  // fixed until end(): their drafters are neither begun nor told what happens, so they cost
  // nothing. Such an arm must not be chosen or shadowed during the request.
  virtual bool idle(const Speculator& /*speculator*/, int /*arm*/) const { return false; }
};

// Counters per arm, kept across requests.
struct ArmStats {
  int64_t steps = 0;          // steps this arm was chosen for
  int64_t drafted_steps = 0;  // of those, steps its drafter was asked to propose
  int64_t nodes_verified = 0, nodes_accepted = 0;
  double propose_seconds = 0;  // proposing only (observing is in observe_seconds)
  double observe_seconds = 0;
  int64_t shadow_steps = 0;     // steps it proposed beside the chosen arm, for the selector
  double shadow_seconds = 0;
};

class Speculator {
 public:
  Speculator();
  ~Speculator();
  Speculator(const Speculator&) = delete;
  Speculator& operator=(const Speculator&) = delete;

  // Adds an arm and returns its index. The owning form keeps the drafter; the other one borrows
  // it (the caller keeps it alive as long as the speculator).
  int add(std::unique_ptr<Drafter> drafter, DraftLimits limits = {}, std::string name = {});
  int add(Drafter& drafter, DraftLimits limits = {}, std::string name = {});
  // Several arms need a selector; with one arm it is optional.
  void set_selector(std::unique_ptr<DrafterSelector> selector);

  int arms() const { return static_cast<int>(arms_.size()); }
  const std::string& arm_name(int arm) const;
  const Drafter& drafter(int arm) const;
  const BudgetController& budget(int arm) const;
  const CostCurve& draft_cost(int arm) const;
  const ArmStats& arm_stats(int arm) const;
  // The most nodes any arm verifies per step, and the deepest draft any arm makes.
  int max_nodes() const;
  int max_depth() const;
  bool adaptive() const;  // any arm chooses its budget from costs

  // The target's cost curve: seconds of a forward over n tokens (the session times it).
  CostCurve& target_cost() { return target_cost_; }
  const CostCurve& target_cost() const { return target_cost_; }

  // A request starts with this prompt, sampled with these parameters (greedy by default): drafters
  // see them in DraftRequest::sampling.
  void begin(std::span<const int32_t> prompt);
  void begin(std::span<const int32_t> prompt, const SamplingParams& sampling);
  // The first token, drawn by the prefill, was appended to context.
  void observe_prefill(std::span<const int32_t> context);
  // Fills tree (cleared first) with the nodes to verify this step; room: the most nodes that fit
  // in the context. Returns the arm that drafted, or -1 when the step is a plain one.
  int draft(std::span<const int32_t> context, int room, DraftTree& tree);
  // After the verification of the tree draft() filled.
  void observe(std::span<const int32_t> context, const DraftTree& tree, const VerifyResult& result,
               double verify_seconds);
  // The request is over (drafters with cross-request memory keep what they learned).
  void end();

  // Seconds spent in drafters (proposing and observing) since begin().
  double request_draft_seconds() const { return request_draft_seconds_; }
  // The request's sampling parameters when it samples; null when it is greedy.
  const SamplingParams* sampling() const { return sampling_ ? &*sampling_ : nullptr; }

 private:
  struct Arm;
  Arm& arm(int index);
  const Arm& arm(int index) const;

  std::vector<std::unique_ptr<Arm>> arms_;
  std::unique_ptr<DrafterSelector> selector_;
  CostCurve target_cost_;
  // Proposals of the shadowed arms at the current step, per arm.
  void propose_shadows(std::span<const int32_t> context, int room);
  std::vector<DraftTree> shadows_;
  std::vector<double> shadow_seconds_;
  std::vector<uint8_t> shadowed_;
  std::vector<uint8_t> active_;  // per arm: 0 when the selector keeps it idle for the request
  bool active(int arm) const;
  int current_ = -1;                  // arm chosen for the step being verified
  bool asked_ = false;                // whether its drafter was asked to propose
  double current_draft_ = 0;          // seconds its proposal took
  int requested_ = 0, produced_ = 0;  // nodes asked of it, nodes it gave (before the budget's cut)
  double request_draft_seconds_ = 0;
  std::optional<SamplingParams> sampling_;  // the request's when it samples (temperature > 0)
};

}  // namespace aded
