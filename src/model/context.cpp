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
  std::vector<float> x, xn, q, k, v, att, proj, gate, up;
  std::vector<float> rope_cos, rope_sin;  // [n][rope_dim / 2]
  std::vector<float> scores;              // [thread][query of a group][n_ctx]
  std::vector<float> logits;              // [rows with logits][n_vocab]
  std::vector<int32_t> logit_row;         // batch index -> logits row or -1
  std::vector<int32_t> group_prefixes;    // per attention query group: cells all its queries see first
  std::vector<float> final_x;             // normed rows that want logits
  PreparedInput input;
  int capacity = 0;
  std::unique_ptr<GreedyHead> greedy_head;  // when enabled and the output matrix is float

  void reserve(const ModelConfig& c, int n) {
    if (n <= capacity) return;
    const auto rows = static_cast<size_t>(n);
    x.resize(rows * static_cast<size_t>(c.dim));
    xn.resize(rows * static_cast<size_t>(c.dim));
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

  std::vector<int32_t>& group_prefixes = s.group_prefixes;
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& w = model_->layers()[static_cast<size_t>(l)];
    float* k_layer = s.k_cache.data() + static_cast<size_t>(l) * static_cast<size_t>(n_ctx_) * kvd;
    float* v_layer = s.v_cache.data() + static_cast<size_t>(l) * static_cast<size_t>(n_ctx_) * kvd;

    for (int i = 0; i < n; ++i)
      ops::rms_norm(s.x.data() + i * dim, w.attn_norm.data(), c.dim, c.norm_eps, s.xn.data() + i * dim);
    s.input.reset(s.xn.data(), dim, n, c.dim);
    const MatMulJob qkv[] = {{&w.wq, s.q.data(), qd}, {&w.wk, s.k.data(), kvd}, {&w.wv, s.v.data(), kvd}};
    run_matmuls(*pool_, s.kt, s.input, qkv);

    for (int i = 0; i < n; ++i) {
      float* qi = s.q.data() + i * qd;
      float* ki = s.k.data() + i * kvd;
      float* vi = s.v.data() + i * kvd;
      if (c.qkv_bias) {
        for (size_t j = 0; j < qd; ++j) qi[j] += w.bq[j];
        for (size_t j = 0; j < kvd; ++j) ki[j] += w.bk[j];
        for (size_t j = 0; j < kvd; ++j) vi[j] += w.bv[j];
      }
      const float* cs = s.rope_cos.data() + i * half;
      const float* sn = s.rope_sin.data() + i * half;
      ops::rope_apply(c, qi, c.n_heads, cs, sn);
      ops::rope_apply(c, ki, c.n_kv_heads, cs, sn);
      const size_t cell = static_cast<size_t>(n_past_ + i);
      std::memcpy(k_layer + cell * kvd, ki, kvd * sizeof(float));
      std::memcpy(v_layer + cell * kvd, vi, kvd * sizeof(float));
    }

    // Attention: one task per head and group of up to kMaxAttentionQueries tokens, which share the
    // committed prefix (attend_many reads each of its keys once for the whole group).
    const int group = c.n_heads / c.n_kv_heads;
    constexpr int kQueries = kernels::kMaxAttentionQueries;
    const int query_groups = (n + kQueries - 1) / kQueries;
    const int64_t tasks = static_cast<int64_t>(query_groups) * c.n_heads;
    // A group's queries also share the batch cells that every one of them sees first, right after
    // the committed ones (a causal chunk: the tokens before the group's first; a draft tree: the
    // root and the trunk): visiting them as part of the shared prefix keeps each query's key order,
    // and so its result, while attend_many reads those keys once for the whole group.
    if (l == 0) {
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
    }
    const auto attention = [&](int t, int nt) {
      int64_t begin, end;
      ThreadPool::split(tasks, 1, t, nt, begin, end);
      float* scores = s.scores.data() + static_cast<size_t>(t) * kQueries * static_cast<size_t>(n_ctx_);
      kernels::AttentionArgs args[kQueries];
      for (int64_t task = begin; task < end; ++task) {
        const int h = static_cast<int>(task % c.n_heads), i0 = static_cast<int>(task / c.n_heads) * kQueries;
        const int count = std::min(kQueries, n - i0);
        const size_t head_off = static_cast<size_t>(h / group) * static_cast<size_t>(c.head_dim);
        const int32_t shared = group_prefixes[static_cast<size_t>(i0 / kQueries)];
        for (int j = 0; j < count; ++j) {
          const int i = i0 + j;
          const auto lo = static_cast<size_t>(b.mask.offsets[static_cast<size_t>(i)] + shared - b.mask.prefix);
          const auto hi = static_cast<size_t>(b.mask.offsets[static_cast<size_t>(i) + 1]);
          args[j] = {s.q.data() + static_cast<size_t>(i) * qd + static_cast<size_t>(h) * static_cast<size_t>(c.head_dim),
                     c.head_dim, k_layer + head_off, v_layer + head_off, kvd, shared,
                     b.mask.cells.data() + lo, hi - lo, scores + static_cast<size_t>(j) * static_cast<size_t>(n_ctx_),
                     s.att.data() + static_cast<size_t>(i) * qd + static_cast<size_t>(h) * static_cast<size_t>(c.head_dim)};
        }
        s.kt.attend_many(args, count);
      }
    };
    // Small attention (few keys, small heads) is not worth waking the other threads.
    if (static_cast<int64_t>(n) * c.n_heads * (n_past_ + n) * c.head_dim < (1 << 15))
      attention(0, 1);
    else
      pool_->run(attention);

    s.input.reset(s.att.data(), qd, n, c.q_dim());
    const MatMulJob out_proj[] = {{&w.wo, s.proj.data(), dim}};
    run_matmuls(*pool_, s.kt, s.input, out_proj);
    for (size_t j = 0; j < static_cast<size_t>(n) * dim; ++j) s.x[j] += s.proj[j];

    for (int i = 0; i < n; ++i)
      ops::rms_norm(s.x.data() + i * dim, w.ffn_norm.data(), c.dim, c.norm_eps, s.xn.data() + i * dim);
    s.input.reset(s.xn.data(), dim, n, c.dim);
    const MatMulJob gate_up[] = {{&w.w_gate, s.gate.data(), hid}, {&w.w_up, s.up.data(), hid}};
    run_matmuls(*pool_, s.kt, s.input, gate_up);
    for (int i = 0; i < n; ++i) s.kt.swiglu(s.gate.data() + i * hid, s.up.data() + i * hid, c.hidden_dim);

    s.input.reset(s.gate.data(), hid, n, c.hidden_dim);
    const MatMulJob down[] = {{&w.w_down, s.proj.data(), dim}};
    run_matmuls(*pool_, s.kt, s.input, down);
    for (size_t j = 0; j < static_cast<size_t>(n) * dim; ++j) s.x[j] += s.proj[j];
  }

  // Final norm and output projection, only for the rows that want logits.
  s.logit_row.assign(static_cast<size_t>(n), -1);
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
    s.greedy_head->project(*pool_, s.final_x.data(), dim, rows, s.logits.data(), nv);
    return;
  }
  s.input.reset(s.final_x.data(), dim, rows, c.dim);
  const MatMulJob logits[] = {{&model_->output(), s.logits.data(), nv}};
  run_matmuls(*pool_, s.kt, s.input, logits);
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
