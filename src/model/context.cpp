// The KV cache, batches and masks, and the forward pass of the Llama block over a batch.
#include "aded/context.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <thread>

#include "aded/error.h"
#include "core/kernels/kernels.h"
#include "core/quant/quant.h"
#include "model/greedy_head.h"
#include "model/matmul_op.h"
#include "model/ops.h"

namespace aded {

// ------------------------------------------------------------------------------------ masks

void AttentionMask::add_query(std::span<const int32_t> visible) {
  cells.insert(cells.end(), visible.begin(), visible.end());
  offsets.push_back(static_cast<int32_t>(cells.size()));
}

AttentionMask AttentionMask::causal(int32_t n_past, int32_t n) {
  AttentionMask m;
  m.prefix = n_past;
  m.offsets.reserve(static_cast<size_t>(n) + 1);
  m.cells.reserve(static_cast<size_t>(n) * static_cast<size_t>(n + 1) / 2);
  for (int32_t i = 0; i < n; ++i) {
    for (int32_t j = 0; j <= i; ++j) m.cells.push_back(n_past + j);
    m.offsets.push_back(static_cast<int32_t>(m.cells.size()));
  }
  return m;
}

AttentionMask AttentionMask::tree(int32_t n_past, std::span<const int32_t> parents) {
  AttentionMask m;
  m.prefix = n_past;
  std::vector<int32_t> path;
  for (size_t i = 0; i < parents.size(); ++i) {
    if (parents[i] >= static_cast<int32_t>(i) || parents[i] < -1)
      throw Error("tree mask: each parent must be an earlier batch index or -1");
    path.clear();
    for (int32_t node = static_cast<int32_t>(i); node >= 0; node = parents[static_cast<size_t>(node)])
      path.push_back(n_past + node);
    std::reverse(path.begin(), path.end());
    m.add_query(path);
  }
  return m;
}

Batch Batch::sequence(std::span<const int32_t> tokens, int32_t n_past, bool all_logits) {
  Batch b;
  b.tokens.assign(tokens.begin(), tokens.end());
  const auto n = static_cast<int32_t>(tokens.size());
  for (int32_t i = 0; i < n; ++i) b.positions.push_back(n_past + i);
  b.mask = AttentionMask::causal(n_past, n);
  if (!all_logits) {
    b.want_logits.assign(tokens.size(), 0);
    if (!tokens.empty()) b.want_logits.back() = 1;
  }
  return b;
}

// ---------------------------------------------------------------------------------- state

struct Context::State {
  explicit State(const kernels::KernelTable& table) : kt(table) {}
  const kernels::KernelTable& kt;
  std::vector<float> k_cache, v_cache;  // [layer][cell][kv_dim]
  // Activations of the current batch, n rows each.
  std::vector<float> x, q, k, v, att, proj, gate, up;
  std::vector<float> rope_cos, rope_sin;  // [n][rope_dim / 2]
  std::vector<float> scores;              // [thread][query of a group][n_ctx]
  std::vector<float> logits;              // [rows with logits][n_vocab]
  std::vector<int32_t> logit_row;         // batch index -> logits row or -1
  std::vector<int32_t> row_argmax;        // per logits row, when the greedy head made them
  std::vector<int32_t> group_prefixes;    // per attention query group: cells all its queries see first
  std::vector<float> final_x;             // normed rows that want logits
  PreparedInput input;
  // Per member of the forward's team: its normalized copy of the residual stream, its inputs.
  std::vector<std::vector<float>> team_xn;
  std::vector<PreparedInput> team_inputs;
  int capacity = 0;
  std::unique_ptr<GreedyHead> greedy_head;  // when enabled and the output matrix is float

  void reserve(const ModelConfig& c, int n) {
    if (n <= capacity) return;
    const auto rows = static_cast<size_t>(n);
    x.resize(rows * static_cast<size_t>(c.dim));
    proj.resize(rows * static_cast<size_t>(c.dim));
    q.resize(rows * static_cast<size_t>(c.q_dim()));
    att.resize(rows * static_cast<size_t>(c.q_dim()));
    k.resize(rows * static_cast<size_t>(c.kv_dim()));
    v.resize(rows * static_cast<size_t>(c.kv_dim()));
    gate.resize(rows * static_cast<size_t>(c.hidden_dim));
    up.resize(rows * static_cast<size_t>(c.hidden_dim));
    rope_cos.resize(rows * static_cast<size_t>(c.rope_dim / 2));
    rope_sin.resize(rows * static_cast<size_t>(c.rope_dim / 2));
    capacity = n;
  }
  void reserve_team(const ModelConfig& c, int n, int team) {
    if (team_inputs.size() < static_cast<size_t>(team)) team_inputs.resize(static_cast<size_t>(team));
    if (team_xn.size() < static_cast<size_t>(team)) team_xn.resize(static_cast<size_t>(team));
    for (int t = 0; t < team; ++t) {
      auto& xn_t = team_xn[static_cast<size_t>(t)];
      if (xn_t.size() < static_cast<size_t>(n) * static_cast<size_t>(c.dim)) xn_t.resize(static_cast<size_t>(n) * static_cast<size_t>(c.dim));
    }
  }
};

Context::Context(std::shared_ptr<const Model> model, ContextOptions options)
    : model_(std::move(model)),
      state_(std::make_unique<State>(options.scalar_kernels ? kernels::scalar_kernels() : kernels::best_kernels())) {
  const ModelConfig& c = model_->config();
  if (state_->kt.uses_packed_weights) model_->pack_weights();
  // Made here (~0.1 s for a 32000 x 288 matrix) rather than in the first step.
  if (options.greedy_head) state_->greedy_head = GreedyHead::build(model_->output(), state_->kt);
  n_ctx_ = options.n_ctx > 0 ? options.n_ctx : std::min(c.ctx_train, 4096);
  if (n_ctx_ < 1 || n_ctx_ > (1 << 22)) fail("context size {} is out of range", n_ctx_);
  int threads = options.n_threads > 0 ? options.n_threads : static_cast<int>(std::thread::hardware_concurrency());
  pool_ = std::make_unique<ThreadPool>(std::max(1, threads));
  const size_t cache = static_cast<size_t>(c.n_layers) * static_cast<size_t>(n_ctx_) * static_cast<size_t>(c.kv_dim());
  state_->k_cache.assign(cache, 0.0f);
  state_->v_cache.assign(cache, 0.0f);
  state_->scores.resize(static_cast<size_t>(pool_->size()) * kernels::kMaxAttentionQueries * static_cast<size_t>(n_ctx_));
}

Context::~Context() = default;

std::span<const float> Context::logits(int i) const {
  if (i < 0 || i >= static_cast<int>(state_->logit_row.size()) || state_->logit_row[static_cast<size_t>(i)] < 0)
    throw Error(fmt::format("no logits for batch token {}", i));
  const auto nv = static_cast<size_t>(model_->config().n_vocab);
  return {state_->logits.data() + static_cast<size_t>(state_->logit_row[static_cast<size_t>(i)]) * nv, nv};
}

void Context::commit(std::span<const int32_t> indices) {
  const ModelConfig& c = model_->config();
  const auto kv = static_cast<size_t>(c.kv_dim());
  int32_t previous = -1;
  for (size_t k = 0; k < indices.size(); ++k) {
    const int32_t idx = indices[k];
    if (idx <= previous || idx >= last_batch_)
      throw Error("commit: batch indices must be increasing and inside the last batch");
    previous = idx;
    const auto src = static_cast<size_t>(n_past_ + idx), dst = static_cast<size_t>(n_past_) + k;
    if (src == dst) continue;
    for (int l = 0; l < c.n_layers; ++l) {
      const size_t base = static_cast<size_t>(l) * static_cast<size_t>(n_ctx_) * kv;
      std::memcpy(&state_->k_cache[base + dst * kv], &state_->k_cache[base + src * kv], kv * sizeof(float));
      std::memcpy(&state_->v_cache[base + dst * kv], &state_->v_cache[base + src * kv], kv * sizeof(float));
    }
  }
  n_past_ += static_cast<int32_t>(indices.size());
  last_batch_ = 0;
}

void Context::truncate(int32_t n) {
  if (n < 0 || n > n_past_) throw Error("truncate: length out of range");
  n_past_ = n;
  last_batch_ = 0;
}

// ------------------------------------------------------------------------------- forward

namespace {

void check_batch(const Batch& b, int32_t n_past, int32_t n_ctx, int32_t n_vocab) {
  const auto n = static_cast<int32_t>(b.tokens.size());
  if (n == 0) throw Error("forward: empty batch");
  if (n_past + n > n_ctx)
    fail("the context is full: {} cached + {} new tokens exceed the context size {} (use -c to enlarge it)",
         n_past, n, n_ctx);
  if (b.positions.size() != b.tokens.size()) throw Error("forward: one position per token is required");
  if (b.mask.queries() != n) throw Error("forward: the mask must have one row per token");
  if (!b.want_logits.empty() && b.want_logits.size() != b.tokens.size())
    throw Error("forward: want_logits must be empty or have one flag per token");
  if (b.mask.prefix < 0 || b.mask.prefix > n_past + n) throw Error("forward: mask prefix out of range");
  for (int32_t t : b.tokens)
    if (t < 0 || t >= n_vocab) fail("token id {} is outside the vocabulary (size {})", t, n_vocab);
  for (int32_t p : b.positions)
    if (p < 0) throw Error("forward: negative position");
  for (int32_t cell : b.mask.cells)
    if (cell < 0 || cell >= n_past + n) throw Error("forward: mask refers to a cell outside the cache");
  for (size_t i = 0; i + 1 < b.mask.offsets.size(); ++i)
    if (b.mask.offsets[i] > b.mask.offsets[i + 1] || b.mask.offsets[i + 1] > static_cast<int32_t>(b.mask.cells.size()))
      throw Error("forward: malformed mask offsets");
}

}  // namespace

void Context::forward(const Batch& b) {
  const ModelConfig& c = model_->config();
  check_batch(b, n_past_, n_ctx_, c.n_vocab);
  const int n = static_cast<int>(b.tokens.size());
  State& s = *state_;
  s.reserve(c, n);
  last_batch_ = n;
  const auto dim = static_cast<size_t>(c.dim), qd = static_cast<size_t>(c.q_dim()),
             kvd = static_cast<size_t>(c.kv_dim()), hid = static_cast<size_t>(c.hidden_dim);
  const auto half = static_cast<size_t>(c.rope_dim / 2);

  const Matrix& embd = model_->token_embedding();
  for (int i = 0; i < n; ++i)
    quant::dequantize_row(embd.type, embd.data + static_cast<size_t>(b.tokens[static_cast<size_t>(i)]) * embd.row_bytes,
                          s.x.data() + static_cast<size_t>(i) * dim, c.dim);
  for (int i = 0; i < n; ++i)
    ops::rope_angles(c, model_->rope_freq_factors(), b.positions[static_cast<size_t>(i)],
                     s.rope_cos.data() + static_cast<size_t>(i) * half, s.rope_sin.data() + static_cast<size_t>(i) * half);

  // Cells every query of an attention group sees first, right after the committed ones (a causal
  // chunk: the tokens before the group's first; a draft tree: the root and the trunk): visiting
  // them as part of the shared prefix keeps each query's key order, and so its result, while
  // attend_many reads those keys once for the whole group.
  constexpr int kQueries = kernels::kMaxAttentionQueries;
  const int query_groups = (n + kQueries - 1) / kQueries;
  std::vector<int32_t>& group_prefixes = s.group_prefixes;
  group_prefixes.assign(static_cast<size_t>(query_groups), 0);
  for (int g = 0; g < query_groups; ++g) {
    int32_t extend = INT32_MAX;
    for (int i = g * kQueries; i < std::min(n, (g + 1) * kQueries); ++i) {
      const int32_t lo = b.mask.offsets[static_cast<size_t>(i)], hi = b.mask.offsets[static_cast<size_t>(i) + 1];
      int32_t m = 0;
      while (m < hi - lo && m < extend && b.mask.cells[static_cast<size_t>(lo + m)] == b.mask.prefix + m) ++m;
      extend = std::min(extend, m);
    }
    group_prefixes[static_cast<size_t>(g)] = b.mask.prefix + extend;
  }

  // The layers run as one team region. Thread t owns a slice of the residual stream's columns
  // (the rows of wo and w_down it computes, and their residual adds), a slice of the hidden units
  // (its gate/up rows and their SwiGLU) and, when there are at least as many kv heads as threads,
  // a set of heads (their q/k/v rows, RoPE, cache columns and attention). Each thread normalizes
  // the whole residual stream itself, into its own buffer. So every elementwise step runs in
  // parallel, and a thread writes only lines it owns: two cores here pass a cache line in ~170 ns,
  // and when the elementwise steps ran on one thread between parallel products (rewriting lines
  // the other core had read), an 8-token forward spent more time moving activations between the
  // cores than multiplying. Every value is computed by the same code in the same order as before,
  // whichever thread computes it. Nothing in the region may throw (a member that did would leave
  // the others at a barrier): the model's shapes and types are checked when it is loaded.
  const int64_t layer_macs = static_cast<int64_t>(c.dim) * (c.q_dim() + 2 * c.kv_dim()) +
                             static_cast<int64_t>(c.q_dim()) * c.dim + 3 * static_cast<int64_t>(c.dim) * c.hidden_dim;
  constexpr int64_t kMinTeamWork = 1 << 18;  // multiply-adds per layer: less is not worth a second thread
  const int team = layer_macs * n < kMinTeamWork ? 1 : pool_->size();
  s.reserve_team(c, n, team);
  TeamBarrier barrier(team);
  const bool own_heads = c.n_kv_heads >= team;
  const int group = c.n_heads / c.n_kv_heads;
  const auto hd = static_cast<size_t>(c.head_dim);

  // Bias, RoPE and the cache write of token i for q heads [qh0, qh1) and kv heads [kh0, kh1).
  const auto finish_qkv = [&](int l, int i, int qh0, int qh1, int kh0, int kh1) {
    const LayerWeights& w = model_->layers()[static_cast<size_t>(l)];
    float* qi = s.q.data() + static_cast<size_t>(i) * qd;
    float* ki = s.k.data() + static_cast<size_t>(i) * kvd;
    float* vi = s.v.data() + static_cast<size_t>(i) * kvd;
    const size_t q0 = static_cast<size_t>(qh0) * hd, q1 = static_cast<size_t>(qh1) * hd;
    const size_t k0 = static_cast<size_t>(kh0) * hd, k1 = static_cast<size_t>(kh1) * hd;
    if (c.qkv_bias) {
      for (size_t j = q0; j < q1; ++j) qi[j] += w.bq[j];
      for (size_t j = k0; j < k1; ++j) ki[j] += w.bk[j];
      for (size_t j = k0; j < k1; ++j) vi[j] += w.bv[j];
    }
    const float* cs = s.rope_cos.data() + static_cast<size_t>(i) * half;
    const float* sn = s.rope_sin.data() + static_cast<size_t>(i) * half;
    ops::rope_apply(c, qi + q0, qh1 - qh0, cs, sn);
    ops::rope_apply(c, ki + k0, kh1 - kh0, cs, sn);
    const size_t cell = static_cast<size_t>(n_past_ + i);
    const size_t layer = static_cast<size_t>(l) * static_cast<size_t>(n_ctx_) * kvd;
    std::memcpy(s.k_cache.data() + layer + cell * kvd + k0, ki + k0, (k1 - k0) * sizeof(float));
    std::memcpy(s.v_cache.data() + layer + cell * kvd + k0, vi + k0, (k1 - k0) * sizeof(float));
  };
  // Attention of head h for the query group starting at token i0.
  const auto attend = [&](int l, int h, int i0, float* scores) {
    const size_t layer = static_cast<size_t>(l) * static_cast<size_t>(n_ctx_) * kvd;
    const int count = std::min(kQueries, n - i0);
    const size_t head_off = static_cast<size_t>(h / group) * hd;
    const int32_t shared = group_prefixes[static_cast<size_t>(i0 / kQueries)];
    kernels::AttentionArgs args[kQueries];
    for (int j = 0; j < count; ++j) {
      const int i = i0 + j;
      const auto lo = static_cast<size_t>(b.mask.offsets[static_cast<size_t>(i)] + shared - b.mask.prefix);
      const auto hi = static_cast<size_t>(b.mask.offsets[static_cast<size_t>(i) + 1]);
      args[j] = {s.q.data() + static_cast<size_t>(i) * qd + static_cast<size_t>(h) * hd,
                 c.head_dim, s.k_cache.data() + layer + head_off, s.v_cache.data() + layer + head_off, kvd, shared,
                 b.mask.cells.data() + lo, hi - lo, scores + static_cast<size_t>(j) * static_cast<size_t>(n_ctx_),
                 s.att.data() + static_cast<size_t>(i) * qd + static_cast<size_t>(h) * hd};
    }
    s.kt.attend_many(args, count);
  };
  const auto residual_add = [&](int64_t j0, int64_t j1) {
    for (int i = 0; i < n; ++i)
      for (int64_t j = j0; j < j1; ++j) s.x[static_cast<size_t>(i) * dim + static_cast<size_t>(j)] += s.proj[static_cast<size_t>(i) * dim + static_cast<size_t>(j)];
  };

  const auto layers = [&](int t, int nt) {
    int64_t d0, d1, h0, h1, kv0 = 0, kv1 = 0;
    ThreadPool::split(c.dim, kernels::kPackRows, t, nt, d0, d1);
    ThreadPool::split(c.hidden_dim, kernels::kPackRows, t, nt, h0, h1);
    if (own_heads) ThreadPool::split(c.n_kv_heads, 1, t, nt, kv0, kv1);
    float* xn = s.team_xn[static_cast<size_t>(t)].data();
    PreparedInput& in = s.team_inputs[static_cast<size_t>(t)];
    float* scores = s.scores.data() + static_cast<size_t>(t) * kQueries * static_cast<size_t>(n_ctx_);
    const auto product = [&](const Matrix& m, float* y, size_t ldy, int64_t j0, int64_t j1) {
      if (j0 < j1) s.kt.matmul(in.args_for(m, s.kt, y, ldy), j0, j1);
    };
    for (int l = 0; l < c.n_layers; ++l) {
      const LayerWeights& w = model_->layers()[static_cast<size_t>(l)];
      ops::rms_norm_rows(s.x.data(), dim, w.attn_norm.data(), c.dim, c.norm_eps, n, xn, dim);
      in.reset(xn, dim, n, c.dim);
      if (own_heads) {
        const auto qh0 = static_cast<int>(kv0) * group, qh1 = static_cast<int>(kv1) * group;
        product(w.wq, s.q.data(), qd, static_cast<int64_t>(qh0) * c.head_dim, static_cast<int64_t>(qh1) * c.head_dim);
        product(w.wk, s.k.data(), kvd, kv0 * c.head_dim, kv1 * c.head_dim);
        product(w.wv, s.v.data(), kvd, kv0 * c.head_dim, kv1 * c.head_dim);
        for (int i = 0; i < n; ++i) finish_qkv(l, i, qh0, qh1, static_cast<int>(kv0), static_cast<int>(kv1));
        for (int h = qh0; h < qh1; ++h)
          for (int i0 = 0; i0 < n; i0 += kQueries) attend(l, h, i0, scores);
      } else {
        // Fewer kv heads than threads: q/k/v rows, then tokens, then (head, query group) tasks.
        const MatMulJob qkv[] = {{&w.wq, s.q.data(), qd}, {&w.wk, s.k.data(), kvd}, {&w.wv, s.v.data(), kvd}};
        int64_t r0, r1;
        ThreadPool::split(c.q_dim() + 2 * static_cast<int64_t>(c.kv_dim()), kernels::kPackRows, t, nt, r0, r1);
        run_matmul_rows(s.kt, in, qkv, r0, r1);
        barrier.arrive_and_wait();
        int64_t i0, i1;
        ThreadPool::split(n, 1, t, nt, i0, i1);
        for (auto i = static_cast<int>(i0); i < i1; ++i) finish_qkv(l, i, 0, c.n_heads, 0, c.n_kv_heads);
        barrier.arrive_and_wait();
        int64_t k0, k1;
        ThreadPool::split(static_cast<int64_t>(query_groups) * c.n_heads, 1, t, nt, k0, k1);
        for (int64_t task = k0; task < k1; ++task)
          attend(l, static_cast<int>(task % c.n_heads), static_cast<int>(task / c.n_heads) * kQueries, scores);
      }
      barrier.arrive_and_wait();  // att complete

      in.reset(s.att.data(), qd, n, c.q_dim());
      product(w.wo, s.proj.data(), dim, d0, d1);
      residual_add(d0, d1);
      barrier.arrive_and_wait();  // x complete

      ops::rms_norm_rows(s.x.data(), dim, w.ffn_norm.data(), c.dim, c.norm_eps, n, xn, dim);
      in.reset(xn, dim, n, c.dim);
      product(w.w_gate, s.gate.data(), hid, h0, h1);
      product(w.w_up, s.up.data(), hid, h0, h1);
      for (int i = 0; i < n && h0 < h1; ++i)
        s.kt.swiglu(s.gate.data() + i * hid + static_cast<size_t>(h0), s.up.data() + i * hid + static_cast<size_t>(h0), h1 - h0);
      barrier.arrive_and_wait();  // gate complete

      in.reset(s.gate.data(), hid, n, c.hidden_dim);
      product(w.w_down, s.proj.data(), dim, d0, d1);
      residual_add(d0, d1);
      barrier.arrive_and_wait();  // x complete
    }
  };
  if (team == 1)
    layers(0, 1);
  else
    pool_->run_team(layers);

  // Final norm and output projection, only for the rows that want logits.
  s.logit_row.assign(static_cast<size_t>(n), -1);
  s.row_argmax.clear();
  int rows = 0;
  for (int i = 0; i < n; ++i)
    if (b.want_logits.empty() || b.want_logits[static_cast<size_t>(i)]) s.logit_row[static_cast<size_t>(i)] = rows++;
  s.final_x.resize(static_cast<size_t>(rows) * dim);
  for (int i = 0; i < n; ++i) {
    const int32_t r = s.logit_row[static_cast<size_t>(i)];
    if (r >= 0)
      ops::rms_norm(s.x.data() + i * dim, model_->output_norm().data(), c.dim, c.norm_eps,
                    s.final_x.data() + static_cast<size_t>(r) * dim);
  }
  if (rows == 0) return;
  const auto nv = static_cast<size_t>(c.n_vocab);
  s.logits.resize(static_cast<size_t>(rows) * nv);
  if (b.greedy_only && s.greedy_head) {
    s.row_argmax.resize(static_cast<size_t>(rows));
    s.greedy_head->project(*pool_, s.final_x.data(), dim, rows, s.logits.data(), nv, s.row_argmax.data());
    return;
  }
  s.input.reset(s.final_x.data(), dim, rows, c.dim);
  const MatMulJob logits[] = {{&model_->output(), s.logits.data(), nv}};
  run_matmuls(*pool_, s.kt, s.input, logits);
}

int32_t Context::greedy_argmax(int i) const {
  if (state_->row_argmax.empty()) return -1;
  if (i < 0 || i >= static_cast<int>(state_->logit_row.size()) || state_->logit_row[static_cast<size_t>(i)] < 0)
    throw Error(fmt::format("no logits for batch token {}", i));
  return state_->row_argmax[static_cast<size_t>(state_->logit_row[static_cast<size_t>(i)])];
}

std::pair<int64_t, int64_t> Context::greedy_head_candidates() const {
  if (!state_->greedy_head) return {0, 0};
  const GreedyHead::Stats& st = state_->greedy_head->stats();
  return {st.candidates, st.rows};
}

uint64_t Context::greedy_weight_bytes_per_token() const {
  const uint64_t all = model_->weight_bytes_per_token();
  if (!state_->greedy_head) return all;
  const Matrix& out = model_->output();
  return all - static_cast<uint64_t>(out.row_bytes) * static_cast<uint64_t>(out.rows) + state_->greedy_head->bytes();
}

}  // namespace aded
