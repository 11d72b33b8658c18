// aded eval: the logits of every position, float32 rows in order, bitwise those of the library's
// forward over the same ids (one causal sequence, whatever the slices), and clean refusals.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "aded/context.h"
#include "aded/model_tools.h"
#include "cli/cli_checks.h"
#include "support/test_support.h"

namespace aded {
namespace {

using testing::fails_cleanly;
using testing::quoted;
using testing::run_cli;

TEST(CliEval, WritesEveryPositionsLogits) {
  testing::TempDir dir;
  RandomModelOptions o;
  o.shape = *named_model_shape("tiny");
  write_random_model(o, (dir / "tiny.gguf").string());
  const auto model = Model::load((dir / "tiny.gguf").string());
  std::vector<int32_t> ids;
  std::string text;
  for (int i = 0; i < 300; ++i) {  // longer than one slice of the command's forward
    ids.push_back((i * 37 + 1) % model->config().n_vocab);
    text += std::to_string(ids.back()) + (i % 10 == 9 ? "\n" : " ");
  }
  testing::write_file(dir / "ids.txt", text);
  const std::string base = "eval -m " + quoted(dir / "tiny.gguf") + " -t 2 -f " + quoted(dir / "ids.txt");
  const auto r = run_cli(base + " -o " + quoted(dir / "out.f32"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bytes = testing::read_file(dir / "out.f32");
  const size_t vocab = static_cast<size_t>(model->config().n_vocab);
  ASSERT_EQ(bytes.size(), ids.size() * vocab * sizeof(float));
  Context ctx(model, {.n_ctx = 512, .n_threads = 2});
  ctx.forward(Batch::sequence(ids, 0, true));
  for (size_t i = 0; i < ids.size(); i += 37) {
    const auto row = ctx.logits(static_cast<int>(i));
    EXPECT_EQ(std::memcmp(bytes.data() + i * vocab * sizeof(float), row.data(), vocab * sizeof(float)), 0)
        << "position " << i;
  }

  testing::write_file(dir / "bad.txt", "1 2 x3 4");
  EXPECT_TRUE(fails_cleanly(run_cli("eval -m " + quoted(dir / "tiny.gguf") + " -f " + quoted(dir / "bad.txt") +
                                    " -o " + quoted(dir / "o.f32")),
                            {"bad.txt", "x3", "byte 4"}));
  testing::write_file(dir / "big.txt", "1 999999");
  EXPECT_TRUE(fails_cleanly(run_cli("eval -m " + quoted(dir / "tiny.gguf") + " -f " + quoted(dir / "big.txt") +
                                    " -o " + quoted(dir / "o.f32")),
                            {"999999", "vocabulary"}));
  testing::write_file(dir / "empty.txt", " \n");
  EXPECT_TRUE(fails_cleanly(run_cli("eval -m " + quoted(dir / "tiny.gguf") + " -f " + quoted(dir / "empty.txt") +
                                    " -o " + quoted(dir / "o.f32")),
                            {"no token ids"}));
  EXPECT_TRUE(fails_cleanly(run_cli(base + " -c 100 -o " + quoted(dir / "o.f32")), {"-c"}));
  EXPECT_TRUE(fails_cleanly(run_cli(base + " -o " + quoted(dir / "no/such/o.f32")), {"-o"}));
  EXPECT_FALSE(std::filesystem::exists(dir / "o.f32"));  // nothing half-written by the refusals
}

}  // namespace
}  // namespace aded
