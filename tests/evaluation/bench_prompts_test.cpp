// bench-spec prompt files: JSON lines in the Spec-Bench and HumanEval shapes, plain or gzip (also
// several gzip members), categories, and clear refusals of everything else.
#include <gtest/gtest.h>

#include <zlib.h>

#include "aded/error.h"
#include "aded/spec_bench.h"
#include "support/test_support.h"

namespace aded {
namespace {

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> gzip(const std::string& s) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(s.size() + 64);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = static_cast<uInt>(s.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string message_of(const std::vector<uint8_t>& b) {
  try {
    parse_bench_prompts(b, "p.jsonl");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

const std::string kSpecBench =
    "{\"question_id\": 81, \"category\": \"writing\", \"turns\": [\"Write.\", \"Again.\"]}\n"
    "\n"
    "{\"question_id\": 82, \"turns\": [\"Sum?\"]}\n";
const std::string kHumanEval = "{\"task_id\": \"HumanEval/0\", \"prompt\": \"def f(x):\\n\"}\n{\"prompt\": \"x\"}";

TEST(BenchPrompts, SpecBenchAndHumanEvalShapes) {
  const auto sb = parse_bench_prompts(bytes(kSpecBench), "sb.jsonl");
  ASSERT_EQ(sb.size(), 2u);
  EXPECT_EQ(sb[0].id, "81");
  EXPECT_EQ(sb[0].text, "Write.");
  EXPECT_EQ(sb[0].category, "writing");
  EXPECT_EQ(sb[1].category, "other") << "a line without one, in a file that has categories";
  const auto he = parse_bench_prompts(bytes(kHumanEval), "he.jsonl");
  ASSERT_EQ(he.size(), 2u);
  EXPECT_EQ(he[0].id, "HumanEval/0");
  EXPECT_EQ(he[1].id, "2") << "the line number";
  EXPECT_EQ(he[0].category, "all") << "a file without categories is one category";
  EXPECT_EQ(he[1].category, "all");
}

TEST(BenchPrompts, GzipIsReadWhateverTheName) {
  const auto plain = parse_bench_prompts(bytes(kSpecBench), "a");
  const auto zipped = parse_bench_prompts(gzip(kSpecBench), "a");
  ASSERT_EQ(zipped.size(), plain.size());
  EXPECT_EQ(zipped[1].text, plain[1].text);
  // Two gzip members one after the other (what `cat a.gz b.gz` makes).
  std::vector<uint8_t> two = gzip(kSpecBench);
  const auto second = gzip(kHumanEval);
  two.insert(two.end(), second.begin(), second.end());
  EXPECT_EQ(parse_bench_prompts(two, "two").size(), 4u);
}

TEST(BenchPrompts, BadFilesAreRefusedWithTheirReason) {
  auto truncated = gzip(kSpecBench);
  truncated.resize(truncated.size() / 2);
  EXPECT_NE(message_of(truncated).find("p.jsonl: not a valid gzip file (truncated)"), std::string::npos);
  auto corrupt = gzip(kSpecBench);
  corrupt[12] ^= 0xff;
  EXPECT_NE(message_of(corrupt).find("not a valid gzip file"), std::string::npos);
  EXPECT_NE(message_of(bytes("")).find("p.jsonl: no prompts"), std::string::npos);
  EXPECT_NE(message_of(bytes("\n  \n")).find("no prompts"), std::string::npos);
  EXPECT_NE(message_of(bytes("{\"prompt\": \"a\"}\nnot json\n")).find("p.jsonl: line 2: not valid JSON"), std::string::npos);
  EXPECT_NE(message_of(bytes("[1, 2]")).find("line 1: expected a JSON object"), std::string::npos);
  EXPECT_NE(message_of(bytes("{\"turns\": []}")).find("needs a \"turns\" array or a \"prompt\" string"), std::string::npos);
  EXPECT_NE(message_of(bytes("{\"prompt\": 3}")).find("needs a \"turns\" array or a \"prompt\" string"), std::string::npos);
}

TEST(BenchPrompts, FilesThatAreNotRegularAreRefused) {
  testing::TempDir dir;
  EXPECT_THROW(read_bench_prompts(dir.path().string()), InputError) << "a folder";
  EXPECT_THROW(read_bench_prompts((dir / "missing.jsonl").string()), InputError);
  const std::string empty = (dir / "empty.jsonl").string();
  testing::write_file(empty, "");
  EXPECT_THROW(read_bench_prompts(empty), InputError);
}

}  // namespace
}  // namespace aded
