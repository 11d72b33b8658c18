// The adaptive context model of the ADED drafter: what followed earlier occurrences of the
// longest suffix (up to max_order tokens) of a history in the text of the current request, with
// probabilities calibrated online. Each time a token arrives, the model first predicts it from the
// history before it and counts, per match order, how often its first choice was right; those hit
// rates are the probabilities it hands to the search. Code repeats itself at every scale (names,
// call patterns, whole lines), and a 2-token state alone cannot tell apart the continuations a
// longer suffix pins down; this is the part of ADED's "adapt to the text being written" that a
// tri-gram overlay cannot express.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace aded {

class ContextModel {
 public:
  static constexpr int kMaxOrder = 8;
  static constexpr int kMaxCandidates = 4;

  struct Prediction {
    int order = 0;  // length of the matched suffix; 0: no match
    int size = 0;
    std::array<int32_t, kMaxCandidates> tokens{};
    std::array<float, kMaxCandidates> p{};  // calibrated, most likely first, sum <= kMaxMass
  };

  explicit ContextModel(int max_order);

  // A new request: forget the text (the calibration is kept: it describes the target model).
  void reset();
  // The text grew: predicts, scores and indexes every token from the last call on.
  void extend(std::span<const int32_t> text);
  // Continuations of the longest suffix of `history` (its last tokens, oldest first) seen in the
  // text so far.
  Prediction predict(std::span<const int32_t> history) const;
  // Calibrated probability that the first choice after a match of this order is right.
  float hit_rate(int order) const;

 private:
  static constexpr float kMaxMass = 0.98f;
  static constexpr int kMaxOccurrences = 16;  // most recent occurrences counted per prediction

  static uint64_t hash(std::span<const int32_t> tokens);

  int max_order_;
  std::vector<int32_t> text_;
  // index_[n - 1]: hash of an n-gram -> positions of the token right after each occurrence.
  std::array<std::unordered_map<uint64_t, std::vector<uint32_t>>, kMaxOrder> index_;
  std::array<double, kMaxOrder + 1> hits_{}, trials_{};
};

}  // namespace aded
