// Gaussian-process regression for Bayesian optimization over binary choices (which sublayers a
// draft skips). Inputs are 0/1 vectors; the kernel is Matérn 5/2 of the Euclidean distance (the
// square root of the Hamming distance), as the scikit-learn default that Draft & Verify's search
// used. Targets are normalized to mean 0 and variance 1; the length scale and the noise variance
// are chosen from small grids by the log marginal likelihood, so noisy timings and smooth ones
// both get a sensible fit without tuning.
#pragma once

#include <cstdint>
#include <vector>

namespace aded::tuning {

struct Prediction {
  double mean = 0;    // in the targets' units
  double stddev = 0;  // likewise
};

class GaussianProcess {
 public:
  // Fits the observations (x[i], y[i]); every x has the same length. Throws Error on none, or on
  // vectors of different lengths.
  void fit(const std::vector<std::vector<uint8_t>>& x, const std::vector<double>& y);
  Prediction predict(const std::vector<uint8_t>& x) const;

  double length_scale() const { return length_scale_; }
  double noise() const { return noise_; }  // variance, on the normalized scale

 private:
  double kernel(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) const;
  // Factorizes K + noise * I for the current hyperparameters; returns the log marginal likelihood.
  double factorize();

  std::vector<std::vector<uint8_t>> x_;
  std::vector<double> y_;  // normalized
  double y_mean_ = 0, y_scale_ = 1;
  double length_scale_ = 1, noise_ = 1e-2;
  std::vector<double> chol_;   // lower triangle of K + noise I, row-major n x n
  std::vector<double> alpha_;  // (K + noise I)^-1 y
};

}  // namespace aded::tuning
