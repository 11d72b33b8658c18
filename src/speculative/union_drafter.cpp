// The union drafter (union_drafter.h): proposals merged into one tree by calibrated probability,
// the verification's outcome handed back to each member as if its own tree had been verified.
#include "aded/union_drafter.h"

#include <algorithm>

#include "aded/confidence_calibration.h"
#include "aded/error.h"

namespace aded {

namespace {

class UnionDrafter final : public Drafter {
 public:
  UnionDrafter(std::vector<std::unique_ptr<Drafter>> members, UnionOptions options) : options_(options) {
    if (members.size() < 2) throw Error("union drafter: give at least two members");
    for (auto& d : members) {
      if (!d) throw Error("union drafter: no drafter");
      members_.push_back(Member{std::move(d), {}, {}, {}, {}});
    }
  }

  std::string_view name() const override { return "union"; }

  void begin(std::span<const int32_t> prompt) override {
    for (auto& m : members_) m.drafter->begin(prompt);
  }

  void end() override {
    for (auto& m : members_) m.drafter->end();
  }

  double idle_catch_up_seconds() const override {
    double s = 0;
    for (const auto& m : members_) s += m.drafter->idle_catch_up_seconds();
    return s;
  }

  void propose(const DraftRequest& r, DraftTree& out) override {
    staged_.clear();
    bool stochastic = false;
    bool ask = true;
    for (auto& m : members_) {
      m.tree.clear();
      if (!ask) continue;
      m.drafter->propose(r, m.tree);
      m.tree.limit_depth(r.max_depth);
      m.tree.truncate(std::min(m.tree.size(), r.max_nodes));
      if (m.tree.sampled_without_replacement())
        throw Error(fmt::format("union drafter: {} samples without replacement, which a union cannot mix",
                                m.drafter->name()));
      stochastic = stochastic || m.tree.has_draft_distributions();
      if (&m == &members_.front() && !m.tree.empty())
        ask = m.calibration.acceptance(best_confidence(m.tree)) <= options_.ask_below;
    }
    // Deterministic members first: their nodes merge with each other, never with a sampled one.
    for (const bool sampled_pass : {false, true})
      for (auto& m : members_)
        if (m.tree.has_draft_distributions() == sampled_pass) stage(m, sampled_pass);
    emit(stochastic, r.max_nodes, out);
  }

  void observe(const DraftFeedback& f) override {
    if (!f.verified) {
      for (auto& m : members_) m.drafter->observe(f);
      return;
    }
    const int n = f.verified->size();  // the union tree's first n nodes (the budget keeps a prefix)
    std::vector<char> accepted(static_cast<size_t>(n), 0);
    for (int i : f.accepted_nodes) accepted[static_cast<size_t>(i)] = 1;
    for (auto& m : members_) {
      // The member's nodes that were verified, as a tree of its own, and its accepted path.
      DraftTree& mine = verified_;
      mine.clear();
      index_.assign(static_cast<size_t>(m.tree.size()), -1);
      by_union_.assign(static_cast<size_t>(n), -1);
      for (int j = 0; j < m.tree.size(); ++j) {
        const int u = m.in_union[static_cast<size_t>(j)];
        if (u < 0 || u >= n) continue;
        const int32_t p = m.tree.parent(j);
        const int parent = p == DraftTree::kRoot ? DraftTree::kRoot : index_[static_cast<size_t>(p)];
        if (p != DraftTree::kRoot && parent < 0) continue;  // cannot happen: parents come first
        const int k = mine.add(parent, m.tree.token(j), m.tree.confidence(j), true);
        index_[static_cast<size_t>(j)] = k;
        by_union_[static_cast<size_t>(u)] = k;
        m.calibration.record(m.tree.confidence(j), accepted[static_cast<size_t>(u)] != 0);
      }
      path_.clear();
      for (int u : f.accepted_nodes) {
        const int k = by_union_[static_cast<size_t>(u)];
        if (k < 0) break;  // the accepted path left this member's nodes
        path_.push_back(k);
      }
      m.drafter->observe(DraftFeedback{f.context, f.added, mine.empty() ? nullptr : &mine,
                                       mine.empty() ? std::span<const int>() : std::span<const int>(path_)});
    }
  }

 private:
  struct Member {
    std::unique_ptr<Drafter> drafter;
    ConfidenceCalibration calibration;
    DraftTree tree;             // its last proposal
    std::vector<int> staged;    // its node j's staged node
    std::vector<int> in_union;  // its node j's node in the union tree (-1: cut)
  };
  struct Staged {
    int32_t token;
    int parent;  // staged index or kRoot
    float probability;
    bool sampled;
    int member;  // for q (sampled nodes), else -1
    int member_node;
  };

  // Adds member m's tree to the staged nodes with calibrated probabilities, capped by the parent's
  // (a path is accepted no more often than its prefix).
  void stage(Member& m, bool sampled) {
    const int member_index = static_cast<int>(&m - members_.data());
    m.staged.assign(static_cast<size_t>(m.tree.size()), -1);
    for (int j = 0; j < m.tree.size(); ++j) {
      const int32_t p = m.tree.parent(j);
      const int parent = p == DraftTree::kRoot ? DraftTree::kRoot : m.staged[static_cast<size_t>(p)];
      float probability = static_cast<float>(m.calibration.acceptance(m.tree.confidence(j)));
      if (parent != DraftTree::kRoot)
        probability = std::min(probability, staged_[static_cast<size_t>(parent)].probability);
      int at = -1;
      if (!sampled)
        for (size_t s = 0; s < staged_.size(); ++s)
          if (!staged_[s].sampled && staged_[s].parent == parent && staged_[s].token == m.tree.token(j)) {
            at = static_cast<int>(s);
            break;
          }
      if (at >= 0) {
        staged_[static_cast<size_t>(at)].probability = std::max(staged_[static_cast<size_t>(at)].probability, probability);
      } else {
        at = static_cast<int>(staged_.size());
        staged_.push_back(Staged{m.tree.token(j), parent, probability, sampled, sampled ? member_index : -1, j});
      }
      m.staged[static_cast<size_t>(j)] = at;
    }
  }

  // Writes the staged nodes to `out` most probable first, parents first (the order
  // DraftTree::sort_by_confidence makes), keeping at most max_nodes.
  void emit(bool stochastic, int max_nodes, DraftTree& out) {
    const size_t n = staged_.size();
    std::vector<int> out_index(n, -1);
    const int keep = std::min(static_cast<int>(n), max_nodes);
    for (int placed = 0; placed < keep; ++placed) {
      int best = -1;
      for (size_t i = 0; i < n; ++i) {
        if (out_index[i] >= 0) continue;
        const int p = staged_[i].parent;
        if (p != DraftTree::kRoot && out_index[static_cast<size_t>(p)] < 0) continue;
        if (best < 0 || staged_[i].probability > staged_[static_cast<size_t>(best)].probability) best = static_cast<int>(i);
      }
      const Staged& s = staged_[static_cast<size_t>(best)];
      const int parent = s.parent == DraftTree::kRoot ? DraftTree::kRoot : out_index[static_cast<size_t>(s.parent)];
      const int node = out.add(parent, s.token, s.probability, /*allow_duplicate=*/true);
      out_index[static_cast<size_t>(best)] = node;
      if (stochastic) {
        if (s.sampled)
          out.set_draft_distribution(node, members_[static_cast<size_t>(s.member)].tree.draft_distribution(s.member_node));
        else
          out.set_draft_distribution(node, {TokenProb{s.token, 1.0f}});
      }
    }
    for (auto& m : members_) {
      m.in_union.assign(m.staged.size(), -1);
      for (size_t j = 0; j < m.staged.size(); ++j) m.in_union[j] = out_index[static_cast<size_t>(m.staged[j])];
    }
  }

  // Not every drafter sorts its tree most confident first: the largest confidence of any node.
  static float best_confidence(const DraftTree& tree) {
    float best = 0;
    for (int i = 0; i < tree.size(); ++i) best = std::max(best, tree.confidence(i));
    return best;
  }

  UnionOptions options_;
  std::vector<Member> members_;
  std::vector<Staged> staged_;
  DraftTree verified_;
  std::vector<int> index_, by_union_, path_;
};

}  // namespace

std::unique_ptr<Drafter> make_union_drafter(std::vector<std::unique_ptr<Drafter>> members, UnionOptions options) {
  return std::make_unique<UnionDrafter>(std::move(members), options);
}

}  // namespace aded
