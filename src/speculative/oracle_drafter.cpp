#include "aded/oracle_drafter.h"

#include <algorithm>

namespace aded {

void OracleDrafter::propose(const DraftRequest& request, DraftTree& out) {
  const auto& ctx = request.context;
  if (ctx.empty() || ctx.size() > reference_.size()) return;
  // The sequences agree up to here unless the caller handed a different request's reference:
  // the last token is the one check that costs nothing and catches that.
  if (ctx.back() != reference_[ctx.size() - 1]) return;
  const size_t room = reference_.size() - ctx.size();
  const auto length = std::min<size_t>(
      room, static_cast<size_t>(std::max(0, std::min(request.max_nodes, request.max_depth))));
  int32_t parent = DraftTree::kRoot;
  for (size_t i = 0; i < length; ++i) parent = out.add(parent, reference_[ctx.size() + i], 1.0f);
}

}  // namespace aded
