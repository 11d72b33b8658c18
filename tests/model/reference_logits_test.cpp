// The forward pass of each architecture against a reference on the same random-weight file:
// llama.cpp c392e50, or for architectures it lacks (Qwen3) scripts/reference_forward.py, an
// independent double-precision implementation. Their logits (tests/data/reference_logits, written
// by scripts/reference_logits.py) are checked here without them. The model is regenerated from its
// shape, type and seed (write_random_model is a pure function of them).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "aded/context.h"
#include "aded/model_tools.h"
#include "support/test_support.h"

namespace aded {
namespace {

struct Position {
  int32_t top1 = 0;
  double margin = 0, spread = 0;
  std::vector<std::pair<int32_t, double>> logits;  // id, the reference's logit
};

struct Fixture {
  std::string name, shape, type;
  uint64_t seed = 0;
  std::vector<int32_t> ids;
  std::vector<Position> positions;
};

Fixture read_fixture(const std::filesystem::path& path) {
  Fixture f;
  f.name = path.stem().string();
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    std::string key;
    s >> key;
    if (key == "shape") {
      s >> f.shape;
    } else if (key == "type") {
      s >> f.type;
    } else if (key == "seed") {
      s >> f.seed;
    } else if (key == "ids") {
      for (int32_t id; s >> id;) f.ids.push_back(id);
    } else {
      Position p;
      s >> p.top1 >> p.margin >> p.spread;
      for (std::string pair; s >> pair;) {
        const size_t colon = pair.find(':');
        p.logits.emplace_back(std::stoi(pair.substr(0, colon)), std::stod(pair.substr(colon + 1)));
      }
      f.positions.push_back(std::move(p));
    }
  }
  return f;
}

std::vector<std::filesystem::path> fixtures() {
  std::vector<std::filesystem::path> paths;
  for (const auto& e : std::filesystem::directory_iterator(testing::test_data() / "reference_logits"))
    if (e.path().extension() == ".txt") paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  return paths;
}

// Differences allowed, relative to the spread of the logits at a position. Float weights differ
// from the reference only in summation order and the F16 cache (measured ~1e-3); quantized ones also
// in llama.cpp rounding the activations to 8 bits for its dot products (measured ~6e-2).
double tolerance(const std::string& type) {
  return type == "F32" || type == "F16" || type == "BF16" ? 1e-2 : 0.15;
}

TEST(ReferenceLogits, EveryArchitectureMatchesItsReference) {
  const auto paths = fixtures();
  ASSERT_GE(paths.size(), 4u) << "tests/data/reference_logits holds the fixtures";
  testing::TempDir dir;
  for (const auto& path : paths) {
    const Fixture f = read_fixture(path);
    SCOPED_TRACE(f.name);
    ASSERT_EQ(f.ids.size(), f.positions.size());
    const auto shape = named_model_shape(f.shape);
    ASSERT_TRUE(shape.has_value()) << f.shape;
    RandomModelOptions o;
    o.shape = *shape;
    o.type = *parse_tensor_type(f.type);
    o.seed = f.seed;
    const auto file = (dir / (f.name + ".gguf")).string();
    write_random_model(o, file);
    const auto model = Model::load(file);
    // The context both reference tools assume (LongRoPE's factors are chosen by the context size).
    Context ctx(model, {.n_ctx = static_cast<int>(f.ids.size()) + 8, .n_threads = 2});
    ctx.forward(Batch::sequence(f.ids, 0, true));
    const double tol = tolerance(f.type);
    double worst = 0;
    int agree = 0;
    for (size_t i = 0; i < f.positions.size(); ++i) {
      const Position& p = f.positions[i];
      const auto logits = ctx.logits(static_cast<int>(i));
      for (const auto& [id, ref] : p.logits) {
        const double diff = std::abs(logits[static_cast<size_t>(id)] - ref) / p.spread;
        worst = std::max(worst, diff);
        EXPECT_LE(diff, tol) << "position " << i << " id " << id << ": aded " << logits[static_cast<size_t>(id)]
                             << ", reference " << ref;
      }
      const auto top = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      agree += top == p.top1;
      // Where the reference's best two are closer than the differences allowed, either may win.
      if (p.margin > 2 * tol * p.spread) {
        EXPECT_EQ(top, p.top1) << "position " << i;
      }
    }
    std::printf("[ reference ] %s: top-1 %d/%zu, largest difference / spread %.2e\n", f.name.c_str(), agree,
                f.positions.size(), worst);
  }
}

}  // namespace
}  // namespace aded
