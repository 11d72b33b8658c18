// A fixed set of worker threads that run one parallel region at a time. A region is cut into as
// many slices as there are threads; fn(slice, n) runs once per slice, on whichever thread claims
// it first (the calling thread takes part). On a loaded machine a worker the OS has not scheduled
// does not hold the region up: the others take its slice. The slices, and so every result, are the
// same whichever thread runs them. Workers spin briefly between regions (a decode step runs ~100
// of them) and sleep when idle, so an idle engine costs no CPU.
//
// Several threads may submit regions to one pool (contexts of a draft and a target model, or of
// several requests, share one): the regions run one at a time, in the order they were submitted,
// and the other submitters sleep until their turn. The pool never has more than its size() threads
// computing in regions, and it never starts threads beyond the size()-1 workers it starts at once.
// A region must not submit another region to its own pool (it would wait for itself).
//
// A team region (run_team) instead runs every slice at once on its own thread, so that slices can
// wait for each other at a TeamBarrier: a whole forward pass is one team region whose phases are
// separated by barriers, with no serial sections between them.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
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
    launch(fn, false);
  }

  // Calls fn(slice, n_threads) for every slice at the same time, each on a different thread (the
  // calling thread takes one), and returns when all are done. fn may synchronize the slices with a
  // TeamBarrier of size() threads; a slice must not return early while others wait for it.
  template <typename Fn>
  void run_team(Fn&& fn) {
    launch(fn, true);
  }

  // Splits [0, n) into contiguous chunks whose boundaries are multiples of grain.
  static void split(int64_t n, int64_t grain, int thread, int n_threads, int64_t& begin, int64_t& end);

 private:
  using Task = void (*)(void*, int, int);
  template <typename F>
  void launch(F& fn, bool team) {
    const Turn turn(*this);
    if (n_threads_ == 1) {
      fn(0, 1);
      return;
    }
    auto trampoline = [](void* ctx, int t, int n) { (*static_cast<F*>(ctx))(t, n); };
    dispatch(trampoline, const_cast<void*>(static_cast<const void*>(&fn)), team);
  }
  // Holds the pool for one region: waits (asleep) until the regions submitted before are done,
  // and lets the next submitter in when it goes out of scope.
  class Turn {
   public:
    explicit Turn(ThreadPool& pool) : pool_(pool), ticket_(pool.begin_turn()) {}
    ~Turn() { pool_.end_turn(ticket_); }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    ThreadPool& pool_;
    uint32_t ticket_;
  };
  uint32_t begin_turn();
  void end_turn(uint32_t ticket);
  void dispatch(Task task, void* ctx, bool team);
  void wait_for_slices();
  void worker();
  // Claims and runs slices of the current region until none is left (one slice in a team region).
  void run_slices();

  int n_threads_;
  std::vector<std::thread> workers_;
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  bool team_ = false;
  alignas(64) std::atomic<uint32_t> generation_{0};
  alignas(64) std::atomic<int> next_slice_{0};  // slices claimed in the current region
  alignas(64) std::atomic<int> done_slices_{0};
  std::atomic<bool> stop_{false};
  // A ticket lock: submitter k waits until serving_ == k.
  alignas(64) std::atomic<uint32_t> next_ticket_{0};
  alignas(64) std::atomic<uint32_t> serving_{0};
};

// Makes the n threads of a team region wait until all of them have arrived. Spins (a phase of a
// forward pass is a few microseconds), then yields, so a descheduled member costs the others
// little CPU.
class TeamBarrier {
 public:
  explicit TeamBarrier(int n_threads) : n_(n_threads) {}
  void arrive_and_wait();

 private:
  int n_;
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<uint32_t> phase_{0};
};

}  // namespace aded
