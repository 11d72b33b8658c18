#include "aded/oracle_drafter.h"

#include <algorithm>

namespace aded {

namespace {

class OracleDrafter final : public Drafter {
 public:
  explicit OracleDrafter(std::shared_ptr<const std::vector<int32_t>> reference) : reference_(std::move(reference)) {}
  std::string_view name() const override { return "oracle"; }
  void begin(std::span<const int32_t>) override {}
  void observe(const DraftFeedback&) override {}

  // A chain of the reference's next tokens, as long as the request allows.
  void propose(const DraftRequest& request, DraftTree& out) override {
    const std::vector<int32_t>& reference = *reference_;
    const auto& ctx = request.context;
    if (ctx.empty() || ctx.size() > reference.size()) return;
    // The sequences agree up to here unless the reference belongs to another request: the last
    // token is the one check that costs nothing and catches that.
    if (ctx.back() != reference[ctx.size() - 1]) return;
    const size_t room = reference.size() - ctx.size();
    const auto length = std::min<size_t>(room, static_cast<size_t>(std::max(0, std::min(request.max_nodes, request.max_depth))));
    int32_t parent = DraftTree::kRoot;
    for (size_t i = 0; i < length; ++i) parent = out.add(parent, reference[ctx.size() + i], 1.0f);
  }

 private:
  std::shared_ptr<const std::vector<int32_t>> reference_;
};

}  // namespace

std::unique_ptr<Drafter> make_oracle_drafter(std::shared_ptr<const std::vector<int32_t>> reference) {
  return std::make_unique<OracleDrafter>(std::move(reference));
}

}  // namespace aded
