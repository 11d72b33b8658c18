// A fixed set of worker threads that run one parallel region at a time. A region is cut into as
// many slices as there are threads; fn(slice, n) runs once per slice, on whichever thread claims
// it first (the calling thread takes part). On a loaded machine a worker the OS has not scheduled
// does not hold the region up: the others take its slice. The slices, and so every result, are the
// same whichever thread runs them. Workers spin briefly between regions (a decode step runs ~100
// of them) and sleep when idle, so an idle engine costs no CPU.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

namespace aded {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(slice, n_threads) for every slice in [0, n_threads), each once, concurrently, and
  // returns when all are done. Per-slice scratch indexed by slice is never shared.
  template <typename Fn>
  void run(Fn&& fn) {
    if (n_threads_ == 1) {
      fn(0, 1);
      return;
    }
    using F = std::remove_reference_t<Fn>;
    auto trampoline = [](void* ctx, int t, int n) { (*static_cast<F*>(ctx))(t, n); };
    dispatch(trampoline, const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // Splits [0, n) into contiguous chunks whose boundaries are multiples of grain.
  static void split(int64_t n, int64_t grain, int thread, int n_threads, int64_t& begin, int64_t& end);

 private:
  using Task = void (*)(void*, int, int);
  void dispatch(Task task, void* ctx);
  void worker();
  // Claims and runs slices of the current region until none is left.
  void run_slices();

  int n_threads_;
  std::vector<std::thread> workers_;
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  alignas(64) std::atomic<uint32_t> generation_{0};
  alignas(64) std::atomic<int> next_slice_{0};  // slices claimed in the current region
  alignas(64) std::atomic<int> done_slices_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace aded
