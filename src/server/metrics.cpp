#include "server/metrics.h"

#include <algorithm>

#include <fmt/format.h>

namespace aded::server {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  ++counts_[static_cast<size_t>(bucket)];
  sum_ += value;
  ++count_;
}

std::string Histogram::render(const std::string& name, const std::string& help) const {
  std::string out = fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
  return out;
}

ServerMetrics::ServerMetrics()
    : time_to_first_token_({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}),
      time_per_output_token_({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4,
                              0.5, 0.75, 1, 2.5}) {}

void ServerMetrics::record(const RequestRecord& r) {
  std::lock_guard lock(mutex_);
  ++(r.success ? success_ : cancelled_);
  prompt_tokens_ += static_cast<uint64_t>(r.prompt_tokens);
  generation_tokens_ += static_cast<uint64_t>(r.generated_tokens);
  drafts_ += static_cast<uint64_t>(r.drafts);
  draft_tokens_ += static_cast<uint64_t>(r.draft_tokens);
  accepted_tokens_ += static_cast<uint64_t>(r.accepted_tokens);
  if (accepted_per_position_.size() < r.accepted_per_position.size())
    accepted_per_position_.resize(r.accepted_per_position.size(), 0);
  for (size_t i = 0; i < r.accepted_per_position.size(); ++i)
    accepted_per_position_[i] += static_cast<uint64_t>(r.accepted_per_position[i]);
  if (r.time_to_first_token >= 0) time_to_first_token_.observe(r.time_to_first_token);
  for (double gap : r.inter_token_seconds) time_per_output_token_.observe(gap);
}

void ServerMetrics::count_rejected() {
  std::lock_guard lock(mutex_);
  ++rejected_;
}

void ServerMetrics::count_bad_request() {
  std::lock_guard lock(mutex_);
  ++bad_requests_;
}

namespace {

std::string counter(const std::string& name, const std::string& help, uint64_t value) {
  return fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, value);
}

std::string gauge(const std::string& name, const std::string& help, int64_t value) {
  return fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, value);
}

}  // namespace

std::string ServerMetrics::render(int waiting, int running) const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += fmt::format("# HELP aded:request_success_total Requests finished, by how.\n"
                     "# TYPE aded:request_success_total counter\n"
                     "aded:request_success_total{{finished_reason=\"completed\"}} {}\n"
                     "aded:request_success_total{{finished_reason=\"cancelled\"}} {}\n",
                     success_, cancelled_);
  out += counter("aded:request_rejected_total", "Requests turned away with 503 (queue full or stopping).", rejected_);
  out += counter("aded:request_bad_total", "Requests answered with a 4xx error.", bad_requests_);
  out += counter("aded:prompt_tokens_total", "Prompt tokens of admitted requests.", prompt_tokens_);
  out += counter("aded:generation_tokens_total", "Generated tokens.", generation_tokens_);
  out += gauge("aded:num_requests_running", "Requests holding a slot.", running);
  out += gauge("aded:num_requests_waiting", "Requests queued for a slot.", waiting);
  out += counter("aded:spec_decode_num_drafts_total", "Decoding steps whose drafter proposed a draft.", drafts_);
  out += counter("aded:spec_decode_num_draft_tokens_total", "Draft tokens verified by the target.", draft_tokens_);
  out += counter("aded:spec_decode_num_accepted_tokens_total", "Draft tokens the target accepted.", accepted_tokens_);
  out += "# HELP aded:spec_decode_num_accepted_tokens_per_pos_total Accepted draft tokens by position in the draft "
         "(0: the first).\n# TYPE aded:spec_decode_num_accepted_tokens_per_pos_total counter\n";
  for (size_t i = 0; i < accepted_per_position_.size(); ++i)
    out += fmt::format("aded:spec_decode_num_accepted_tokens_per_pos_total{{position=\"{}\"}} {}\n", i,
                       accepted_per_position_[i]);
  out += time_to_first_token_.render("aded:time_to_first_token_seconds",
                                     "Seconds from the request's arrival to its first generated token (queueing included).");
  out += time_per_output_token_.render("aded:time_per_output_token_seconds",
                                       "Seconds between successive generated tokens as emitted (tokens of one "
                                       "speculative step come together).");
  return out;
}

}  // namespace aded::server
