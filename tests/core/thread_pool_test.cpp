// The thread pool runs every slice of a region exactly once, whichever thread claims it, also when
// there are more threads than cores (slices then move to the threads that are running).
#include <gtest/gtest.h>

#include <atomic>
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

}  // namespace
}  // namespace aded
