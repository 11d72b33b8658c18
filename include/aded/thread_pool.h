// A fixed set of worker threads that run one parallel region at a time. The calling thread takes
// part as thread 0. Workers spin briefly between regions (a decode step runs ~100 of them) and
// sleep when idle, so an idle engine costs no CPU.
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

  // Calls fn(thread_index, n_threads) on every thread and returns when all are done.
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
  void worker(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  alignas(64) std::atomic<uint32_t> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace aded
