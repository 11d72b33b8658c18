// What the forward pass needs to know about a batch before it starts: that it is valid for the
// context and the model (checked before the team region, in which nothing may throw), and which
// cells the queries of an attention group share.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "aded/context.h"
#include "aded/model.h"

namespace aded {

// Throws Error (InputError for user-facing problems: a full context, unknown tokens) unless the
// batch fits after n_past committed cells of an n_ctx-cell cache and its plan fits the model.
void check_batch(const Batch& batch, int32_t n_past, int32_t n_ctx, const ModelConfig& config);

// For each group of `group_size` consecutive queries of the mask: the end of the cells all of
// them see first, right after the committed ones (a causal chunk: the tokens before the group's
// first; a draft tree: the root and the trunk). Attention visits them as part of the shared
// prefix, which keeps each query's key order, and so its result, while reading those keys once
// for the whole group.
void shared_prefixes(const AttentionMask& mask, int group_size, std::vector<int32_t>& out);

// A query of a sliding-window layer sees a key only if it is fewer than `window` positions back
// (as llama.cpp masks; committed cells hold their positions, batch cells the batch's). check_batch
// makes sure those it does not see come first in its cells. For each query: `first`, the first
// cell it sees of those before its group's shared end (`shared`, group_size queries per group),
// and `skip`, how many of its own cells after that end it does not see.
void window_starts(const Batch& batch, int32_t n_past, int window, std::span<const int32_t> shared, int group_size,
                   std::vector<int32_t>& first, std::vector<int32_t>& skip);

}  // namespace aded
