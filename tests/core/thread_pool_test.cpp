// The thread pool runs every slice of a region exactly once, whichever thread claims it, also when
// there are more threads than cores (slices then move to the threads that are running).
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "aded/thread_pool.h"

namespace aded {
namespace {

TEST(ThreadPool, EverySliceRunsOncePerRegion) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    ASSERT_EQ(pool.size(), threads);
    std::vector<std::atomic<int>> runs(static_cast<size_t>(threads));
    constexpr int kRegions = 3000;
    for (int r = 0; r < kRegions; ++r) {
      pool.run([&](int slice, int n) {
        ASSERT_EQ(n, threads);
        ASSERT_GE(slice, 0);
        ASSERT_LT(slice, n);
        runs[static_cast<size_t>(slice)].fetch_add(1);
      });
    }
    for (int s = 0; s < threads; ++s) EXPECT_EQ(runs[static_cast<size_t>(s)].load(), kRegions) << threads << " threads";
  }
}

TEST(ThreadPool, RegionsSeeTheWorkOfTheRegionBefore) {
  ThreadPool pool(4);
  std::vector<int64_t> a(1000, 1), b(1000, 0);
  for (int r = 0; r < 200; ++r) {
    pool.run([&](int slice, int n) {  // b = 2a, then a = b + 1, each split by slices
      int64_t lo, hi;
      ThreadPool::split(static_cast<int64_t>(a.size()), 1, slice, n, lo, hi);
      for (int64_t i = lo; i < hi; ++i) b[static_cast<size_t>(i)] = 2 * a[static_cast<size_t>(i)];
    });
    pool.run([&](int slice, int n) {
      int64_t lo, hi;
      ThreadPool::split(static_cast<int64_t>(a.size()), 1, slice, n, lo, hi);
      for (int64_t i = lo; i < hi; ++i) a[static_cast<size_t>(i)] = (b[static_cast<size_t>(i)] + 1) % 1000003;
    });
  }
  int64_t expected = 1;
  for (int r = 0; r < 200; ++r) expected = (2 * expected + 1) % 1000003;
  for (int64_t v : a) ASSERT_EQ(v, expected);
}

// A team region runs all slices at once: phases separated by barriers see each other's writes,
// with team regions and ordinary regions alternating on the same pool (also with more threads
// than cores, where members must wait for descheduled ones).
TEST(ThreadPool, TeamMembersMeetAtBarriers) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    constexpr int kSize = 64, kPhases = 50;
    std::vector<int64_t> a(kSize, 1), b(kSize, 0);
    for (int r = 0; r < 20; ++r) {
      TeamBarrier barrier(threads);
      std::vector<int> seen(static_cast<size_t>(threads), 0);
      pool.run_team([&](int slice, int n) {
        ASSERT_EQ(n, threads);
        seen[static_cast<size_t>(slice)] += 1;
        int64_t lo, hi;
        ThreadPool::split(kSize, 1, slice, n, lo, hi);
        for (int p = 0; p < kPhases; ++p) {
          // b[i] = sum of all of a (written by every member in the phase before), then a = b.
          int64_t sum = 0;
          for (int64_t v : a) sum += v;
          barrier.arrive_and_wait();
          for (int64_t i = lo; i < hi; ++i) b[static_cast<size_t>(i)] = (sum + i) % 1000003;
          barrier.arrive_and_wait();
          for (int64_t i = lo; i < hi; ++i) a[static_cast<size_t>(i)] = b[static_cast<size_t>(i)];
          barrier.arrive_and_wait();
        }
      });
      for (int s : seen) ASSERT_EQ(s, 1) << threads << " threads";
      pool.run([&](int, int) {});
    }
    // The same recurrence on one thread.
    std::vector<int64_t> e(kSize, 1);
    for (int r = 0; r < 20; ++r)
      for (int p = 0; p < kPhases; ++p) {
        int64_t sum = 0;
        for (int64_t v : e) sum += v;
        for (int64_t i = 0; i < kSize; ++i) e[static_cast<size_t>(i)] = (sum + i) % 1000003;
      }
    EXPECT_EQ(a, e) << threads << " threads";
  }
}

int process_threads() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// Several threads submit ordinary and team regions to one pool at the same time: the regions run
// one at a time (a slice never sees another submitter's region in progress), each runs every slice
// exactly once with its own data, and the pool starts no threads beyond its workers.
TEST(ThreadPool, ConcurrentSubmittersTakeTurns) {
  for (int threads : {1, 2, 3}) {
    const int before = process_threads();
    ThreadPool pool(threads);
    EXPECT_EQ(process_threads(), before + threads - 1);
    constexpr int kSubmitters = 4, kRegions = 400;
    std::atomic<int> active{-1};  // the submitter whose region is running, -1 between regions
    std::atomic<int> overlaps{0}, peak_threads{0};
    std::vector<int64_t> slices_run(kSubmitters, 0);
    std::vector<std::thread> submitters;
    for (int me = 0; me < kSubmitters; ++me) {
      submitters.emplace_back([&, me] {
        std::vector<std::atomic<int>> runs(static_cast<size_t>(threads));
        for (int r = 0; r < kRegions; ++r) {
          std::atomic<int> finished{0};
          TeamBarrier barrier(threads);
          const auto slice = [&](int t, int n) {
            int expected = -1;
            if (!active.compare_exchange_strong(expected, me) && expected != me) overlaps.fetch_add(1);
            runs[static_cast<size_t>(t)].fetch_add(1);
            if (r % 2 == 1) barrier.arrive_and_wait();  // team regions: all slices at once
            if (t == 0 && r % 50 == 0) peak_threads.store(std::max(peak_threads.load(), process_threads()));
            if (finished.fetch_add(1) == n - 1) active.store(-1);  // the last slice ends the region
          };
          if (r % 2 == 0)
            pool.run(slice);
          else
            pool.run_team(slice);
        }
        for (auto& c : runs) slices_run[static_cast<size_t>(me)] += c.load() == kRegions ? 1 : 0;
      });
    }
    for (auto& s : submitters) s.join();
    EXPECT_EQ(overlaps.load(), 0) << threads << " threads";
    for (int me = 0; me < kSubmitters; ++me) EXPECT_EQ(slices_run[static_cast<size_t>(me)], threads) << me;
    // The submitters themselves, and no thread of the pool's own beyond its workers.
    EXPECT_LE(peak_threads.load(), before + threads - 1 + kSubmitters);
  }
}

// A submitter whose turn has not come sleeps: while another thread's region holds the pool for
// 300 ms, it uses a small fraction of that in CPU time.
TEST(ThreadPool, WaitingSubmittersSleep) {
  ThreadPool pool(2);
  std::atomic<bool> started{false};
  std::thread holder([&] {
    pool.run([&](int, int) {
      started.store(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    });
  });
  while (!started.load()) std::this_thread::yield();
  const auto cpu_seconds = [] {
    rusage u{};
    getrusage(RUSAGE_THREAD, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
  };
  const auto wall = std::chrono::steady_clock::now();
  const double cpu = cpu_seconds();
  bool ran = false;
  pool.run([&](int t, int) {
    if (t == 0) ran = true;
  });
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  const double used = cpu_seconds() - cpu;
  holder.join();
  EXPECT_TRUE(ran);
  EXPECT_GT(waited, 0.1);       // it did wait for the other region
  EXPECT_LT(used, 0.3 * waited);  // mostly asleep (a spinning waiter would use about all of it)
}

}  // namespace
}  // namespace aded
