#include "aded/bench.h"

#include "aded/error.h"

#include <sys/mman.h>

#include <cstdlib>
#include <memory>
#include <new>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "aded/context.h"
#include "aded/thread_pool.h"
#include "fmt/format.h"

namespace aded {

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

std::vector<int32_t> bench_tokens(int n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& v : t) v = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab));
  return t;
}

}  // namespace

Stat Stat::of(std::vector<double> v) {
  Stat s;
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double var = 0;
  for (double x : v) var += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0;
  std::sort(v.begin(), v.end());
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return s;
}

double measure_read_bandwidth_gbps(int threads) {
  constexpr size_t kBytes = size_t{1} << 29;  // 512 MiB: 16x the largest L3 here
  const size_t words = kBytes / sizeof(uint64_t);
  // Laid out like the packed weights (2 MB aligned, transparent huge pages asked for), so the
  // probe measures what a forward can get; with 4 KB pages it varied by 50% from run to run.
  constexpr size_t kHuge = size_t{2} << 20;
  std::unique_ptr<uint64_t, void (*)(void*)> memory(static_cast<uint64_t*>(std::aligned_alloc(kHuge, kBytes)), std::free);
  if (!memory) throw std::bad_alloc();
  madvise(memory.get(), kBytes, MADV_HUGEPAGE);
  uint64_t* buffer = memory.get();
  for (size_t i = 0; i < words; ++i) buffer[i] = i;
  ThreadPool pool(threads);
  std::vector<uint64_t> sink(static_cast<size_t>(threads));
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto start = Clock::now();
    pool.run([&](int t, int nt) {
      int64_t begin, end;
      ThreadPool::split(static_cast<int64_t>(words), 64, t, nt, begin, end);
      // Eight independent chains over whole cache lines: the loop is never the bottleneck.
      uint64_t acc[8] = {};
      for (int64_t i = begin; i + 8 <= end; i += 8)
        for (int k = 0; k < 8; ++k) acc[k] ^= buffer[static_cast<size_t>(i + k)];
      sink[static_cast<size_t>(t)] = acc[0] ^ acc[1] ^ acc[2] ^ acc[3] ^ acc[4] ^ acc[5] ^ acc[6] ^ acc[7];
    });
    best = std::max(best, static_cast<double>(kBytes) / seconds(start, Clock::now()) / 1e9);
  }
  volatile uint64_t keep = sink[0];
  (void)keep;
  return best;
}

BenchResult run_bench(const std::shared_ptr<const Model>& model, const BenchOptions& o) {
  BenchResult r;
  const int vocab = model->config().n_vocab;
  if (o.depths.empty() || !std::is_sorted(o.depths.begin(), o.depths.end()) ||
      std::adjacent_find(o.depths.begin(), o.depths.end()) != o.depths.end() || o.depths.front() < 0)
    fail("bench: the cost curve's depths must be distinct, ascending and not negative");
  const int deepest = o.depths.back();
  const int ctx_needed = std::max({o.pp_tokens, o.tg_tokens + 1,
                                   deepest + *std::max_element(o.cost_sizes.begin(), o.cost_sizes.end())});
  if (o.n_ctx > 0 && o.n_ctx < ctx_needed)
    fail("a context of {} tokens is too small for this bench: it needs {} (pp{}, tg{}, the cost "
         "curve at depth {} up to n = {}); raise -c or lower -p, -n, --depth or --cost-sizes",
         o.n_ctx, ctx_needed, o.pp_tokens, o.tg_tokens, deepest,
         *std::max_element(o.cost_sizes.begin(), o.cost_sizes.end()));
  Context ctx(model, {.n_ctx = o.n_ctx > 0 ? o.n_ctx : ctx_needed,
                      .n_threads = o.threads,
                      .greedy_head = o.greedy_head,
                      .cache_type_k = o.cache_type_k,
                      .cache_type_v = o.cache_type_v});
  r.threads = ctx.pool().size();
  auto say = [&](const std::string& s) {
    if (o.progress) o.progress(s);
  };

  // pp: one prompt of pp_tokens evaluated as a batch (logits for the last token only).
  std::vector<double> pp;
  const auto prompt = bench_tokens(o.pp_tokens, vocab, 1);
  for (int rep = -1; rep < o.repetitions; ++rep) {  // rep -1 warms up
    say(fmt::format("pp{} {}/{}", o.pp_tokens, rep + 1, o.repetitions));
    ctx.truncate(0);
    const auto start = Clock::now();
    for (int at = 0; at < o.pp_tokens; at += 256) {
      const int n = std::min(256, o.pp_tokens - at);
      ctx.forward(Batch::sequence(std::span<const int32_t>(prompt.data() + at, static_cast<size_t>(n)), ctx.n_past(), false));
      std::vector<int32_t> all(static_cast<size_t>(n));
      std::iota(all.begin(), all.end(), 0);
      ctx.commit(all);
    }
    if (rep >= 0) pp.push_back(o.pp_tokens / seconds(start, Clock::now()));
  }
  r.pp_tps = Stat::of(pp);

  // tg: tg_tokens generated one at a time from an empty context.
  std::vector<double> tg;
  const auto gen = bench_tokens(o.tg_tokens, vocab, 2);
  for (int rep = -1; rep < o.repetitions; ++rep) {
    say(fmt::format("tg{} {}/{}", o.tg_tokens, rep + 1, o.repetitions));
    ctx.truncate(0);
    const auto start = Clock::now();
    for (int i = 0; i < o.tg_tokens; ++i) {
      Batch b = Batch::sequence(std::span<const int32_t>(&gen[static_cast<size_t>(i)], 1), ctx.n_past(), true);
      b.greedy_only = o.greedy_head;
      ctx.forward(b);
      const int32_t first[] = {0};
      ctx.commit(first);
    }
    if (rep >= 0) tg.push_back(o.tg_tokens / seconds(start, Clock::now()));
  }
  r.tg_tps = Stat::of(tg);

  // Cost curves: forwards of n chained tokens on top of `depth` cached tokens, never committed;
  // the context grows from one depth to the next.
  ctx.truncate(0);
  const auto context = bench_tokens(deepest, vocab, 3);
  const auto draft = bench_tokens(*std::max_element(o.cost_sizes.begin(), o.cost_sizes.end()), vocab, 4);
  for (const int depth : o.depths) {
    for (int at = ctx.n_past(); at < depth; at += 512) {
      const int n = std::min(512, depth - at);
      ctx.forward(Batch::sequence(std::span<const int32_t>(context.data() + at, static_cast<size_t>(n)), at, false));
      std::vector<int32_t> all(static_cast<size_t>(n));
      std::iota(all.begin(), all.end(), 0);
      ctx.commit(all);
    }
    std::vector<std::vector<double>> times(o.cost_sizes.size()), layer_times(o.cost_sizes.size());
    // Interleave sizes so machine drift hits all of them alike.
    for (int rep = -1; rep < o.cost_repetitions; ++rep) {
      say(fmt::format("cost curve at depth {} {}/{}", depth, rep + 1, o.cost_repetitions));
      for (size_t k = 0; k < o.cost_sizes.size(); ++k) {
        const int n = o.cost_sizes[k];
        for (bool logits : {true, false}) {
          Batch b = Batch::sequence(std::span<const int32_t>(draft.data(), static_cast<size_t>(n)), ctx.n_past(), logits);
          if (!logits) b.want_logits.assign(static_cast<size_t>(n), 0);
          b.greedy_only = o.greedy_head;
          const auto start = Clock::now();
          ctx.forward(b);
          if (rep >= 0) (logits ? times : layer_times)[k].push_back(seconds(start, Clock::now()) * 1e3);
          ctx.truncate(ctx.n_past());  // drop the batch
        }
      }
    }
    DepthCostCurve curve{depth, {}};
    for (size_t k = 0; k < o.cost_sizes.size(); ++k)
      curve.points.push_back({o.cost_sizes[k], Stat::of(times[k]).median, 0, Stat::of(layer_times[k]).median});
    for (auto& p : curve.points) p.rel = p.ms / curve.points.front().ms;
    r.cost_curves.push_back(std::move(curve));
  }

  say("memory bandwidth");
  r.bandwidth_gbps = measure_read_bandwidth_gbps(r.threads);
  r.weight_bytes = o.greedy_head ? ctx.greedy_weight_bytes_per_token() : model->weight_bytes_per_token();
  r.bandwidth_limit_tps = r.bandwidth_gbps * 1e9 / static_cast<double>(r.weight_bytes);
  return r;
}

}  // namespace aded
