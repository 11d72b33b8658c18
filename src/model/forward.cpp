// The forward pass over a batch, top to bottom:
//   embed -> for each layer: attention block, FFN block -> (final norm, output head: OutputHead),
// where the batch's LayerPlan may skip blocks and exit early.
// The layers run as one team region: each member runs every block and computes, within it, the
// part TeamPartition gives it, and the members meet at four barriers per layer. Every value is
// computed by the same code in the same order whichever member computes it, so results do not
// depend on the team (docs/architecture.md). Nothing in the region may throw (a member that did
// would leave the others at a barrier): batches are checked before it, model shapes at load.
#include "model/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/quant/quant.h"
#include "model/batch.h"
#include "model/ops.h"

namespace aded {

Activations::Activations(int pool_size, size_t n_ctx) : members(static_cast<size_t>(pool_size)), n_ctx_(n_ctx) {}

void Activations::reserve_scores(size_t n_keys) {
  if (n_keys <= scores_stride) return;
  scores_stride = std::min(std::max(n_keys, 2 * scores_stride), std::max(n_keys, n_ctx_));
  for (Own& m : members) m.scores.resize(static_cast<size_t>(kernels::kMaxAttentionQueries) * scores_stride);
}

void Activations::reserve(const ModelDims& d, size_t n) {
  if (n <= capacity_) return;
  x.resize(n * d.dim);
  proj.resize(n * d.dim);
  q.resize(n * d.q_dim);
  att.resize(n * d.q_dim);
  k.resize(n * d.kv_dim);
  v.resize(n * d.kv_dim);
  gate.resize(n * d.hidden);
  up.resize(n * d.hidden);
  rope_cos.resize(n * d.rope_pairs);
  rope_sin.resize(n * d.rope_pairs);
  for (Own& m : members) m.xn.resize(n * d.dim);
  capacity_ = n;
}

// A thread of the forward's team: its share of each layer, its own buffers, the team's barrier.
struct ForwardPass::Member {
  int index;
  TeamShare share;
  Activations::Own& own;
  TeamBarrier& barrier;
};

ForwardPass::ForwardPass(const Model& model, const ModelDims& dims, const kernels::KernelTable& kt,
                         const Batch& batch, int32_t n_past, Activations& act, KvCache& cache)
    : model_(model), c_(model.config()), d_(dims), kt_(kt), batch_(batch), n_(batch.tokens.size()),
      n_rows_(static_cast<int>(batch.tokens.size())), n_past_(static_cast<size_t>(n_past)), act_(act),
      cache_(cache) {
  act_.reserve(d_, n_);
  act_.reserve_scores(n_past_ + n_);
  shared_prefixes(batch_.mask, static_cast<int>(kQueryGroupTokens), act_.group_prefixes);
  if (c_.sliding_window > 0)
    window_starts(batch_, n_past, c_.sliding_window, act_.group_prefixes, static_cast<int>(kQueryGroupTokens),
                  act_.window_first, act_.window_skip);
}

void ForwardPass::embed() {
  const Matrix& embd = model_.token_embedding();
  for (size_t i = 0; i < n_; ++i) {
    const auto token = static_cast<size_t>(batch_.tokens[i]);
    quant::dequantize_row(embd.type, embd.data + token * embd.row_bytes, act_.x.data() + i * d_.dim, c_.dim);
  }
  const float scale = c_.gemma2() ? std::sqrt(static_cast<float>(c_.dim)) : c_.embedding_scale;
  if (scale != 1.0f)
    for (size_t k = 0; k < n_ * d_.dim; ++k) act_.x[k] *= scale;
  const std::vector<float>& factors = model_.rope_freq_factors(static_cast<int64_t>(act_.n_ctx()));
  for (size_t i = 0; i < n_; ++i)
    ops::rope_angles(c_, factors, batch_.positions[i], act_.rope_cos.data() + i * d_.rope_pairs,
                     act_.rope_sin.data() + i * d_.rope_pairs);
}

void ForwardPass::run_layers(ThreadPool& pool) {
  const int team = TeamPartition::team_size(d_, n_, pool.size());
  const TeamPartition partition(d_, n_, team);
  partition_ = &partition;
  TeamBarrier barrier(team);
  const LayerPlan& plan = batch_.plan;
  const auto depth = static_cast<size_t>(plan.depth(c_.n_layers));
  const auto layers = [&](int t, int) {
    Member me{t, partition.share(t), act_.members[static_cast<size_t>(t)], barrier};
    // Every member skips what the plan skips, barriers included, so the members still meet.
    for (size_t l = 0; l < depth; ++l) {
      if (plan.runs_attention(static_cast<int>(l))) attention_block(l, me);
      if (plan.runs_mlp(static_cast<int>(l))) ffn_block(l, me);
    }
  };
  if (team == 1)
    layers(0, 1);
  else
    pool.run_team(layers);
  partition_ = nullptr;
}

// ------------------------------------------------------------------------------------ blocks

void ForwardPass::attention_block(size_t l, Member& me) {
  const LayerWeights& w = model_.layers()[l];
  normalize(w.attn_norm, w.attn_norm_b, me);
  if (partition_->own_heads())
    qkv_and_attention_own_heads(l, w, me);
  else
    qkv_and_attention_shared(l, w, me);
  me.barrier.arrive_and_wait();  // att complete

  me.own.input.reset(act_.att.data(), d_.q_dim, n_rows_, c_.q_dim());
  product(me, w.wo, act_.proj, d_.dim, me.share.columns);  // output projection
  add_bias(w.bo, act_.proj, d_.dim, me.share.columns);
  add_block_output(w.attn_post_norm, me);
}

void ForwardPass::ffn_block(size_t l, Member& me) {
  const LayerWeights& w = model_.layers()[l];
  normalize(w.ffn_norm, w.ffn_norm_b, me);
  if (c_.gated_ffn()) {
    product(me, w.w_gate, act_.gate, d_.hidden, me.share.hidden);
    product(me, w.w_up, act_.up, d_.hidden, me.share.hidden);
    gate(me.share.hidden);
  } else {  // gelu(xn · w_up + b_up), written where the gated form leaves its product
    product(me, w.w_up, act_.gate, d_.hidden, me.share.hidden);
    activate_biased(w.b_up, me.share.hidden);
  }
  me.barrier.arrive_and_wait();  // gate complete

  me.own.input.reset(act_.gate.data(), d_.hidden, n_rows_, c_.hidden_dim);
  product(me, w.w_down, act_.proj, d_.dim, me.share.columns);
  add_bias(w.b_down, act_.proj, d_.dim, me.share.columns);
  add_block_output(w.ffn_post_norm, me);
}

// y[i][j] += bias[j] for the columns of the range, every token (nothing without a bias).
void ForwardPass::add_bias(const std::vector<float>& bias, std::vector<float>& y, size_t ldy, Range columns) {
  if (bias.empty()) return;
  for (size_t i = 0; i < n_; ++i)
    for (size_t j = columns.begin; j < columns.end; ++j) y[i * ldy + j] += bias[j];
}

// gate = gelu(gate + b_up) for the hidden units of the range, every token (StarCoder2).
void ForwardPass::activate_biased(const std::vector<float>& bias, Range units) {
  if (units.empty()) return;
  for (size_t i = 0; i < n_; ++i) {
    float* g = act_.gate.data() + i * d_.hidden + units.begin;
    if (!bias.empty())
      for (size_t j = 0; j < units.size(); ++j) g[j] += bias[units.begin + j];
    kt_.gelu_gate(g, nullptr, static_cast<int64_t>(units.size()));
  }
}

// x += the block's output (proj) in the member's columns; Gemma 2 normalizes it first, which needs
// whole rows of proj: after a barrier, each member works out every row's scale (the same value in
// each, the order being fixed) and applies it to its columns.
void ForwardPass::add_block_output(const std::vector<float>& post_norm, Member& me) {
  const Range columns = me.share.columns;
  if (c_.residual_scale != 1.0f) {
    float* x = act_.x.data();
    const float* proj = act_.proj.data();
    for (size_t i = 0; i < n_; ++i)
      for (size_t j = columns.begin; j < columns.end; ++j) x[i * d_.dim + j] += proj[i * d_.dim + j] * c_.residual_scale;
  } else if (post_norm.empty()) {
    residual_add(columns);
  } else {
    me.barrier.arrive_and_wait();  // proj complete
    float* x = act_.x.data();
    const float* proj = act_.proj.data();
    for (size_t i = 0; i < n_ && !columns.empty(); ++i) {
      const float* row = proj + i * d_.dim;
      const float scale = ops::rms_scale(row, c_.dim, c_.norm_eps);
      for (size_t j = columns.begin; j < columns.end; ++j) x[i * d_.dim + j] += post_norm[j] * (scale * row[j]);
    }
  }
  me.barrier.arrive_and_wait();  // x complete
}

// ------------------------------------------------------------------------------------- steps

// The member's own copy of rms_norm(x) · weight (LayerNorm with its bias for StarCoder2), the
// input of the block's first products. Every member normalizes the whole stream: that costs little
// and keeps each one writing only its lines.
void ForwardPass::normalize(const std::vector<float>& weight, const std::vector<float>& bias, Member& me) {
  if (weight.empty()) {  // a model without norms before its blocks (OLMo 2) reads the stream itself
    me.own.input.reset(act_.x.data(), d_.dim, n_rows_, c_.dim);
    return;
  }
  float* xn = me.own.xn.data();
  ops::model_norm_rows(c_, act_.x.data(), d_.dim, weight.data(), bias.data(), n_rows_, xn, d_.dim);
  me.own.input.reset(xn, d_.dim, n_rows_, c_.dim);
}

// The member's heads from start to end, for every token: their q/k/v rows, bias, RoPE, cache
// columns, attention.
void ForwardPass::qkv_and_attention_own_heads(size_t l, const LayerWeights& w, Member& me) {
  const Range qh = me.share.q_heads, kh = me.share.kv_heads;
  const size_t hd = d_.head_dim;
  product(me, w.wq, act_.q, d_.q_dim, {qh.begin * hd, qh.end * hd});
  product(me, w.wk, act_.k, d_.kv_dim, {kh.begin * hd, kh.end * hd});
  product(me, w.wv, act_.v, d_.kv_dim, {kh.begin * hd, kh.end * hd});
  for (size_t i = 0; i < n_; ++i) bias_rope_cache(l, i, qh, kh);
  for (size_t h = kh.begin; h < kh.end; ++h)
    for (size_t i = 0; i < partition_->tasks_per_kv_head(); ++i)
      attend(l, partition_->attention_task_of(h, i), me.own.scores.data());
}

// Fewer kv heads than members: q/k/v rows, then tokens, then attention tasks.
void ForwardPass::qkv_and_attention_shared(size_t l, const LayerWeights& w, Member& me) {
  const MatMulJob qkv[] = {{&w.wq, act_.q.data(), d_.q_dim}, {&w.wk, act_.k.data(), d_.kv_dim},
                           {&w.wv, act_.v.data(), d_.kv_dim}};
  const Range rows = me.share.qkv_rows;
  run_matmul_rows(kt_, me.own.input, qkv, static_cast<int64_t>(rows.begin), static_cast<int64_t>(rows.end));
  me.barrier.arrive_and_wait();  // q, k, v complete
  for (size_t i = me.share.tokens.begin; i < me.share.tokens.end; ++i)
    bias_rope_cache(l, i, {0, d_.n_heads}, {0, d_.n_kv_heads});
  me.barrier.arrive_and_wait();  // every token's keys and values cached
  if (partition_->split_tasks()) return attend_split(l, me);
  for (size_t task = me.share.attention_tasks.begin; task < me.share.attention_tasks.end; ++task)
    attend(l, partition_->attention_task(task), me.own.scores.data());
}

// Bias, RoPE and the cache write of token i's query heads qh and kv heads kh.
void ForwardPass::bias_rope_cache(size_t l, size_t i, Range qh, Range kh) {
  const LayerWeights& w = model_.layers()[l];
  float* qi = act_.q.data() + i * d_.q_dim;
  float* ki = act_.k.data() + i * d_.kv_dim;
  float* vi = act_.v.data() + i * d_.kv_dim;
  const size_t q0 = qh.begin * d_.head_dim, q1 = qh.end * d_.head_dim;
  const size_t k0 = kh.begin * d_.head_dim, k1 = kh.end * d_.head_dim;
  if (c_.qkv_bias) {
    for (size_t j = q0; j < q1; ++j) qi[j] += w.bq[j];
    for (size_t j = k0; j < k1; ++j) ki[j] += w.bk[j];
    for (size_t j = k0; j < k1; ++j) vi[j] += w.bv[j];
  }
  if (c_.qk_norm_whole()) {  // the member has the token's every head (TeamPartition: no own heads)
    ops::rms_norm(qi, w.q_norm.data(), c_.q_dim(), c_.norm_eps, qi);
    ops::rms_norm(ki, w.k_norm.data(), c_.kv_dim(), c_.norm_eps, ki);
  }
  if (c_.qk_norm()) {
    for (size_t h = qh.begin; h < qh.end; ++h) ops::rms_norm(qi + h * d_.head_dim, w.q_norm.data(), c_.head_dim, c_.norm_eps, qi + h * d_.head_dim);
    for (size_t h = kh.begin; h < kh.end; ++h) ops::rms_norm(ki + h * d_.head_dim, w.k_norm.data(), c_.head_dim, c_.norm_eps, ki + h * d_.head_dim);
  }
  const float* cs = act_.rope_cos.data() + i * d_.rope_pairs;
  const float* sn = act_.rope_sin.data() + i * d_.rope_pairs;
  ops::rope_apply(c_, qi + q0, static_cast<int>(qh.size()), cs, sn);
  // The kernels divide scores by sqrt(head_dim); a model scaling them otherwise scales q.
  if (c_.attn_scale > 0) {
    const float scale = c_.attn_scale * std::sqrt(static_cast<float>(c_.head_dim));
    for (size_t j = q0; j < q1; ++j) qi[j] *= scale;
  }
  ops::rope_apply(c_, ki + k0, static_cast<int>(kh.size()), cs, sn);
  cache_.store(l, n_past_ + i, k0, k1 - k0, ki + k0, vi + k0);
}

// The task's query heads for its tokens in one kernel call: each key and value of the kv head is
// read once for all of them, and each query follows the same rule as alone.
void ForwardPass::attend(size_t l, const AttentionTask& task, float* scores) {
  kernels::AttentionArgs args[kernels::kMaxAttentionQueries];
  kt_.attend_many(args, task_args(l, task, scores, args));
}

// Every task with every member: the shared prefix's keys divided among the members, a barrier,
// then the queries (their softmax and value sums). Task j keeps its scores in member j's scratch
// (there are fewer tasks than members).
void ForwardPass::attend_split(size_t l, Member& me) {
  const size_t tasks = partition_->attention_tasks();
  const int team = partition_->team();
  kernels::AttentionArgs args[kernels::kMaxAttentionQueries];
  const auto args_of = [&](size_t j) { return task_args(l, partition_->attention_task(j), act_.members[j].scores.data(), args); };
  const auto least_first = [&](int n) {
    auto lo = static_cast<size_t>(args[0].prefix);
    for (int i = 0; i < n; ++i) lo = std::min(lo, static_cast<size_t>(args[i].first));
    return lo;
  };
  constexpr size_t kKeyGrain = 64;  // the kernels' blocks of keys
  for (size_t j = 0; j < tasks; ++j) {
    const int n = args_of(j);
    const size_t lo = least_first(n), prefix = static_cast<size_t>(args[0].prefix);
    const Range keys = share_of(prefix - lo, kKeyGrain, me.index, team);
    if (!keys.empty()) kt_.attend_scores(args, n, lo + keys.begin, lo + keys.end);
  }
  me.barrier.arrive_and_wait();  // every prefix score
  // Queries numbered over the tasks.
  const auto count_of = [&](size_t j) {
    const AttentionTask task = partition_->attention_task(j);
    return (task.head_end - task.head_begin) * std::min(kQueryGroupTokens, n_ - task.first_token);
  };
  size_t queries = 0;
  for (size_t j = 0; j < tasks; ++j) queries += count_of(j);
  const Range mine = share_of(queries, 1, me.index, team);
  for (size_t j = 0, before = 0; j < tasks; before += count_of(j), ++j) {
    const size_t b = std::max(mine.begin, before), e = std::min(mine.end, before + count_of(j));
    if (b >= e) continue;
    const int n = args_of(j);
    kt_.attend_finish(args + (b - before), static_cast<int>(e - b), least_first(n));
  }
}

int ForwardPass::task_args(size_t l, const AttentionTask& task, float* scores, kernels::AttentionArgs* args) const {
  const size_t i0 = task.first_token, count = std::min(kQueryGroupTokens, n_ - i0);
  const AttentionMask& mask = batch_.mask;
  const int32_t shared = act_.group_prefixes[i0 / kQueryGroupTokens];
  const void* keys = cache_.keys(l);
  const void* values = cache_.values(l);
  const bool window = c_.sliding_layer(static_cast<int>(l));
  int n_args = 0;
  for (size_t i = i0; i < i0 + count; ++i) {
    const int32_t first = window ? act_.window_first[i] : 0;
    const auto lo = static_cast<size_t>(mask.offsets[i] + shared - mask.prefix + (window ? act_.window_skip[i] : 0));
    const auto hi = static_cast<size_t>(mask.offsets[i + 1]);
    for (size_t h = task.head_begin; h < task.head_end; ++h, ++n_args)
      args[n_args] = {act_.q.data() + i * d_.q_dim + h * d_.head_dim,
                      c_.head_dim,
                      keys,
                      values,
                      d_.head_dim,
                      shared,
                      mask.cells.data() + lo,
                      hi - lo,
                      scores + static_cast<size_t>(n_args) * act_.scores_stride,
                      act_.att.data() + i * d_.q_dim + h * d_.head_dim,
                      cache_.key_type(),
                      cache_.value_type(),
                      task.kv_head * cache_.head_stride(),
                      c_.attn_softcap,
                      first};
  }
  return n_args;
}

// gate = silu(gate) * up (GELU for Gemma 2) for the hidden units of the range, every token.
void ForwardPass::gate(Range units) {
  if (units.empty()) return;
  for (size_t i = 0; i < n_; ++i) {
    float* g = act_.gate.data() + i * d_.hidden + units.begin;
    const float* u = act_.up.data() + i * d_.hidden + units.begin;
    if (c_.gemma2())
      kt_.gelu_gate(g, u, static_cast<int64_t>(units.size()));
    else
      kt_.swiglu(g, u, static_cast<int64_t>(units.size()));
  }
}

// Rows [rows.begin, rows.end) of y = input · w^T (the member's prepared input), every token.
void ForwardPass::product(Member& me, const Matrix& w, std::vector<float>& y, size_t ldy, Range rows) {
  if (rows.empty()) return;
  kt_.matmul(me.own.input.args_for(w, kt_, y.data(), ldy), static_cast<int64_t>(rows.begin),
             static_cast<int64_t>(rows.end));
}

// x += proj in the columns of the range, every token.
void ForwardPass::residual_add(Range columns) {
  float* x = act_.x.data();
  const float* proj = act_.proj.data();
  for (size_t i = 0; i < n_; ++i)
    for (size_t j = columns.begin; j < columns.end; ++j) x[i * d_.dim + j] += proj[i * d_.dim + j];
}

}  // namespace aded
