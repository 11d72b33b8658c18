#include "model/team_partition.h"

#include <algorithm>

#include "aded/thread_pool.h"
#include "core/kernels/kernels.h"
#include "core/kernels/packing.h"

namespace aded {

Range share_of(size_t n, size_t grain, int member, int team) {
  int64_t begin, end;
  ThreadPool::split(static_cast<int64_t>(n), static_cast<int64_t>(grain), member, team, begin, end);
  return {static_cast<size_t>(begin), static_cast<size_t>(end)};
}

int TeamPartition::team_size(const ModelDims& d, size_t n_tokens, int pool_size) {
  constexpr uint64_t kMinTeamWork = 1 << 18;  // multiply-adds per layer: less is not worth a second thread
  return d.layer_macs() * n_tokens < kMinTeamWork ? 1 : pool_size;
}

TeamPartition::TeamPartition(const ModelDims& d, size_t n_tokens, int team)
    : d_(d),
      n_tokens_(n_tokens),
      team_(team),
      own_heads_(d.n_kv_heads >= static_cast<size_t>(team) && !d.whole_row_qk_norm),
      query_groups_((n_tokens + kQueryGroupTokens - 1) / kQueryGroupTokens) {
  constexpr auto kMaxQueries = static_cast<size_t>(kernels::kMaxAttentionQueries);
  const size_t tokens = std::max<size_t>(1, std::min(n_tokens, kQueryGroupTokens));
  heads_per_slice_ = std::clamp<size_t>(kMaxQueries / tokens, 1, d.group);
  slices_ = (d.group + heads_per_slice_ - 1) / heads_per_slice_;
  split_tasks_ = !own_heads_ && attention_tasks() < static_cast<size_t>(team);
}

AttentionTask TeamPartition::attention_task_of(size_t kv_head, size_t i) const {
  const size_t group = i / slices_, slice = i % slices_;
  const size_t begin = kv_head * d_.group + slice * heads_per_slice_;
  return {kv_head, begin, std::min(begin + heads_per_slice_, (kv_head + 1) * d_.group), group * kQueryGroupTokens};
}

TeamShare TeamPartition::share(int t) const {
  constexpr auto kRows = static_cast<size_t>(kernels::kPackRows);
  TeamShare s;
  s.columns = share_of(d_.dim, kRows, t, team_);
  s.hidden = share_of(d_.hidden, kRows, t, team_);
  if (own_heads_) {
    s.kv_heads = share_of(d_.n_kv_heads, 1, t, team_);
    s.q_heads = {s.kv_heads.begin * d_.group, s.kv_heads.end * d_.group};
  } else {
    s.qkv_rows = share_of(d_.q_dim + 2 * d_.kv_dim, kRows, t, team_);
    s.tokens = share_of(n_tokens_, 1, t, team_);
    if (!split_tasks_) s.attention_tasks = share_of(attention_tasks(), 1, t, team_);
  }
  return s;
}

}  // namespace aded
