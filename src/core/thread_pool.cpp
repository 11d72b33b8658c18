#include "aded/thread_pool.h"

#include <chrono>

#include "aded/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ADED_CPU_RELAX() _mm_pause()
#else
#define ADED_CPU_RELAX() ((void)0)
#endif

namespace aded {

namespace {
// How long an idle worker spins before it sleeps: long enough to bridge the gaps between the
// parallel regions of one forward pass, short enough not to burn a core while the user types.
constexpr auto kSpinTime = std::chrono::microseconds(2000);
constexpr int kSpinsBeforeYield = 2000;
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads) {
  if (n_threads < 1 || n_threads > 1024) fail("thread count must be between 1 and 1024, not {}", n_threads);
  next_slice_.store(n_threads);  // no region yet: nothing to claim
  workers_.reserve(static_cast<size_t>(n_threads - 1));
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_slices() {
  for (;;) {
    // A claim that succeeds synchronizes with the reset in dispatch (the counter is written only
    // there and by claims), so task_ and ctx_ of this region are visible; a late worker that
    // claims past the end of an old region just goes back to waiting.
    const int slice = next_slice_.fetch_add(1, std::memory_order_acq_rel);
    if (slice >= n_threads_) return;
    const bool team = team_;
    {
      // Counted also when the slice throws (on the calling thread: dispatch then still waits).
      struct Done {
        std::atomic<int>& slices;
        ~Done() { slices.fetch_add(1, std::memory_order_acq_rel); }
      } done{done_slices_};
      task_(ctx_, slice, n_threads_);
    }
    if (team) return;  // each member of a team runs exactly one slice
  }
}

uint32_t ThreadPool::begin_turn() {
  const uint32_t ticket = next_ticket_.fetch_add(1, std::memory_order_seq_cst);
  for (uint32_t serving; (serving = serving_.load(std::memory_order_seq_cst)) != ticket;)
    serving_.wait(serving, std::memory_order_seq_cst);  // asleep until a turn ends
  return ticket;
}

void ThreadPool::end_turn(uint32_t ticket) {
  serving_.store(ticket + 1, std::memory_order_seq_cst);
  // Someone took a ticket after this one: wake the waiters (the one served next goes on). A
  // submitter that takes its ticket after this check sees serving_ already advanced (both sides
  // are sequentially consistent), so no wake-up is lost and a lone submitter makes no system call.
  if (next_ticket_.load(std::memory_order_seq_cst) != ticket + 1) serving_.notify_all();
}

void ThreadPool::dispatch(Task task, void* ctx, bool team) {
  task_ = task;
  ctx_ = ctx;
  team_ = team;
  done_slices_.store(0, std::memory_order_relaxed);
  next_slice_.store(0, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  // The region ends when every slice is done, also when the calling thread's slice throws (the
  // other slices still use fn, and the next region must not start before they finish).
  struct WaitForSlices {
    ThreadPool& pool;
    ~WaitForSlices() { pool.wait_for_slices(); }
  } wait{*this};
  run_slices();
}

void ThreadPool::wait_for_slices() {
  // Spin briefly, then yield: on a loaded machine the thread running one may be waiting for this
  // very core.
  for (int spins = 0; done_slices_.load(std::memory_order_acquire) != n_threads_; ++spins) {
    if (spins < kSpinsBeforeYield)
      ADED_CPU_RELAX();
    else
      std::this_thread::yield();
  }
}

void ThreadPool::worker() {
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen = generation_.load(std::memory_order_acquire);
    if (gen == seen) {
      const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
      int spins = 0;
      while ((gen = generation_.load(std::memory_order_acquire)) == seen) {
        if (++spins < kSpinsBeforeYield) {
          ADED_CPU_RELAX();
          continue;
        }
        std::this_thread::yield();
        if (spins % 64 == 0 && std::chrono::steady_clock::now() > deadline) {
          generation_.wait(seen, std::memory_order_acquire);
        }
      }
    }
    seen = gen;
    if (stop_.load()) return;
    run_slices();
  }
}

void TeamBarrier::arrive_and_wait() {
  if (n_ == 1) return;
  const uint32_t phase = phase_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
    arrived_.store(0, std::memory_order_relaxed);
    phase_.store(phase + 1, std::memory_order_release);  // publishes the reset too
    return;
  }
  for (int spins = 0; phase_.load(std::memory_order_acquire) == phase; ++spins) {
    if (spins < kSpinsBeforeYield)
      ADED_CPU_RELAX();
    else
      std::this_thread::yield();
  }
}

void ThreadPool::split(int64_t n, int64_t grain, int thread, int n_threads, int64_t& begin,
                       int64_t& end) {
  const int64_t units = (n + grain - 1) / grain;
  const int64_t per = units / n_threads;
  const int64_t extra = units % n_threads;
  const int64_t first = thread * per + (thread < extra ? thread : extra);
  const int64_t count = per + (thread < extra ? 1 : 0);
  begin = first * grain < n ? first * grain : n;
  end = (first + count) * grain < n ? (first + count) * grain : n;
}

}  // namespace aded
