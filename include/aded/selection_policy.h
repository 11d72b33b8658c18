// The per-request drafter choice learned offline (docs/selection.md has both formats).
//
// A selection log holds rows (request features, arm, reward): bench-spec writes one per prompt
// and method (`--select-log`), so every arm is rewarded on every prompt. The reward is the
// request's speed-up over plain decoding: decoding tokens per second over plain decoding's on the
// same prompt (prefill, the same for every arm, left out). A ratio rather than tokens per second
// so that prompts of different depths, machines and models share one scale.
//
// A policy holds per arm a ridge regression of the gain (reward - 1) on the features, kept as the
// sums of LinUCB's disjoint model (Li et al., WWW 2010): A = ridge * I + sum x x^T,
// b = sum (reward - 1) x. The predicted reward is 1 + theta^T x with theta = A^-1 b, and its
// uncertainty sqrt(x^T A^-1 x): the ridge pulls an arm seen little toward plain decoding's speed.
// Online updates add to the same sums, so learning offline and online are one thing.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "aded/request_features.h"

namespace aded {

inline constexpr int kSelectionFormatVersion = 1;

struct SelectionLogRow {
  std::string prompt, category;
  std::string table;  // the tri-gram table the features were read with (file name), "" for none
  RequestFeatures features;
  std::string arm;  // a method string, as bench-spec ran it
  double reward = 0;
};

// One JSON object per line. Throws InputError naming `name`, the line and the problem (a field
// missing or of the wrong type, another version, features other than RequestFeatures::kNames,
// a value that is not finite).
std::vector<SelectionLogRow> parse_selection_log(std::string_view text, const std::string& name);
std::vector<SelectionLogRow> read_selection_log(const std::string& path);
std::string selection_log_line(const SelectionLogRow& row);  // with its newline

// One arm's regression sums (d = RequestFeatures::kCount).
class ArmModel {
 public:
  static constexpr size_t d = RequestFeatures::kCount;
  explicit ArmModel(double ridge = 1.0);
  ArmModel(const std::array<double, d * d>& a, const std::array<double, d>& b, int64_t observations);

  void add(const RequestFeatures& x, double reward);
  double mean(const RequestFeatures& x) const;         // the predicted reward, 1 + theta^T x
  double uncertainty(const RequestFeatures& x) const;  // sqrt(x^T A^-1 x)
  const std::array<double, d * d>& a() const { return a_; }
  const std::array<double, d>& b() const { return b_; }
  int64_t observations() const { return n_; }

 private:
  void factor();  // the Cholesky factor of A, after each change
  std::array<double, d * d> a_{}, l_{};
  std::array<double, d> b_{};
  int64_t n_ = 0;
};

struct SelectionPolicy {
  std::vector<std::string> arms;  // method strings
  std::vector<ArmModel> models;   // one per arm
  std::string table;              // as in the log rows it was learned from
  double ridge = 1.0;

  // The arm with the best predicted reward plus explore times its uncertainty (ties: the first).
  int choose(const RequestFeatures& x, double explore) const;
};

struct PolicyTraining {
  double ridge = 1.0;
};
// Throws InputError when the rows are empty or disagree on the table.
SelectionPolicy train_selection_policy(std::span<const SelectionLogRow> rows, const PolicyTraining& options = {});

// JSON. Throws InputError naming `name` and the problem: not a policy, another version, features
// other than this build's, arms missing or repeated, sums of the wrong size, not finite, or an A
// that is not positive definite.
SelectionPolicy parse_selection_policy(std::string_view text, const std::string& name);
SelectionPolicy read_selection_policy(const std::string& path);
std::string selection_policy_json(const SelectionPolicy& policy);

// How a policy does on logged rows: per request (rows grouped by prompt and temperature), the
// reward of the arm it picks (explore 0), against always the best single arm and the best arm of
// each request (an oracle). Requests missing an arm of the policy are left out.
struct PolicyEvaluation {
  size_t requests = 0;
  double policy = 0, best_single = 0, oracle = 0;  // mean reward per request
  std::string best_single_arm;
  size_t picked_best = 0;  // requests where the policy picked the oracle's arm
};
PolicyEvaluation evaluate_selection_policy(const SelectionPolicy& policy, std::span<const SelectionLogRow> rows);

}  // namespace aded
