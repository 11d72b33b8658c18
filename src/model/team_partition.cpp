#include "model/team_partition.h"

#include "aded/thread_pool.h"
#include "core/kernels/kernels.h"
#include "core/kernels/packing.h"

namespace aded {

namespace {

Range split(size_t n, size_t grain, int member, int team) {
  int64_t begin, end;
  ThreadPool::split(static_cast<int64_t>(n), static_cast<int64_t>(grain), member, team, begin, end);
  return {static_cast<size_t>(begin), static_cast<size_t>(end)};
}

}  // namespace

int TeamPartition::team_size(const ModelDims& d, size_t n_tokens, int pool_size) {
  constexpr uint64_t kMinTeamWork = 1 << 18;  // multiply-adds per layer: less is not worth a second thread
  return d.layer_macs() * n_tokens < kMinTeamWork ? 1 : pool_size;
}

TeamPartition::TeamPartition(const ModelDims& d, size_t n_tokens, int team)
    : d_(d), n_tokens_(n_tokens), team_(team), own_heads_(d.n_kv_heads >= static_cast<size_t>(team)) {}

TeamShare TeamPartition::share(int t) const {
  constexpr auto kRows = static_cast<size_t>(kernels::kPackRows);
  constexpr auto kQueries = static_cast<size_t>(kernels::kMaxAttentionQueries);
  TeamShare s;
  s.columns = split(d_.dim, kRows, t, team_);
  s.hidden = split(d_.hidden, kRows, t, team_);
  if (own_heads_) {
    s.kv_heads = split(d_.n_kv_heads, 1, t, team_);
    s.q_heads = {s.kv_heads.begin * d_.group, s.kv_heads.end * d_.group};
  } else {
    const size_t query_groups = (n_tokens_ + kQueries - 1) / kQueries;
    s.qkv_rows = split(d_.q_dim + 2 * d_.kv_dim, kRows, t, team_);
    s.tokens = split(n_tokens_, 1, t, team_);
    s.attention_tasks = split(query_groups * d_.n_heads, 1, t, team_);
  }
  return s;
}

}  // namespace aded
