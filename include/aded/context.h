// An inference context: one model, its KV cache, a thread pool, and a forward pass over a batch of
// tokens with an arbitrary attention mask over cache cells. This is the interface the speculative
// layer uses: "forward these tokens with this mask, give me these logits, commit these cells".
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "aded/model.h"
#include "aded/thread_pool.h"

namespace aded {

// Which cache cells each query token of a batch attends to. Every query sees cells [0, prefix) and
// then its own list, in that order (the order keys are visited decides the rounding, so a tree
// query lists its ancestors root first, like sequential decoding would have stored them).
struct AttentionMask {
  int32_t prefix = 0;
  std::vector<int32_t> offsets{0};  // query i: cells[offsets[i] .. offsets[i+1])
  std::vector<int32_t> cells;

  int queries() const { return static_cast<int>(offsets.size()) - 1; }
  void add_query(std::span<const int32_t> visible);

  // Token i of the batch (cell n_past + i) sees every committed cell and batch tokens 0..i.
  static AttentionMask causal(int32_t n_past, int32_t n);
  // parents[i] is the batch index of token i's parent (< i) or -1 for a child of the committed
  // context; token i sees the committed cells, its ancestors root first, then itself.
  static AttentionMask tree(int32_t n_past, std::span<const int32_t> parents);
};

// Which sublayers of the model a forward runs: the hook of self-speculative decoding (Draft &
// Verify, arXiv 2309.08168), where the model drafts with a subset of its own layers and then
// verifies with all of them. A skipped sublayer adds nothing to the residual stream (it passes
// through). A skipped attention sublayer does not write that layer's cache cells for the batch
// tokens, nor do the layers after an early exit: a later forward that attends to those cells needs
// them written by a forward that ran the layer (committing the cells of such a batch leaves them
// stale). The default plan runs every layer, bitwise as a batch without a plan.
struct LayerPlan {
  std::vector<uint8_t> attention{};  // per layer: run its attention sublayer; empty = every layer
  std::vector<uint8_t> mlp{};        // per layer: run its MLP (feed-forward) sublayer; empty = every layer
  // k > 0: early exit after the first k layers (the final norm and the output head read the
  // residual stream there); 0 = all layers.
  int32_t exit_after = 0;

  bool runs_attention(int layer) const { return attention.empty() || attention[static_cast<size_t>(layer)] != 0; }
  bool runs_mlp(int layer) const { return mlp.empty() || mlp[static_cast<size_t>(layer)] != 0; }
  // Layers that run at all (exit_after, or n_layers for 0).
  int32_t depth(int32_t n_layers) const { return exit_after > 0 ? exit_after : n_layers; }
};

struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> positions;    // RoPE positions
  AttentionMask mask;
  std::vector<uint8_t> want_logits;  // per token; empty = logits for every token
  // Only the first index of each row's largest logit matters (greedy decoding): logits() may then
  // be -inf at tokens that cannot be it; the others are exact (see ContextOptions::greedy_head).
  bool greedy_only = false;
  // With greedy_only: also estimate each row's top probability (Context::top_probability), which
  // keeps the int8 logits of tokens near the top instead of -inf. For drafters' early exit.
  bool top_probability = false;
  LayerPlan plan{};  // which sublayers run (default: all)
  // Run the embedding and the layers with this model's weights instead of the context's: a
  // low-bit copy of the same model (equal ModelConfig) drafting over the context's own cache, so
  // the copy reads the cells the full model wrote and keeps no cache of its own (self-speculation).
  // The final norm and the output head stay the context's. It must outlive the forward.
  const Model* weights = nullptr;

  // A plain continuation of the committed sequence: positions n_past.., causal mask.
  static Batch sequence(std::span<const int32_t> tokens, int32_t n_past, bool all_logits);
};

struct ContextOptions {
  int n_ctx = 0;      // 0: the model's training context (less when its KV cache would not fit in half the memory)
  int n_threads = 0;  // 0: all hardware threads
  // Portable kernels instead of the fastest the CPU has (they give bitwise the same results).
  bool scalar_kernels = false;
  // For greedy_only batches, find each row's argmax from an int8 copy of a float output matrix
  // and compute only the tokens that can be it exactly (same tokens, a fraction of the work);
  // false: always the full float product.
  bool greedy_head = true;
  // Types of the KV cache's keys and values: F16 (default: half the memory and bandwidth of F32,
  // what a forward deep in the context reads) or F32. Every guarantee holds for each: a batch, a
  // tree and one token at a time store and read the same values.
  TensorType cache_type_k = TensorType::F16;
  TensorType cache_type_v = TensorType::F16;
  // The threads to run on; null: the context starts a pool of n_threads of its own. Contexts that
  // run one after another (a draft model's and the target's) or on several threads (requests of a
  // server) can share one pool instead of starting threads each: their parallel regions then take
  // turns (see ThreadPool), while the serial parts of a forward, and the layers of a model too
  // small for a team, run on each caller's own thread. n_threads must be 0 or the pool's size.
  std::shared_ptr<ThreadPool> pool = nullptr;
};

class Context {
 public:
  Context(std::shared_ptr<const Model> model, ContextOptions options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Runs the model over the batch. Token i writes its keys and values to cell n_past() + i.
  // Throws Error if the batch does not fit in the context, the mask refers to unknown cells or the
  // layer plan does not fit the model.
  void forward(const Batch& batch);
  // Logits of batch token i from the last forward (only for tokens that wanted them).
  std::span<const float> logits(int i) const;

  // Appends the cells of the given batch tokens (in that order) to the committed sequence and
  // drops every other cell of the last batch.
  void commit(std::span<const int32_t> batch_indices);
  // Keeps only the first n committed cells.
  void truncate(int32_t n);
  int32_t n_past() const { return n_past_; }
  int32_t n_ctx() const { return n_ctx_; }
  // The KV cache's types (ContextOptions::cache_type_k, cache_type_v).
  TensorType cache_type_k() const { return cache_type_k_; }
  TensorType cache_type_v() const { return cache_type_v_; }
  // Bytes of the KV cache when every cell holds a token (reserved address space: physical memory
  // is taken as text fills it).
  uint64_t kv_cache_bytes() const;

  // For a greedy_only batch the greedy head projected: the first index of batch token i's largest
  // logit (what a scan of logits(i) finds, without reading the row). -1 for other batches.
  int32_t greedy_argmax(int i) const;
  // The softmax probability of batch token i's most likely token: estimated by the greedy head for
  // greedy_only batches that asked for it (Batch::top_probability), else computed from the row.
  float top_probability(int i) const;
  // How many tokens the greedy head computed exactly, over how many rows (0, 0 if unused).
  std::pair<int64_t, int64_t> greedy_head_candidates() const;
  // Weight bytes one greedy decoding step reads: the model's, with the int8 copy in place of the
  // float output matrix when the greedy head is in use.
  uint64_t greedy_weight_bytes_per_token() const;

  // Batch tokens forwarded so far (every token of every batch, committed or not; batches that
  // failed validation do not count), and the number of forwards: how much work requests did, e.g.
  // whether a shared prompt prefix was reused or computed again.
  uint64_t tokens_forwarded() const { return tokens_forwarded_; }
  uint64_t forwards() const { return forwards_; }

  const Model& model() const { return *model_; }
  // Readies another model's weights for batches that run with them (Batch::weights): packs them
  // for this context's kernels now rather than inside the first such forward.
  void prepare_weights(const Model& weights) const;
  // The pool the context runs on: its own or the one of ContextOptions::pool.
  ThreadPool& pool() { return *pool_; }
  // The same pool, to create further contexts on it (ContextOptions::pool).
  const std::shared_ptr<ThreadPool>& shared_pool() const { return pool_; }

 private:
  struct State;
  std::shared_ptr<const Model> model_;
  std::shared_ptr<ThreadPool> pool_;
  std::unique_ptr<State> state_;
  int32_t n_ctx_ = 0;
  TensorType cache_type_k_ = TensorType::F16, cache_type_v_ = TensorType::F16;
  int32_t n_past_ = 0;
  int32_t last_batch_ = 0;
  uint64_t tokens_forwarded_ = 0;
  uint64_t forwards_ = 0;
};

}  // namespace aded
