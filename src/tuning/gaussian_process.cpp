#include "tuning/gaussian_process.h"

#include <cmath>
#include <limits>
#include <numbers>

#include "aded/error.h"

namespace aded::tuning {

namespace {

double matern52(double r) {
  const double s = std::sqrt(5.0) * r;
  return (1 + s + s * s / 3) * std::exp(-s);
}

}  // namespace

double GaussianProcess::kernel(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) const {
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += (a[i] != 0) != (b[i] != 0);
  return matern52(std::sqrt(static_cast<double>(differ)) / length_scale_);
}

double GaussianProcess::factorize() {
  const size_t n = x_.size();
  chol_.assign(n * n, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j <= i; ++j) chol_[i * n + j] = kernel(x_[i], x_[j]) + (i == j ? noise_ : 0);
  // Cholesky in place (lower triangle).
  for (size_t j = 0; j < n; ++j) {
    double d = chol_[j * n + j];
    for (size_t k = 0; k < j; ++k) d -= chol_[j * n + k] * chol_[j * n + k];
    if (d <= 0) return -std::numeric_limits<double>::infinity();
    d = std::sqrt(d);
    chol_[j * n + j] = d;
    for (size_t i = j + 1; i < n; ++i) {
      double s = chol_[i * n + j];
      for (size_t k = 0; k < j; ++k) s -= chol_[i * n + k] * chol_[j * n + k];
      chol_[i * n + j] = s / d;
    }
  }
  // alpha = L^-T L^-1 y
  alpha_ = y_;
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < i; ++k) alpha_[i] -= chol_[i * n + k] * alpha_[k];
    alpha_[i] /= chol_[i * n + i];
  }
  double fit = 0, log_det = 0;
  for (size_t i = 0; i < n; ++i) {
    fit += alpha_[i] * alpha_[i];
    log_det += std::log(chol_[i * n + i]);
  }
  for (size_t i = n; i-- > 0;) {
    for (size_t k = i + 1; k < n; ++k) alpha_[i] -= chol_[k * n + i] * alpha_[k];
    alpha_[i] /= chol_[i * n + i];
  }
  return -0.5 * fit - log_det - 0.5 * static_cast<double>(n) * std::log(2 * std::numbers::pi);
}

void GaussianProcess::fit(const std::vector<std::vector<uint8_t>>& x,
                          const std::vector<double>& y) {
  if (x.empty() || x.size() != y.size())
    fail("gaussian process: {} inputs for {} targets", x.size(), y.size());
  for (const auto& v : x)
    if (v.size() != x[0].size())
      fail("gaussian process: inputs of {} and {} choices", v.size(), x[0].size());
  x_ = x;
  const double n = static_cast<double>(y.size());
  y_mean_ = 0;
  for (double v : y) y_mean_ += v / n;
  double var = 0;
  for (double v : y) var += (v - y_mean_) * (v - y_mean_) / n;
  y_scale_ = var > 0 ? std::sqrt(var) : 1;
  y_.resize(y.size());
  for (size_t i = 0; i < y.size(); ++i) y_[i] = (y[i] - y_mean_) / y_scale_;

  double best = -std::numeric_limits<double>::infinity(), best_length = 1, best_noise = 1e-2;
  for (const double length : {0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0})
    for (const double noise : {1e-3, 1e-2, 0.05, 0.2, 0.5}) {
      length_scale_ = length;
      noise_ = noise;
      const double evidence = factorize();
      if (evidence > best) best = evidence, best_length = length, best_noise = noise;
    }
  length_scale_ = best_length;
  noise_ = best_noise;
  factorize();
}

Prediction GaussianProcess::predict(const std::vector<uint8_t>& x) const {
  const size_t n = x_.size();
  std::vector<double> k(n);
  for (size_t i = 0; i < n; ++i) k[i] = kernel(x, x_[i]);
  double mean = 0;
  for (size_t i = 0; i < n; ++i) mean += k[i] * alpha_[i];
  // v = L^-1 k; variance = k(x, x) - v.v
  double explained = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < i; ++j) k[i] -= chol_[i * n + j] * k[j];
    k[i] /= chol_[i * n + i];
    explained += k[i] * k[i];
  }
  const double variance = std::max(0.0, 1.0 - explained);
  return {y_mean_ + y_scale_ * mean, y_scale_ * std::sqrt(variance)};
}

}  // namespace aded::tuning
