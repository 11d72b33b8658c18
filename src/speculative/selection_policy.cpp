#include "aded/selection_policy.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "aded/error.h"
#include "aded/mapped_file.h"

namespace aded {

namespace {

constexpr size_t d = ArmModel::d;
constexpr const char* kLogTag = "aded-select-log";
constexpr const char* kPolicyTag = "aded-select-policy";
constexpr size_t kMaxArms = 64;

using json = nlohmann::json;

// Far beyond what the features (0..2), speed-ups and sums of a real log reach, and small enough
// that no sum or prediction overflows.
constexpr double kLargestValue = 1e3, kLargestSum = 1e15;

double finite_number(const json& j, const std::string& where, double largest = kLargestSum) {
  if (!j.is_number()) fail("{}: expected a number", where);
  const double v = j.get<double>();
  if (!std::isfinite(v) || std::fabs(v) > largest) fail("{}: not a number within +-{:g}", where, largest);
  return v;
}

const json& field(const json& object, const char* key, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) fail("{}: no \"{}\"", where, key);
  return *it;
}

std::string text_field(const json& object, const char* key, const std::string& where) {
  const json& v = field(object, key, where);
  if (!v.is_string()) fail("{}: \"{}\" must be a string", where, key);
  return v.get<std::string>();
}

void check_version(const json& object, const char* tag, const std::string& where, const char* what) {
  const auto format = object.find("format");
  if (format == object.end() || !format->is_string() || format->get<std::string>() != tag)
    fail("{}: not {} (\"format\": \"{}\" expected)", where, what, tag);
  const json& v = field(object, "version", where);
  if (!v.is_number_integer() || v.get<int64_t>() != kSelectionFormatVersion)
    fail("{}: version {} of the {} format; this aded reads version {}", where, v.dump(), what,
         kSelectionFormatVersion);
}

std::string feature_list() {
  std::string s;
  for (const auto& n : RequestFeatures::kNames) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

}  // namespace

std::vector<SelectionLogRow> parse_selection_log(std::string_view text, const std::string& name) {
  std::vector<SelectionLogRow> rows;
  size_t line_no = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = fmt::format("{}: line {}", name, line_no);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      fail("{}: not valid JSON ({})", where, e.what());
    }
    if (!j.is_object()) fail("{}: expected a JSON object", where);
    check_version(j, kLogTag, where, "a selection log row");
    SelectionLogRow r;
    r.prompt = text_field(j, "prompt", where);
    r.category = text_field(j, "category", where);
    r.table = text_field(j, "table", where);
    r.arm = text_field(j, "arm", where);
    if (r.arm.empty()) fail("{}: empty \"arm\"", where);
    r.reward = finite_number(field(j, "reward", where), where + ": \"reward\"", kLargestValue);
    if (r.reward < 0) fail("{}: \"reward\" is negative ({})", where, r.reward);
    const json& f = field(j, "features", where);
    if (!f.is_object() || f.size() != d)
      fail("{}: \"features\" must be an object of the {} features {}", where, d, feature_list());
    for (size_t k = 0; k < d; ++k) {
      const auto it = f.find(std::string(RequestFeatures::kNames[k]));
      if (it == f.end())
        fail("{}: feature \"{}\" missing (this aded's features: {})", where, RequestFeatures::kNames[k], feature_list());
      r.features.values[k] =
          finite_number(*it, fmt::format("{}: feature \"{}\"", where, RequestFeatures::kNames[k]), kLargestValue);
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<SelectionLogRow> read_selection_log(const std::string& path) {
  const auto file = MappedFile::open(path);
  const auto bytes = file->bytes();
  return parse_selection_log(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

std::string selection_log_line(const SelectionLogRow& r) {
  json f = json::object();
  for (size_t k = 0; k < d; ++k) f[std::string(RequestFeatures::kNames[k])] = r.features.values[k];
  const json j = {{"format", kLogTag}, {"version", kSelectionFormatVersion}, {"prompt", r.prompt},
                  {"category", r.category}, {"table", r.table}, {"features", f},
                  {"arm", r.arm}, {"reward", r.reward}};
  return j.dump() + "\n";
}

ArmModel::ArmModel(double ridge) {
  if (!(ridge > 0) || !std::isfinite(ridge)) fail("selection policy: the ridge must be positive, not {}", ridge);
  for (size_t i = 0; i < d; ++i) a_[i * d + i] = ridge;
  factor();
}

ArmModel::ArmModel(const std::array<double, d * d>& a, const std::array<double, d>& b, int64_t observations)
    : a_(a), b_(b), n_(observations) {
  factor();
}

void ArmModel::factor() {
  // A = L L^T; A is symmetric positive definite by construction (ridge * I plus outer products),
  // a file's A is checked here.
  l_.fill(0);
  for (size_t i = 0; i < d; ++i)
    for (size_t j = 0; j < d; ++j)
      if (a_[i * d + j] != a_[j * d + i]) fail("selection policy: A is not symmetric");
  for (size_t j = 0; j < d; ++j) {
    double s = a_[j * d + j];
    for (size_t k = 0; k < j; ++k) s -= l_[j * d + k] * l_[j * d + k];
    if (!(s > 1e-12) || !std::isfinite(s)) fail("selection policy: A is not positive definite");
    l_[j * d + j] = std::sqrt(s);
    for (size_t i = j + 1; i < d; ++i) {
      double t = a_[i * d + j];
      for (size_t k = 0; k < j; ++k) t -= l_[i * d + k] * l_[j * d + k];
      l_[i * d + j] = t / l_[j * d + j];
    }
  }
}

void ArmModel::add(const RequestFeatures& x, double reward) {
  for (size_t i = 0; i < d; ++i) {
    for (size_t j = 0; j < d; ++j) a_[i * d + j] += x.values[i] * x.values[j];
    b_[i] += (reward - 1) * x.values[i];
  }
  ++n_;
  factor();
}

namespace {
// Solves L y = v (forward substitution).
std::array<double, d> forward_solve(const std::array<double, d * d>& l, const std::array<double, d>& v) {
  std::array<double, d> y{};
  for (size_t i = 0; i < d; ++i) {
    double s = v[i];
    for (size_t k = 0; k < i; ++k) s -= l[i * d + k] * y[k];
    y[i] = s / l[i * d + i];
  }
  return y;
}
}  // namespace

double ArmModel::mean(const RequestFeatures& x) const {
  // theta = A^-1 b: L y = b, then L^T theta = y.
  const std::array<double, d> y = forward_solve(l_, b_);
  std::array<double, d> theta{};
  for (size_t i = d; i-- > 0;) {
    double s = y[i];
    for (size_t k = i + 1; k < d; ++k) s -= l_[k * d + i] * theta[k];
    theta[i] = s / l_[i * d + i];
  }
  double m = 1;
  for (size_t i = 0; i < d; ++i) m += theta[i] * x.values[i];
  return m;
}

double ArmModel::uncertainty(const RequestFeatures& x) const {
  // x^T A^-1 x = |L^-1 x|^2.
  const std::array<double, d> y = forward_solve(l_, x.values);
  double s = 0;
  for (double v : y) s += v * v;
  return std::sqrt(s);
}

int SelectionPolicy::choose(const RequestFeatures& x, double explore) const {
  int best = 0;
  double best_score = -INFINITY;
  for (size_t a = 0; a < models.size(); ++a) {
    const double score = models[a].mean(x) + explore * models[a].uncertainty(x);
    if (score > best_score) {
      best_score = score;
      best = static_cast<int>(a);
    }
  }
  return best;
}

SelectionPolicy train_selection_policy(std::span<const SelectionLogRow> rows, const PolicyTraining& options) {
  if (rows.empty()) fail("selection policy: no log rows to learn from");
  SelectionPolicy p;
  p.ridge = options.ridge;
  p.table = rows.front().table;
  for (const auto& r : rows) {
    if (r.table != p.table)
      fail("selection policy: the log mixes features read with the table '{}' and '{}'; learn from one",
           p.table, r.table);
    auto it = std::find(p.arms.begin(), p.arms.end(), r.arm);
    if (it == p.arms.end()) {
      if (p.arms.size() == kMaxArms) fail("selection policy: more than {} arms in the log", kMaxArms);
      p.arms.push_back(r.arm);
      p.models.emplace_back(options.ridge);
      it = p.arms.end() - 1;
    }
    p.models[static_cast<size_t>(it - p.arms.begin())].add(r.features, r.reward);
  }
  if (p.arms.size() < 2) fail("selection policy: the log has one arm ({}); a choice needs two", p.arms[0]);
  return p;
}

std::string selection_policy_json(const SelectionPolicy& p) {
  json arms = json::array();
  for (size_t a = 0; a < p.arms.size(); ++a) {
    json rows_a = json::array();
    for (size_t i = 0; i < d; ++i)
      rows_a.push_back(std::vector<double>(p.models[a].a().begin() + static_cast<ptrdiff_t>(i * d),
                                           p.models[a].a().begin() + static_cast<ptrdiff_t>((i + 1) * d)));
    arms.push_back({{"method", p.arms[a]},
                    {"observations", p.models[a].observations()},
                    {"a", rows_a},
                    {"b", std::vector<double>(p.models[a].b().begin(), p.models[a].b().end())}});
  }
  std::vector<std::string> names(RequestFeatures::kNames.begin(), RequestFeatures::kNames.end());
  const json j = {{"format", kPolicyTag}, {"version", kSelectionFormatVersion}, {"features", names},
                  {"table", p.table}, {"ridge", p.ridge}, {"arms", arms}};
  return j.dump(1) + "\n";
}

SelectionPolicy parse_selection_policy(std::string_view text, const std::string& name) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not a selection policy (not valid JSON: {})", name, e.what());
  }
  if (!j.is_object()) fail("{}: not a selection policy (expected a JSON object)", name);
  check_version(j, kPolicyTag, name, "a selection policy");
  SelectionPolicy p;
  const json& features = field(j, "features", name);
  bool same = features.is_array() && features.size() == d;
  for (size_t k = 0; same && k < d; ++k)
    same = features[k].is_string() && features[k].get<std::string>() == RequestFeatures::kNames[k];
  if (!same)
    fail("{}: learned from the features {}, this aded reads {}: learn it again with 'aded select train'", name,
         features.dump(), feature_list());
  p.table = text_field(j, "table", name);
  p.ridge = finite_number(field(j, "ridge", name), name + ": \"ridge\"");
  if (!(p.ridge > 0)) fail("{}: \"ridge\" must be positive", name);
  const json& arms = field(j, "arms", name);
  if (!arms.is_array() || arms.size() < 2 || arms.size() > kMaxArms)
    fail("{}: \"arms\" must be an array of 2 to {} arms", name, kMaxArms);
  for (size_t a = 0; a < arms.size(); ++a) {
    const std::string where = fmt::format("{}: arm {}", name, a + 1);
    if (!arms[a].is_object()) fail("{}: expected an object", where);
    const std::string method = text_field(arms[a], "method", where);
    if (method.empty()) fail("{}: empty \"method\"", where);
    if (std::find(p.arms.begin(), p.arms.end(), method) != p.arms.end()) fail("{}: '{}' is an arm twice", where, method);
    const json& obs = field(arms[a], "observations", where);
    if (!obs.is_number_unsigned()) fail("{}: \"observations\" must be a count", where);
    const json& ja = field(arms[a], "a", where);
    const json& jb = field(arms[a], "b", where);
    if (!ja.is_array() || ja.size() != d) fail("{}: \"a\" must be {} rows of {} numbers", where, d, d);
    if (!jb.is_array() || jb.size() != d) fail("{}: \"b\" must be {} numbers", where, d);
    std::array<double, d * d> am{};
    std::array<double, d> bm{};
    for (size_t i = 0; i < d; ++i) {
      if (!ja[i].is_array() || ja[i].size() != d) fail("{}: \"a\" must be {} rows of {} numbers", where, d, d);
      for (size_t k = 0; k < d; ++k) am[i * d + k] = finite_number(ja[i][k], where + ": \"a\"");
      bm[i] = finite_number(jb[i], where + ": \"b\"");
    }
    try {
      p.models.emplace_back(am, bm, obs.get<int64_t>());
    } catch (const InputError& e) {
      fail("{}: {}", where, e.what());
    }
    p.arms.push_back(method);
  }
  return p;
}

SelectionPolicy read_selection_policy(const std::string& path) {
  const auto file = MappedFile::open(path);
  const auto bytes = file->bytes();
  return parse_selection_policy(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

PolicyEvaluation evaluate_selection_policy(const SelectionPolicy& policy, std::span<const SelectionLogRow> rows) {
  // request (prompt, temperature) -> arm -> reward
  struct Request {
    RequestFeatures x;
    std::map<std::string, double> reward;
  };
  std::map<std::pair<std::string, double>, Request> requests;
  for (const auto& r : rows) {
    Request& q = requests[{r.prompt, r.features.values[1]}];
    q.x = r.features;
    q.reward[r.arm] = r.reward;
  }
  PolicyEvaluation e;
  std::map<std::string, double> arm_total;
  for (const auto& [key, q] : requests) {
    bool complete = true;
    for (const auto& arm : policy.arms) complete = complete && q.reward.count(arm);
    if (!complete) continue;
    ++e.requests;
    const std::string& picked = policy.arms[static_cast<size_t>(policy.choose(q.x, 0))];
    e.policy += q.reward.at(picked);
    std::string best;
    for (const auto& arm : policy.arms) {
      arm_total[arm] += q.reward.at(arm);
      if (best.empty() || q.reward.at(arm) > q.reward.at(best)) best = arm;
    }
    e.oracle += q.reward.at(best);
    e.picked_best += q.reward.at(picked) >= q.reward.at(best);
  }
  if (e.requests == 0) return e;
  for (const auto& [arm, total] : arm_total)
    if (e.best_single_arm.empty() || total > arm_total[e.best_single_arm]) {
      e.best_single_arm = arm;
      e.best_single = total;
    }
  const auto n = static_cast<double>(e.requests);
  e.policy /= n;
  e.oracle /= n;
  e.best_single /= n;
  return e;
}

}  // namespace aded
