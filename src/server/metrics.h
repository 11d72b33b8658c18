// The server's counters and histograms, written as Prometheus text at /metrics. Names follow vLLM
// (spec_decode_num_drafts, ..._num_accepted_tokens_per_pos, time_to_first_token_seconds, ...)
// under an "aded:" prefix, so dashboards built for vLLM need only the prefix changed.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace aded::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Prometheus lines for a histogram called name (caller holds whatever lock guards it).
  std::string render(const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  uint64_t count_ = 0;
};

// What one finished request did.
struct RequestRecord {
  bool success = true;  // false: cancelled or failed after admission
  int prompt_tokens = 0;
  int generated_tokens = 0;
  int64_t drafts = 0;        // steps whose drafter proposed
  int64_t draft_tokens = 0;  // draft tokens verified
  int64_t accepted_tokens = 0;
  std::vector<int64_t> accepted_per_position;  // index 0: the first draft token of a step
  double time_to_first_token = -1;             // seconds; < 0 when no token came
  std::vector<double> inter_token_seconds;     // gaps between successive tokens as emitted
};

class ServerMetrics {
 public:
  ServerMetrics();
  void record(const RequestRecord& r);
  void count_rejected();  // turned away: queue full or server stopping
  void count_bad_request();
  // The whole /metrics page; waiting and running are read from the slots at the time.
  std::string render(int waiting, int running) const;

 private:
  mutable std::mutex mutex_;
  uint64_t success_ = 0, cancelled_ = 0, rejected_ = 0, bad_requests_ = 0;
  uint64_t prompt_tokens_ = 0, generation_tokens_ = 0;
  uint64_t drafts_ = 0, draft_tokens_ = 0, accepted_tokens_ = 0;
  std::vector<uint64_t> accepted_per_position_;
  Histogram time_to_first_token_;
  Histogram time_per_output_token_;
};

}  // namespace aded::server
