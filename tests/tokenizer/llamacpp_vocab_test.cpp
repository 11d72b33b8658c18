// llama.cpp's tokenizer test files (../shared/data/tokenizers/llamacpp-vocab-tests): vocabulary
// GGUFs of real model families with texts (NAME.gguf.inp, separated by a line
// "__ggml_vocab_test__") and the ids their original tokenizers give (NAME.gguf.out, one line per
// text, no BOS). Every vocabulary there must give every expected id sequence.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "aded/gguf.h"
#include "aded/tokenizer.h"
#include "support/test_support.h"

namespace aded {
namespace {

std::filesystem::path tests_dir() {
  return testing::shared_data() / "tokenizers" / "llamacpp-vocab-tests";
}

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The texts of an .inp file: separated by "\n__ggml_vocab_test__\n" (the file ends with one).
std::vector<std::string> read_texts(const std::filesystem::path& p) {
  const std::string all = read_all(p);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  size_t at = 0;
  for (;;) {
    const size_t next = all.find(sep, at);
    if (next == std::string::npos) break;
    texts.push_back(all.substr(at, next - at));
    at = next + sep.size();
  }
  return texts;
}

std::vector<std::vector<int32_t>> read_ids(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::vector<int32_t>> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<int32_t> ids;
    int32_t id;
    while (ls >> id) ids.push_back(id);
    out.push_back(std::move(ids));
  }
  return out;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) {
    if (!s.empty()) s += ' ';
    s += std::to_string(id);
  }
  return s;
}

class LlamaCppVocab : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaCppVocab, GivesTheOriginalTokenizersIds) {
  ADED_REQUIRE_SHARED_DATA();
  const auto gguf = tests_dir() / (GetParam() + ".gguf");
  if (!std::filesystem::exists(gguf)) GTEST_SKIP() << gguf << " absent";
  const auto texts = read_texts(tests_dir() / (GetParam() + ".gguf.inp"));
  const auto expected = read_ids(tests_dir() / (GetParam() + ".gguf.out"));
  ASSERT_EQ(texts.size(), expected.size()) << "the .inp and .out files of " << GetParam() << " disagree";
  ASSERT_GT(texts.size(), 10u);
  const auto tokenizer = Tokenizer::from_gguf(GgufFile::open(gguf.string()));
  int matched = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto got = tokenizer->encode(texts[i], false, false);
    if (got == expected[i])
      ++matched;
    else
      ADD_FAILURE() << GetParam() << " text " << i << " \"" << texts[i] << "\"\n  expected " << show(expected[i])
                    << "\n  got      " << show(got);
  }
  RecordProperty("matched", std::to_string(matched) + "/" + std::to_string(texts.size()));
  EXPECT_EQ(matched, static_cast<int>(texts.size()));
}

// Every vocabulary with its GGUF and test texts in the folder (the others have only one of them).
INSTANTIATE_TEST_SUITE_P(Families, LlamaCppVocab,
                         ::testing::Values("ggml-vocab-llama-spm", "ggml-vocab-phi-3", "ggml-vocab-gpt-2",
                                           "ggml-vocab-starcoder", "ggml-vocab-refact",
                                           "ggml-vocab-deepseek-coder", "ggml-vocab-deepseek-llm",
                                           "ggml-vocab-falcon", "ggml-vocab-mpt"),
                         [](const auto& param_info) {
                           std::string name = param_info.param.substr(std::string("ggml-vocab-").size());
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

// Every vocabulary file in the folder loads, those without test texts included (GPT-NeoX, which
// names no pre-tokenizer, and Baichuan), and encodes and decodes a text.
TEST(LlamaCppVocabFiles, EveryOneLoads) {
  ADED_REQUIRE_SHARED_DATA();
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(tests_dir())) {
    if (entry.path().extension() != ".gguf") continue;
    SCOPED_TRACE(entry.path().filename().string());
    const auto tokenizer = Tokenizer::from_gguf(GgufFile::open(entry.path().string()));
    const std::string text = "def add(a, b):\n    return a + b  # 42";
    std::string back;
    for (int32_t id : tokenizer->encode(text, false)) back += tokenizer->token_bytes(id);
    EXPECT_NE(back.find("return a + b"), std::string::npos) << back;
    ++loaded;
  }
  EXPECT_GE(loaded, 11);
}

}  // namespace
}  // namespace aded
