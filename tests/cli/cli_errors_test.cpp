// The `aded` command on bad input: every mistake ends with exit code 1 (bad input) or 2 (bad
// command line) — never 0, never a crash — and exactly one stderr line "aded: error: ..." that
// names the problem.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string>

#include "aded/model_tools.h"
#include "cli/cli_checks.h"
#include "support/test_support.h"

namespace aded {
namespace {

using testing::CommandResult;
using testing::run_cli;

using testing::fails_cleanly;
using testing::quoted;

// One small valid model (and a few spoiled files) shared by the tests of this suite.
class CliErrors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    RandomModelOptions o;
    o.shape = *named_model_shape("tiny");
    write_random_model(o, model().string());
    const std::string bytes = testing::read_file(model());
    testing::write_file(truncated(), bytes.substr(0, bytes.size() / 3));
    testing::write_file(text_file(), "this is not a model\n");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::filesystem::path model() { return *dir_ / "tiny.gguf"; }
  static std::filesystem::path truncated() { return *dir_ / "truncated.gguf"; }
  static std::filesystem::path text_file() { return *dir_ / "notes.txt"; }
  static std::filesystem::path scratch(const std::string& name) { return *dir_ / name; }
  static std::string run_model(const std::string& flags) { return "run -m " + quoted(model()) + " " + flags; }

 private:
  static testing::TempDir* dir_;
};

testing::TempDir* CliErrors::dir_ = nullptr;

TEST_F(CliErrors, ValidModelRuns) {
  const CommandResult r = run_cli(run_model("-p 'Once' -n 2 --temp 0"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliErrors, MissingModelFile) {
  EXPECT_TRUE(fails_cleanly(run_cli("run -m " + quoted(scratch("absent.gguf")) + " -p hi"),
                            {"absent.gguf", "cannot open"}));
}

TEST_F(CliErrors, DirectoryAsModel) {
  EXPECT_TRUE(fails_cleanly(run_cli("run -m " + quoted(scratch("")) + " -p hi"), {"not a regular file"}));
}

TEST_F(CliErrors, NonGgufFile) {
  EXPECT_TRUE(fails_cleanly(run_cli("run -m " + quoted(text_file()) + " -p hi"), {"notes.txt", "not a GGUF file"}));
  EXPECT_TRUE(fails_cleanly(run_cli("info " + quoted(text_file())), {"notes.txt", "not a GGUF file"}));
}

TEST_F(CliErrors, TruncatedModel) {
  for (const std::string command : {"run -p hi -m", "info", "bench -m"}) {
    EXPECT_TRUE(fails_cleanly(run_cli(command + " " + quoted(truncated())), {"truncated.gguf", "truncated"}))
        << command;
  }
}

TEST_F(CliErrors, UnknownSubcommandAndFlags) {
  EXPECT_TRUE(fails_cleanly(run_cli("frobnicate"), {"unknown command 'frobnicate'", "run", "convert"}));
  EXPECT_TRUE(fails_cleanly(run_cli("--frobnicate"), {"unknown option '--frobnicate'"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("--no-such-flag")), {"--no-such-flag"}));
}

TEST_F(CliErrors, MissingRequiredFlag) {
  EXPECT_TRUE(fails_cleanly(run_cli("run -p hi"), {"--model is required"}));
  EXPECT_TRUE(fails_cleanly(run_cli("convert --llama2c x.bin -o y.gguf"), {"--tokenizer is required"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-p")), {"--prompt"}));
}

TEST_F(CliErrors, BadNumbers) {
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n abc")), {"--n-predict", "'abc' is not an integer"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n -5")), {"--n-predict", "out of range"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-t -1")), {"--threads", "-1 is out of range"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-t abc")), {"--threads", "'abc' is not an integer"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-c 0")), {"--ctx-size"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("--temp abc")), {"--temp"}));
}

TEST_F(CliErrors, SamplingValuesOutOfRange) {
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("--temp -1")), {"--temp must be >= 0"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("--temp nan")), {"--temp"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("--top-p 2")), {"--top-p must be in (0, 1]"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("--top-k -3")), {"--top-k"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("--min-p 1.5")), {"--min-p"}));
}

TEST_F(CliErrors, KvCacheTypes) {
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 -ctk q4_0")), {"--cache-type-k", "'q4_0'", "f16, f32 or q8_0"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 -ctv nonsense")), {"--cache-type-v", "'nonsense'"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 -ctv")), {"--cache-type-v"}));
  // The tiny model's heads are not whole Q8_0 blocks: refused by its head size, not a crash.
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 -ctk q8_0")), {"keys as Q8_0", "not a multiple of 32"}));
  EXPECT_TRUE(fails_cleanly(run_cli("bench -m " + quoted(model()) + " -r 1 -p 4 -n 2 --depth 8,x"), {"--depth"}));
  const auto ok = run_cli(run_model("-n 2 -ctk F32 -ctv f16"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.err.find("KV cache F32/F16"), std::string::npos) << ok.err;
}

TEST_F(CliErrors, PromptLongerThanTheContext) {
  const std::string prompt = "'once upon a time there was a little model that read a very long prompt'";
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-c 8 -n 4 -p " + prompt)), {"does not fit in the context of 8"}));
}

TEST_F(CliErrors, OracleIsOnlyABenchMethod) {
  // It drafts from the plain output of the same prompt, which only bench-spec has.
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 --spec oracle")), {"'oracle'", "only bench-spec"}));
}

TEST_F(CliErrors, BadPromptFile) {
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-f " + quoted(scratch("absent.txt")))), {"absent.txt"}));
  // A directory opens as an empty stream: it used to run with an empty prompt and exit 0.
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 1 -f " + quoted(scratch("")))), {"is a directory"}));
}

TEST_F(CliErrors, QuantizeErrors) {
  const auto out = quoted(scratch("q.gguf"));
  EXPECT_TRUE(fails_cleanly(run_cli("quantize " + quoted(model()) + " " + out + " Q9_9"),
                            {"unknown tensor type 'Q9_9'"}));
  EXPECT_TRUE(fails_cleanly(run_cli("quantize " + quoted(truncated()) + " " + out + " Q8_0"), {"truncated.gguf"}));
  EXPECT_TRUE(fails_cleanly(run_cli("quantize " + quoted(model()) + " " + quoted(model()) + " Q8_0"),
                            {"different file"}));
}

TEST_F(CliErrors, RepackErrors) {
  const auto out = quoted(scratch("p.gguf"));
  EXPECT_TRUE(fails_cleanly(run_cli("repack " + quoted(truncated()) + " " + out), {"truncated.gguf"}));
  EXPECT_TRUE(fails_cleanly(run_cli("repack " + quoted(scratch("absent.gguf")) + " " + out), {"absent.gguf"}));
  EXPECT_TRUE(fails_cleanly(run_cli("repack " + quoted(model()) + " " + quoted(model())), {"different file"}));
}

TEST_F(CliErrors, GenModelErrors) {
  const auto out = " -o " + quoted(scratch("g.gguf"));
  EXPECT_TRUE(fails_cleanly(run_cli("gen-model --shape huge" + out), {"unknown shape 'huge'", "tiny"}));
  EXPECT_TRUE(fails_cleanly(run_cli("gen-model --type Q9_9" + out), {"unknown tensor type 'Q9_9'"}));
  EXPECT_TRUE(fails_cleanly(run_cli("gen-model --vocab " + quoted(text_file()) + out), {"notes.txt"}));
  EXPECT_TRUE(fails_cleanly(run_cli("gen-model -o " + quoted(scratch("no/such/dir/g.gguf"))), {"does not exist"}));
}

TEST_F(CliErrors, ConvertWithTheWrongTokenizer) {
  ADED_REQUIRE_SHARED_DATA();
  const auto models = testing::shared_data() / "models";
  const auto out = " -o " + quoted(scratch("c.gguf"));
  // code15M has a 32000-token vocabulary; tok512.bin has 512 tokens.
  EXPECT_TRUE(fails_cleanly(run_cli("convert --llama2c " + quoted(models / "code15M" / "code15M.bin") +
                                    " --tokenizer " + quoted(models / "stories260K" / "tok512.bin") + out),
                            {"tok512.bin", "512 tokens", "32000", "wrong tokenizer"}));
  const auto llama2_tokenizer = testing::shared_data() / "tokenizers" / "llama2-spm-32000" / "tokenizer.bin";
  EXPECT_TRUE(fails_cleanly(run_cli("convert --llama2c " + quoted(models / "stories260K" / "stories260K.bin") +
                                    " --tokenizer " + quoted(llama2_tokenizer) + out),
                            {"tokenizer.bin", "wrong tokenizer"}));
  EXPECT_FALSE(std::filesystem::exists(scratch("c.gguf")));
}

// Numbers that are not numbers: NaN and infinity fail every range check they are given.
TEST_F(CliErrors, NonFiniteTrainingSettingsAreRefusedBeforeTraining) {
  const std::string base = "train -o " + quoted(scratch("t.gguf")) + " --vocab " + quoted(model()) + " --corpus " +
                           quoted(text_file()) + " --steps 1 --dim 16 --layers 1 --heads 2 --ctx 8 --batch 1 ";
  for (const std::string flag : {"--weight-decay nan", "--weight-decay inf", "--min-lr-fraction nan",
                                 "--grad-clip inf", "--lr nan", "--minutes inf", "--checkpoint-minutes nan",
                                 "--checkpoint-minutes inf", "--checkpoint-minutes -1", "--log-seconds nan",
                                 "--log-seconds -inf", "--eval-interval -1"}) {
    EXPECT_TRUE(fails_cleanly(run_cli(base + flag), {flag.substr(0, flag.find(' '))})) << flag;
    EXPECT_FALSE(std::filesystem::exists(scratch("t.gguf"))) << flag;
  }
}

TEST_F(CliErrors, AnyTemperatureSamples) {
  for (const std::string t : {"1e-38", "1e-45", "1e30"}) {
    const CommandResult r = run_cli(run_model("-p 'Once' -n 8 --seed 3 --temp " + t));
    EXPECT_EQ(r.exit_code, 0) << t << ": " << r.err;
  }
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 --temp nan")), {"--temp"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 --temp inf")), {"--temp"}));
}

// Method strings carry numbers too: they are checked against the same ranges as the flags.
TEST_F(CliErrors, MethodSettingsAreRangeChecked) {
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 --spec pld:max=2147483647")), {"max", "0 to 256", "2147483647"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 --spec aded:depth=1000000")), {"depth", "1 to 64"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 --spec aded:iterations=")), {"iterations"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 --spec aded:top-k=-1")), {"top-k", "0 to 1024"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 --spec pld --draft-max 300")), {"--draft-max", "0 to 256"}));
  const auto prompts = scratch("p.jsonl");
  testing::write_file(prompts, "{\"prompt\": \"hello\"}\n");
  EXPECT_TRUE(fails_cleanly(run_cli("bench-spec -m " + quoted(model()) + " --prompts " + quoted(prompts) +
                                    " -n 4 --methods pld,pld"),
                            {"'pld' is listed twice"}));
}

// Output files that cannot be written are refused before the benchmark runs, not after it.
TEST_F(CliErrors, BenchSpecOutputsAreCheckedFirst) {
  const auto prompts = scratch("q.jsonl");
  testing::write_file(prompts, "{\"prompt\": \"hello\"}\n");
  const std::string base = "bench-spec -m " + quoted(model()) + " --prompts " + quoted(prompts) + " -n 4 --methods pld ";
  EXPECT_TRUE(fails_cleanly(run_cli(base + "--json " + quoted(scratch("no/such/dir/out.json"))), {"--json", "does not exist"}));
  EXPECT_TRUE(fails_cleanly(run_cli(base + "--json " + quoted(scratch(""))), {"--json", "folder"}));
  EXPECT_TRUE(fails_cleanly(run_cli(base + "--plot " + quoted(scratch("no/such/dir/p.png"))), {"--plot", "does not exist"}));
  // A regret plot needs a method that chooses among drafters: said before the run, not after it.
  EXPECT_TRUE(fails_cleanly(run_cli(base + "--regret-plot " + quoted(scratch("r.svg"))), {"--regret-plot", "select, auto or union"}));
  EXPECT_TRUE(fails_cleanly(run_cli(base + "--regret-plot " + quoted(scratch("r.txt"))), {"r.txt", ".svg"}));
  EXPECT_TRUE(fails_cleanly(run_cli(base + "--select-log " + quoted(scratch("no/such/dir/l.jsonl"))), {"--select-log", "does not exist"}));
  EXPECT_FALSE(std::filesystem::exists(scratch("r.svg")));
  const CommandResult ok = run_cli(base + "--json " + quoted(scratch("out.json")));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(testing::read_file(scratch("out.json")).find("\"identical\": true"), std::string::npos);
}

// A named pipe given as a model is refused at once instead of waiting for a writer.
TEST_F(CliErrors, ANamedPipeIsNotAModel) {
  const auto fifo = scratch("pipe.gguf");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_TRUE(fails_cleanly(run_cli("run -m " + quoted(fifo) + " -p x"), {"pipe.gguf", "named pipe"}));
}

// A prompt file may be a pipe (-f /dev/stdin, -f <(command)), read as it comes; one with no writer
// is refused at once instead of waiting, and one that never ends (/dev/zero) is cut off with an
// error instead of filling the memory. A socket gets the reason.
TEST_F(CliErrors, PromptFilesThatCouldBlockOrNeverEnd) {
  const auto fifo = scratch("prompt.pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 -f " + quoted(fifo))), {"prompt.pipe", "no writer"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 -f /dev/zero")), {"/dev/zero", "too large"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 -f " + quoted(scratch("absent.txt")))),
                            {"absent.txt", "No such file"}));
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 2 -f " + quoted(scratch("")))), {"directory"}));
  const CommandResult device = run_cli(run_model("-n 2 --temp 0 -f /dev/null"));  // an empty prompt
  EXPECT_EQ(device.exit_code, 0) << device.err;
}

TEST_F(CliErrors, ConvertATruncatedCheckpoint) {
  ADED_REQUIRE_SHARED_DATA();
  const auto stories = testing::shared_data() / "models" / "stories260K";
  const std::string bytes = testing::read_file(stories / "stories260K.bin");
  testing::write_file(scratch("cut.bin"), bytes.substr(0, bytes.size() / 2));
  testing::write_file(scratch("tiny.bin"), bytes.substr(0, 10));
  const auto rest = " --tokenizer " + quoted(stories / "tok512.bin") + " -o " + quoted(scratch("c.gguf"));
  EXPECT_TRUE(fails_cleanly(run_cli("convert --llama2c " + quoted(scratch("cut.bin")) + rest),
                            {"cut.bin", "truncated"}));
  EXPECT_TRUE(fails_cleanly(run_cli("convert --llama2c " + quoted(scratch("tiny.bin")) + rest),
                            {"tiny.bin", "too small"}));
  EXPECT_TRUE(fails_cleanly(run_cli("convert --llama2c " + quoted(model()) + rest), {"tiny.gguf", "llama2.c"}));
}

// The per-request choice end to end: bench-spec logs every single method's speed-up, `select
// train` learns a policy from it, `run --spec auto:policy=` uses it; bad and mismatched files
// are refused with their names.
TEST_F(CliErrors, SelectionLogPolicyAndAuto) {
  const auto prompts = scratch("sel.jsonl");
  testing::write_file(prompts, "{\"prompt\": \"hello hello hello\", \"category\": \"a\"}\n{\"prompt\": \"once upon\", \"category\": \"b\"}\n");
  const auto log = scratch("sel-log.jsonl"), policy = scratch("policy.json");
  const CommandResult bench = run_cli("bench-spec -m " + quoted(model()) + " --prompts " + quoted(prompts) +
                                      " -n 8 --methods none,pld,aded,auto:of=none/pld --select-log " + quoted(log));
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_NE(bench.out.find("auto:of=none/pld: steps by arm"), std::string::npos) << bench.out;
  const std::string rows = testing::read_file(log);
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 6) << "2 prompts x none, pld, aded; auto is no arm:\n" << rows;
  const CommandResult train = run_cli("select train --log " + quoted(log) + " -o " + quoted(policy) + " --eval " + quoted(log));
  ASSERT_EQ(train.exit_code, 0) << train.err;
  EXPECT_NE(train.out.find("3 arms from 6 rows"), std::string::npos) << train.out;
  EXPECT_NE(train.out.find("held out: 2 requests"), std::string::npos) << train.out;
  const CommandResult use = run_cli(run_model("-n 4 --spec auto:of=none/pld/aded:policy=" + policy.string()));
  EXPECT_EQ(use.exit_code, 0) << use.err;

  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 4 --spec auto:of=none/pld:policy=" + policy.string())),
                            {"policy.json", "learned for the arms none, pld, aded", "this auto has none/pld"}));
  testing::write_file(scratch("bad.json"), "{\"format\": \"aded-select-policy\", \"version\": 9}");
  EXPECT_TRUE(fails_cleanly(run_cli(run_model("-n 4 --spec auto:policy=" + scratch("bad.json").string())),
                            {"bad.json", "version 9"}));
  testing::write_file(scratch("bad-log.jsonl"), rows + "{\"format\": \"aded-select-log\"}\n");
  EXPECT_TRUE(fails_cleanly(run_cli("select train --log " + quoted(scratch("bad-log.jsonl")) + " -o " + quoted(scratch("p2.json"))),
                            {"bad-log.jsonl", "line 7", "version"}));
  EXPECT_TRUE(fails_cleanly(run_cli("select train --log " + quoted(log) + " -o " + quoted(log)), {"--output", "--log"}));
  EXPECT_FALSE(std::filesystem::exists(scratch("p2.json")));
}

}  // namespace
}  // namespace aded
