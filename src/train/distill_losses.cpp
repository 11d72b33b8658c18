#include "train/distill_losses.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace aded::train {

namespace {

// log p for the RKL: stored distributions can hold exact zeros (no rest mass); the floor keeps
// the loss finite there.
constexpr double kMinProbability = 1e-10;

template <typename T>
std::vector<T>& scratch() {
  thread_local std::vector<T> q;
  return q;
}

}  // namespace

template <typename T>
void dense_target(const int32_t* ids, const float* probs, float rest, int k, int n, T* p) {
  const T spread = n > k ? static_cast<T>(rest) / static_cast<T>(n - k) : T(0);
  std::fill(p, p + n, spread);
  for (int i = 0; i < k; ++i) p[ids[i]] = static_cast<T>(probs[i]);
}

template <typename T>
T softmax_into(const T* z, int n, T* q) {
  const T max = *std::max_element(z, z + n);
  T sum = 0;
  for (int i = 0; i < n; ++i) sum += q[i] = std::exp(z[i] - max);
  const T inv = T(1) / sum;
  for (int i = 0; i < n; ++i) q[i] *= inv;
  return max + std::log(sum);
}

template <typename T>
double acceptance(const T* p, const T* q, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += static_cast<double>(std::min(p[i], q[i]));
  return s;
}

template <typename T>
double fkl_row(T* z, const T* p, int n, T scale) {
  std::vector<T>& q = scratch<T>();
  q.resize(static_cast<size_t>(n));
  const T log_norm = softmax_into(z, n, q.data());
  double loss = 0;
  T mass = 0;  // 1 up to rounding; kept exact so the gradient is the loss's
  for (int i = 0; i < n; ++i) mass += p[i];
  for (int i = 0; i < n; ++i)
    if (p[i] > 0)
      loss += static_cast<double>(p[i]) *
              (std::log(static_cast<double>(p[i])) - static_cast<double>(z[i] - log_norm));
  if (scale != T(0))
    for (int i = 0; i < n; ++i) z[i] = scale * (q[static_cast<size_t>(i)] * mass - p[i]);
  return loss;
}

template <typename T>
double rkl_row(T* z, const T* p, int n, T scale) {
  std::vector<T>& q = scratch<T>();
  q.resize(static_cast<size_t>(n));
  const T log_norm = softmax_into(z, n, q.data());
  const auto log_ratio = [&](int i) {
    return static_cast<double>(z[i] - log_norm) -
           std::log(std::max(static_cast<double>(p[i]), kMinProbability));
  };
  double loss = 0;
  for (int i = 0; i < n; ++i) loss += static_cast<double>(q[static_cast<size_t>(i)]) * log_ratio(i);
  if (scale != T(0))
    for (int i = 0; i < n; ++i)
      z[i] = scale * q[static_cast<size_t>(i)] * static_cast<T>(log_ratio(i) - loss);
  return loss;
}

template <typename T>
double tvd_row(T* z, const T* p, int n, T scale, double inv_std) {
  std::vector<T>& q = scratch<T>();
  q.resize(static_cast<size_t>(n));
  softmax_into(z, n, q.data());
  double m = 0;
  for (int i = 0; i < n; ++i)
    if (p[i] > q[static_cast<size_t>(i)]) m += static_cast<double>(q[static_cast<size_t>(i)]);
  const double loss = 1.0 - acceptance(p, q.data(), n);
  if (scale == T(0)) return loss;
  // The bounded ratio: q(x) (r - m) / sqrt(m (1 - m)) <= sqrt(m) or sqrt(1 - m), so the floor
  // only settles 0 / 0.
  if (inv_std == 0) inv_std = 1.0 / std::max(std::sqrt(m * (1.0 - m)), 1e-12);
  const T c = scale * static_cast<T>(inv_std);
  for (int i = 0; i < n; ++i) {
    const T qi = q[static_cast<size_t>(i)];
    const T r = p[i] > qi ? T(1) : T(0);
    z[i] = -c * qi * (r - static_cast<T>(m));
  }
  return loss;
}

template <typename T>
double tvd_sampled_row(T* z, const T* p, int n, T scale, int32_t token, double advantage) {
  std::vector<T>& q = scratch<T>();
  q.resize(static_cast<size_t>(n));
  softmax_into(z, n, q.data());
  const double loss = 1.0 - acceptance(p, q.data(), n);
  if (scale == T(0)) return loss;
  const T a = scale * static_cast<T>(advantage);
  for (int i = 0; i < n; ++i) z[i] = a * q[static_cast<size_t>(i)];
  z[token] -= a;
  return loss;
}

#define ADED_INSTANTIATE(T)                                                         \
  template void dense_target<T>(const int32_t*, const float*, float, int, int, T*); \
  template T softmax_into<T>(const T*, int, T*);                                    \
  template double acceptance<T>(const T*, const T*, int);                           \
  template double fkl_row<T>(T*, const T*, int, T);                                 \
  template double rkl_row<T>(T*, const T*, int, T);                                 \
  template double tvd_row<T>(T*, const T*, int, T, double);                         \
  template double tvd_sampled_row<T>(T*, const T*, int, T, int32_t, double);
ADED_INSTANTIATE(float)
ADED_INSTANTIATE(double)
#undef ADED_INSTANTIATE

}  // namespace aded::train
