#include "corpus_probe.h"

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <chrono>
#include <span>

#include "aded/error.h"
#include "aded/trigram_table.h"

namespace aded {

namespace {

constexpr int kTopK = 4;

// The corpus as one token sequence (documents tokenized with BOS, as the table builder does) and
// its suffixes sorted by their first max_order + 1 tokens.
class SuffixIndex {
 public:
  SuffixIndex(std::vector<int32_t> tokens, int max_order) : t_(std::move(tokens)), sa_(t_.size()) {
    if (t_.size() >= UINT32_MAX)
      fail("corpus probe: the corpus is too large ({} tokens)", t_.size());
    for (size_t i = 0; i < sa_.size(); ++i) sa_[i] = static_cast<uint32_t>(i);
    const size_t depth = static_cast<size_t>(max_order) + 1;
    std::sort(sa_.begin(), sa_.end(), [&](uint32_t a, uint32_t b) {
      for (size_t i = 0; i < depth; ++i) {
        if (a + i >= t_.size()) return b + i < t_.size() || a < b;  // a shorter suffix sorts first
        if (b + i >= t_.size()) return false;
        if (t_[a + i] != t_[b + i]) return t_[a + i] < t_[b + i];
      }
      return a < b;
    });
  }

  // The suffixes starting with `pattern`: [first, last) of the suffix array.
  std::pair<size_t, size_t> find(std::span<const int32_t> pattern) const {
    const auto compare =
        [&](uint32_t s) {  // <0, 0, >0: suffix s below, starting with, above the pattern
          for (size_t i = 0; i < pattern.size(); ++i) {
            if (s + i >= t_.size()) return -1;
            if (t_[s + i] != pattern[i]) return t_[s + i] < pattern[i] ? -1 : 1;
          }
          return 0;
        };
    const auto first =
        std::partition_point(sa_.begin(), sa_.end(), [&](uint32_t s) { return compare(s) < 0; });
    const auto last =
        std::partition_point(first, sa_.end(), [&](uint32_t s) { return compare(s) <= 0; });
    return {static_cast<size_t>(first - sa_.begin()), static_cast<size_t>(last - sa_.begin())};
  }

  // The continuations of the suffixes [first, last), all starting with the same `length` tokens,
  // with exact counts, most frequent first (smaller token first on ties). Within the range the
  // token at offset `length` is sorted, so each continuation is one run.
  std::vector<std::pair<int64_t, int32_t>> continuations(size_t first, size_t last,
                                                         size_t length) const {
    std::vector<std::pair<int64_t, int32_t>> out;  // (-count, token)
    size_t i = first;
    while (i < last && sa_[i] + length >= t_.size()) ++i;  // the corpus' end has no continuation
    while (i < last) {
      const int32_t token = t_[sa_[i] + length];
      const auto end = std::partition_point(sa_.begin() + static_cast<long>(i),
                                            sa_.begin() + static_cast<long>(last),
                                            [&](uint32_t s) { return t_[s + length] <= token; });
      const auto next = static_cast<size_t>(end - sa_.begin());
      out.emplace_back(-static_cast<int64_t>(next - i), token);
      i = next;
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  size_t size() const { return t_.size(); }

 private:
  std::vector<int32_t> t_;
  std::vector<uint32_t> sa_;
};

struct Coverage {
  int64_t positions = 0;
  std::array<int64_t, kTopK> hits{};  // hits[k]: the right token among the first k + 1
  void add(const std::vector<std::pair<int64_t, int32_t>>& ranked, int32_t truth) {
    ++positions;
    for (size_t k = 0; k < ranked.size() && k < kTopK; ++k)
      if (ranked[k].second == truth) {
        for (size_t j = k; j < kTopK; ++j) ++hits[j];
        break;
      }
  }
};

// The request text's guess at position t: the token after the most recent occurrence of the
// longest suffix of s[0, t) that occurred earlier (at most 32 tokens matched), with that length.
std::pair<int32_t, int> request_guess(const std::vector<int32_t>& s, size_t t) {
  constexpr size_t kLongest = 32;
  int32_t guess = -1;
  size_t best = 0;
  for (size_t e = t - 1; e-- > 0;) {  // an occurrence ending at e, continued by s[e + 1]
    size_t length = 0;
    while (length < kLongest && length <= e && s[e - length] == s[t - 1 - length]) ++length;
    if (length > best) {
      best = length;
      guess = s[e + 1];
      if (best == kLongest) break;
    }
  }
  return {guess, static_cast<int>(best)};
}

}  // namespace

void run_corpus_probe(const Tokenizer& tokenizer, const std::vector<std::string>& corpus_files,
                      const std::vector<Recorded>& seqs, const CorpusProbeOptions& o) {
  if (o.max_order < 2 || o.min_occurrences < 1 || o.request_order < 1)
    fail("corpus probe: --max-order must be >= 2, --min-occurrences and --request-order >= 1");
  const auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> corpus;
  for (const auto& path : corpus_files) {
    size_t shown = 101;
    for_each_corpus_document(
        path,
        [&](std::string_view doc) {
          const auto ids = tokenizer.encode(doc, tokenizer.bos() >= 0);
          corpus.insert(corpus.end(), ids.begin(), ids.end());
          return true;
        },
        [&](size_t done, size_t total) {
          if (100 * done / total == shown) return;
          shown = 100 * done / total;
          fmt::print(stderr, "\rtokenizing {}: {}%", path, shown);
        });
    fmt::print(stderr, "\n");
  }
  const size_t n_corpus = corpus.size();
  const SuffixIndex index(std::move(corpus), o.max_order);
  fmt::print(stderr, "indexed {} corpus tokens in {:.1f} s\n", n_corpus,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  Coverage request_all, tri_all, longer_all, tri_weak, longer_weak;
  int64_t request_hits = 0;
  for (size_t q = 0; q < seqs.size(); ++q) {
    const auto& s = seqs[q].tokens;
    for (size_t t = seqs[q].prompt_tokens; t < s.size(); ++t) {
      const auto [guess, length] = request_guess(s, t);
      const bool predicted = guess == s[t] && length >= o.request_order;
      request_hits += guess == s[t];
      ++request_all.positions;
      // Longest context first; the tri-gram context (2 tokens) is always taken if seen at all.
      std::vector<std::pair<int64_t, int32_t>> tri, longer;
      for (int order = 1; order <= o.max_order && static_cast<size_t>(order) <= t; ++order) {
        const std::span<const int32_t> context(s.data() + t - static_cast<size_t>(order),
                                               static_cast<size_t>(order));
        const auto [first, last] = index.find(context);
        if (first == last) break;  // a longer context cannot occur either
        if (order > 2 && last - first < static_cast<size_t>(o.min_occurrences)) break;
        auto ranked = index.continuations(first, last, static_cast<size_t>(order));
        if (ranked.empty()) break;
        if (order <= 2) tri = ranked;
        longer = std::move(ranked);
      }
      tri_all.add(tri, s[t]);
      longer_all.add(longer, s[t]);
      if (!predicted) {
        tri_weak.add(tri, s[t]);
        longer_weak.add(longer, s[t]);
      }
    }
    if ((q + 1) % 16 == 0 || q + 1 == seqs.size())
      fmt::print(stderr, "\rprobed {}/{}", q + 1, seqs.size());
  }
  fmt::print(stderr, "\n");

  const auto row = [](const char* name, const Coverage& c) {
    fmt::print("| {} | {} |", name, c.positions);
    for (int k = 0; k < kTopK; ++k)
      fmt::print(" {:.3f} |", c.positions ? static_cast<double>(c.hits[static_cast<size_t>(k)]) /
                                                static_cast<double>(c.positions)
                                          : 0.0);
    fmt::print("\n");
  };
  fmt::print(
      "corpus: {} tokens; contexts above 2 tokens need {} occurrences (longest tried: {}); "
      "\"not predicted by the request\": no earlier match of {} tokens or more whose continuation "
      "is right\n\n",
      n_corpus, o.min_occurrences, o.max_order, o.request_order);
  fmt::print(
      "| predictor | positions | top-1 | top-2 | top-3 | top-4 |\n|---|--:|--:|--:|--:|--:|\n");
  fmt::print("| request text, longest earlier match | {} | {:.3f} | | | |\n", request_all.positions,
             static_cast<double>(request_hits) /
                 static_cast<double>(std::max<int64_t>(1, request_all.positions)));
  row("corpus tri-gram, all positions", tri_all);
  row("corpus longest context, all positions", longer_all);
  row("corpus tri-gram, not predicted by the request", tri_weak);
  row("corpus longest context, not predicted by the request", longer_weak);
}

}  // namespace aded
