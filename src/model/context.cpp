// The Context: a model, its KV cache and activations, the thread pool it runs on, and a forward
// pass that reads top to bottom (the blocks are in forward.cpp, the division of their work among
// threads in team_partition.cpp, the output head in output_head.cpp).
#include "aded/context.h"

#include <unistd.h>

#include <cmath>
#include <new>

#include <algorithm>
#include <thread>

#include "aded/error.h"
#include "core/kernels/kernels.h"
#include "model/batch.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model_dims.h"
#include "model/output_head.h"

namespace aded {

namespace {

std::shared_ptr<ThreadPool> make_or_share_pool(const ContextOptions& o) {
  if (o.pool) {
    if (o.n_threads > 0 && o.n_threads != o.pool->size())
      throw Error(fmt::format("context options: {} threads asked for, but the shared pool has {}",
                              o.n_threads, o.pool->size()));
    return o.pool;
  }
  const int threads =
      o.n_threads > 0 ? o.n_threads : static_cast<int>(std::thread::hardware_concurrency());
  return std::make_shared<ThreadPool>(std::max(1, threads));
}

double kv_cache_size(const ModelConfig& c, int64_t n_ctx, TensorType k_type, TensorType v_type) {
  return KvCache::bytes_for(static_cast<size_t>(c.n_layers), static_cast<size_t>(n_ctx), static_cast<size_t>(c.n_kv_heads),
                           static_cast<size_t>(c.head_dim), k_type, v_type);
}

void check_cache_type(TensorType type, const char* which, const ModelConfig& c) {
  if (type != TensorType::F32 && type != TensorType::F16 && type != TensorType::Q8_0)
    fail("the KV cache cannot store {} as {} (its types: F32, F16, Q8_0)", which, tensor_type_name(type));
  // A head's elements are whole Q8_0 blocks, so each thread quantizes the heads it owns.
  if (type == TensorType::Q8_0 && c.head_dim % 32 != 0)
    fail("the KV cache cannot store {} as Q8_0 for this model: its head size {} is not a multiple of 32 "
         "(use f16)",
         which, c.head_dim);
}

double physical_memory() {
  return static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
}

// By default the model's whole training window (the KV cache takes memory only where text is
// written), halved while its cache could not fit in half the machine's memory, but never below
// what the old fixed default gave (4096, or the window when shorter).
int32_t context_size(const ContextOptions& o, const ModelConfig& c) {
  int64_t n_ctx = o.n_ctx;
  if (n_ctx <= 0) {
    n_ctx = std::clamp<int64_t>(c.ctx_train, 1, int64_t{1} << 22);
    const int64_t floor = std::min<int64_t>(n_ctx, 4096);
    const double memory = physical_memory();
    while (n_ctx > floor && memory > 0 && kv_cache_size(c, n_ctx, o.cache_type_k, o.cache_type_v) > memory / 2) n_ctx = std::max(floor, n_ctx / 2);
  }
  if (n_ctx < 1 || n_ctx > (1 << 22)) fail("context size {} is out of range", n_ctx);
  return static_cast<int32_t>(n_ctx);
}

}  // namespace

struct Context::State {
  State(const Model& model, const kernels::KernelTable& table, const ContextOptions& o,
        int pool_size, int32_t n_ctx)
      : kt(table),
        dims(model.config()),
        cache(dims.n_layers, static_cast<size_t>(n_ctx), dims.n_kv_heads, dims.head_dim, o.cache_type_k, o.cache_type_v),
        act(pool_size, static_cast<size_t>(n_ctx)),
        head(model, dims, table, o.greedy_head) {}
  const kernels::KernelTable& kt;
  const ModelDims dims;
  KvCache cache;
  Activations act;
  OutputHead head;
};

namespace {

// The weights in the layout the kernels read: packed for SIMD tables, rows for the scalar one
// (files of aded repack store them packed). Once per model; later calls return at once.
void lay_out_weights(const Model& model, const kernels::KernelTable& kt) {
  if (kt.uses_packed_weights)
    model.pack_weights();
  else
    model.unpack_weights();
}

}  // namespace

Context::Context(std::shared_ptr<const Model> model, ContextOptions options)
    : model_(std::move(model)) {
  check_cache_type(options.cache_type_k, "keys", model_->config());
  check_cache_type(options.cache_type_v, "values", model_->config());
  cache_type_k_ = options.cache_type_k;
  cache_type_v_ = options.cache_type_v;
  const kernels::KernelTable& kt =
      options.scalar_kernels ? kernels::scalar_kernels() : kernels::best_kernels();
  lay_out_weights(*model_, kt);
  n_ctx_ = context_size(options, model_->config());
  pool_ = make_or_share_pool(options);
  // Most of a context's memory grows with its size: a size that cannot fit is refused by name
  // before anything is allocated, and an allocation that fails anyway says which size it was.
  const ModelConfig& c = model_->config();
  const double kv_bytes = kv_cache_size(c, n_ctx_, options.cache_type_k, options.cache_type_v);
  const double memory = physical_memory();
  if (memory > 0 && kv_bytes > memory)
    fail(
        "a context of {} tokens needs {:.1f} GB for its KV cache, more than this machine's {:.1f} "
        "GB of memory; use "
        "a smaller context (-c)",
        n_ctx_, kv_bytes / 1e9, memory / 1e9);
  try {
    state_ = std::make_unique<State>(*model_, kt, options, pool_->size(), n_ctx_);
  } catch (const std::bad_alloc&) {
    fail(
        "a context of {} tokens does not fit in memory (its KV cache alone takes {:.1f} GB); use a "
        "smaller "
        "context (-c)",
        n_ctx_, kv_bytes / 1e9);
  }
}

uint64_t Context::kv_cache_bytes() const { return state_->cache.bytes(); }

Context::~Context() = default;

void Context::forward(const Batch& b) {
  check_batch(b, n_past_, n_ctx_, model_->config());  // nothing below throws until the output check
  State& s = *state_;
  last_batch_ = static_cast<int32_t>(b.tokens.size());

  const Model& layers = b.weights ? *b.weights : *model_;
  if (b.weights) lay_out_weights(*b.weights, s.kt);  // once per model
  ForwardPass pass(layers, s.dims, s.kt, b, n_past_, s.act, s.cache);
  pass.embed();
  pass.run_layers(*pool_);
  s.head.project(*pool_, pass.residual(), b);  // final norm, output head

  forwards_ += 1;
  tokens_forwarded_ += b.tokens.size();
  // After the counters: the forward is complete, only its output is refused.
  s.head.refuse_non_finite(b);
}

void Context::prepare_weights(const Model& weights) const { lay_out_weights(weights, state_->kt); }

std::span<const float> Context::logits(int i) const {
  return state_->head.logits(i);
}

void Context::commit(std::span<const int32_t> indices) {
  int32_t previous = -1;
  for (size_t k = 0; k < indices.size(); ++k) {
    const int32_t idx = indices[k];
    if (idx <= previous || idx >= last_batch_)
      throw Error("commit: batch indices must be increasing and inside the last batch");
    previous = idx;
    const auto from = static_cast<size_t>(n_past_ + idx), to = static_cast<size_t>(n_past_) + k;
    if (from != to) state_->cache.copy_cell(from, to);
  }
  n_past_ += static_cast<int32_t>(indices.size());
  last_batch_ = 0;
}

void Context::truncate(int32_t n) {
  if (n < 0 || n > n_past_) throw Error("truncate: length out of range");
  n_past_ = n;
  last_batch_ = 0;
}

int32_t Context::greedy_argmax(int i) const {
  return state_->head.greedy_argmax(i);
}

float Context::top_probability(int i) const {
  const float estimate = state_->head.greedy_top_probability(i);
  if (estimate >= 0) return estimate;
  const std::span<const float> row = logits(i);
  float top = -INFINITY;
  for (float v : row) top = std::max(top, v);
  if (!std::isfinite(top)) return 1.0f;
  double sum = 0;
  for (float v : row) sum += std::exp(static_cast<double>(v) - top);
  return static_cast<float>(1.0 / sum);
}

std::pair<int64_t, int64_t> Context::greedy_head_candidates() const {
  const GreedyHead* head = state_->head.greedy_head();
  if (!head) return {0, 0};
  return {head->stats().candidates, head->stats().rows};
}

uint64_t Context::greedy_weight_bytes_per_token() const {
  const uint64_t all = model_->weight_bytes_per_token();
  const GreedyHead* head = state_->head.greedy_head();
  if (!head) return all;
  const Matrix& out = model_->output();
  return all - static_cast<uint64_t>(out.row_bytes) * static_cast<uint64_t>(out.rows) +
         head->bytes();
}

}  // namespace aded
