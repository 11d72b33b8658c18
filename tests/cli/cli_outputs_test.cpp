// Every command that writes a file, against every kind of output that used to go wrong: a missing
// folder, a folder, a read-only place, a full disk or device, a symbolic link, /dev/null, one of
// its own inputs (another spelling, a link), and a signal during the write. Each either writes
// the whole file where it was asked or fails with one line naming the file and the reason, and
// leaves no temporary file behind. Also: stdout to a full disk, and `train` on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aded/model_tools.h"
#include "cli/cli_checks.h"
#include "support/test_support.h"

extern char** environ;

namespace aded {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::fails_cleanly;
using testing::quoted;
using testing::run_cli;

// Runs `aded ARGS` from a shell after `prefix` (e.g. "ulimit -f 4;"), stdout going to `out`.
CommandResult run_cli_with(const std::string& prefix, const std::string& args,
                           const std::string& out = "") {
  testing::TempDir dir;
  const fs::path out_path = dir / "stdout", err_path = dir / "stderr";
  const std::string stdout_to = out.empty() ? quoted(out_path) : out;
  const std::string command = prefix + " exec '" + ADED_CLI_PATH + "' " + args + " >" + stdout_to +
                              " 2>" + quoted(err_path) + " </dev/null";
  const int status = std::system(command.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (fs::exists(out_path)) r.out = testing::read_file(out_path);
  r.err = testing::read_file(err_path);
  return r;
}

// The names in a folder, hidden ones included (a temporary file is hidden).
std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

std::string joined(const std::set<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Temporary files (.NAME.tmp-PID-N) and probes anywhere under dir.
std::set<std::string> temporaries_under(const fs::path& dir) {
  std::set<std::string> found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp") != std::string::npos || name.find(".probe-") != std::string::npos)
      found.insert(e.path().string());
  }
  return found;
}

// A failure found late, after a command has logged its progress: exit code 1 and a last stderr
// line "aded: error: ..." that mentions each of `mentions`.
::testing::AssertionResult fails_at_the_end(const CommandResult& r,
                                            std::initializer_list<std::string> mentions) {
  if (r.exit_code != 1)
    return ::testing::AssertionFailure() << "exit code " << r.exit_code << ", stderr: " << r.err;
  const size_t start = r.err.rfind('\n', r.err.size() >= 2 ? r.err.size() - 2 : 0);
  const std::string last = r.err.substr(start == std::string::npos ? 0 : start + 1);
  if (last.rfind("aded: error: ", 0) != 0)
    return ::testing::AssertionFailure() << "stderr: " << r.err;
  for (const auto& m : mentions)
    if (last.find(m) == std::string::npos)
      return ::testing::AssertionFailure() << "the error does not mention '" << m << "': " << last;
  return ::testing::AssertionSuccess();
}

bool wait_until(const std::function<bool()>& condition, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

// `aded ARGS` in the background, its stderr into err_path.
pid_t spawn_cli(const std::string& args, const fs::path& err_path) {
  const std::string command = std::string("exec '") + ADED_CLI_PATH + "' " + args +
                              " >/dev/null 2>" + quoted(err_path) + " </dev/null";
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    return -1;
  return pid;
}

int wait_status(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

// Text with enough variety for tri-gram tables and vocabularies of a few kilobytes.
std::string varied_text(size_t words) {
  static const char* const kWords[] = {
      "the",   "model", "reads",  "a",     "long",  "story",   "about", "small", "cats",
      "and",   "their", "garden", "where", "every", "morning", "birds", "sing",  "quietly",
      "under", "green", "trees",  "while", "rain",  "falls",   "softly"};
  std::mt19937 random(7);
  std::string text;
  for (size_t i = 0; i < words; ++i) {
    text += kWords[random() % std::size(kWords)];
    text += i % 12 == 11 ? ".\n" : " ";
  }
  return text;
}

// One writing command: its arguments with the output given, and what it reads.
struct Writer {
  std::string name;
  std::function<std::string(const std::string& output)> args;
};

class CliOutputs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    RandomModelOptions o;
    o.shape = *named_model_shape("tiny");
    write_random_model(o, model().string());
    testing::write_file(corpus(), varied_text(6000));
    fs::create_directory(*dir_ / "cache");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static fs::path model() { return *dir_ / "tiny.gguf"; }
  static fs::path corpus() { return *dir_ / "corpus.txt"; }
  static fs::path cache() { return *dir_ / "cache"; }
  static fs::path scratch(const std::string& name) { return *dir_ / name; }

  // A fresh folder for one case.
  fs::path folder(const std::string& name) {
    const fs::path p = *dir_ / name;
    fs::create_directories(p);
    return p;
  }

  static std::string train_args(const std::string& output, const std::string& checkpoint) {
    return "train -o " + output + " --checkpoint " + checkpoint + " --vocab " + quoted(model()) +
           " --corpus " + quoted(corpus()) + " --token-cache " + quoted(cache()) +
           " --steps 2 --dim 16 --layers 1 --heads 2 --ctx 8 --batch 1 --eval-batches 1";
  }

  // Every command that writes a file, its output given by the caller (already quoted).
  std::vector<Writer> writers() {
    const std::string m = quoted(model()), c = quoted(corpus());
    const std::string checkpoint = quoted(folder("ckpt") / "t.ckpt");
    std::vector<Writer> w = {
        {"gen-model", [](const std::string& out) { return "gen-model -o " + out; }},
        {"quantize", [m](const std::string& out) { return "quantize " + m + " " + out + " Q8_0"; }},
        {"repack", [m](const std::string& out) { return "repack " + m + " " + out; }},
        {"ngram build",
         [m, c](const std::string& out) {
           return "ngram build -m " + m + " --corpus " + c + " -o " + out;
         }},
        {"vocab train",
         [c](const std::string& out) {
           return "vocab train --size 300 --corpus " + c + " -o " + out;
         }},
        {"train", [checkpoint](const std::string& out) { return train_args(out, checkpoint); }},
        {"train (checkpoint)",
         [](const std::string& out) { return train_args(quoted(*dir_ / "ckpt" / "t.gguf"), out); }},
        {"bench-spec --json",
         [m](const std::string& out) {
           return "bench-spec -m " + m + " --prompts " + quoted(*dir_ / "prompts.jsonl") +
                  " -n 4 --methods pld --json " + out;
         }},
    };
    testing::write_file(*dir_ / "prompts.jsonl", "{\"prompt\": \"the model reads\"}\n");
    const fs::path shared = testing::shared_data();
    if (!shared.empty()) {
      const fs::path stories = shared / "models" / "stories260K";
      w.push_back({"convert", [stories](const std::string& out) {
                     return "convert --llama2c " + quoted(stories / "stories260K.bin") +
                            " --tokenizer " + quoted(stories / "tok512.bin") + " -o " + out;
                   }});
    }
    return w;
  }

 private:
  static testing::TempDir* dir_;
};

testing::TempDir* CliOutputs::dir_ = nullptr;

TEST_F(CliOutputs, AMissingFolderIsRefusedFirst) {
  const auto all = writers();
  for (size_t i = 0; i < all.size(); ++i) {
    const Writer& w = all[i];
    const fs::path d = folder("missing-" + std::to_string(i));
    const std::string out = quoted(d / "no" / "such" / "out");  // as the message quotes it too
    const CommandResult r = run_cli(w.args(out));
    EXPECT_TRUE(fails_cleanly(r, {out, "does not exist"})) << w.name;
    EXPECT_TRUE(names_in(d).empty()) << w.name;
  }
}

// `ngram build -o EXISTING_DIR` used to fail at the end and leave a complete DIR.tmp.
TEST_F(CliOutputs, AFolderIsRefusedFirstAndLeavesNothing) {
  for (const Writer& w : writers()) {
    const fs::path d = folder("folder-case");
    const auto before = names_in(d.parent_path());
    const CommandResult r = run_cli(w.args(quoted(d)));
    EXPECT_TRUE(fails_cleanly(r, {d.string(), "is a folder"})) << w.name;
    EXPECT_EQ(names_in(d.parent_path()), before) << w.name;
    EXPECT_TRUE(names_in(d).empty()) << w.name;
  }
}

// Root may create files anywhere permissions are concerned; nobody may in /sys.
TEST_F(CliOutputs, AReadOnlyPlaceIsRefusedWithItsReason) {
  if (!fs::is_directory("/sys")) GTEST_SKIP() << "no /sys here";
  for (const Writer& w : writers()) {
    const CommandResult r = run_cli(w.args("/sys/aded-output-test"));
    EXPECT_TRUE(fails_cleanly(r, {"/sys/aded-output-test", "cannot create a file in '/sys'"}))
        << w.name;
  }
}

TEST_F(CliOutputs, AFullDeviceIsReportedWithItsReason) {
  for (const Writer& w : writers()) {
    const CommandResult r = run_cli(w.args("/dev/full"));
    EXPECT_TRUE(fails_at_the_end(r, {"'/dev/full'", "No space left on device"})) << w.name;
    EXPECT_TRUE(fs::is_character_file(fs::symlink_status("/dev/full")));
  }
}

// Renaming a temporary file over /dev/null used to replace the device with a regular file (as
// root). Now a device is written through, and the command succeeds.
TEST_F(CliOutputs, DevNullIsWrittenThroughNotReplaced) {
  for (const Writer& w : writers()) {
    const CommandResult r = run_cli(w.args("/dev/null"));
    EXPECT_EQ(r.exit_code, 0) << w.name << ": " << r.err;
    EXPECT_TRUE(fs::is_character_file(fs::symlink_status("/dev/null"))) << w.name;
  }
}

TEST_F(CliOutputs, ASymbolicLinkIsFollowedAndKept) {
  const auto all = writers();
  for (size_t i = 0; i < all.size(); ++i) {
    const Writer& w = all[i];
    const fs::path d = folder("link-" + std::to_string(i));
    fs::create_directory(d / "real");
    testing::write_file(d / "real" / "target", "old");
    fs::create_symlink("real/target", d / "link");
    const CommandResult r = run_cli(w.args(quoted(d / "link")));
    EXPECT_EQ(r.exit_code, 0) << w.name << ": " << r.err;
    EXPECT_TRUE(fs::is_symlink(fs::symlink_status(d / "link"))) << w.name;
    EXPECT_GT(fs::file_size(d / "real" / "target"), 3u) << w.name;
    EXPECT_EQ(names_in(d / "real"), std::set<std::string>{"target"}) << w.name;
  }
}

// A full disk in the middle of the file (the file-size limit, EFBIG): the message names the file
// and the reason, and neither the file nor a temporary one stays. A plain `ulimit -f` (SIGXFSZ
// not ignored by the shell) used to end aded by the signal with the temporary left behind.
TEST_F(CliOutputs, AFullDiskLeavesNoTemporaryFile) {
  const auto all = writers();
  for (const std::string limit : {"ulimit -f 4;", "ulimit -f 4; trap '' XFSZ;"}) {
    for (size_t i = 0; i < all.size(); ++i) {
      const Writer& w = all[i];
      if (w.name == "bench-spec --json") continue;  // its JSON is smaller than the smallest limit
      const fs::path d = folder("full-" + std::to_string(limit.size()) + "-" + std::to_string(i));
      const CommandResult r = run_cli_with(limit, w.args(quoted(d / "out")));
      // train writes its checkpoint first: that is the file named when it is not `out`.
      EXPECT_TRUE(fails_at_the_end(r, {"cannot write '", "File too large"}))
          << limit << " " << w.name;
      EXPECT_TRUE(names_in(d).empty()) << w.name << ": " << joined(names_in(d));
      EXPECT_TRUE(temporaries_under(d.parent_path()).empty())
          << limit << " " << joined(temporaries_under(d.parent_path()));
    }
  }
}

// The same-file check compared strings: `quantize m.gguf ./m.gguf Q8_0` overwrote its input.
TEST_F(CliOutputs, AnInputIsNeverTheOutput) {
  const fs::path d = folder("inputs");
  const fs::path m = d / "m.gguf", text = d / "text.txt";
  fs::copy_file(model(), m);
  fs::copy_file(corpus(), text);
  fs::create_symlink("m.gguf", d / "m-link.gguf");
  const std::string model_bytes = testing::read_file(m), text_bytes = testing::read_file(text);
  const std::string dot_m = quoted(fs::path(d.string() + "/./m.gguf")),
                    link = quoted(d / "m-link.gguf");
  const std::string train = " --vocab " + quoted(m) + " --corpus " + quoted(text) +
                            " --token-cache " + quoted(cache()) +
                            " --steps 2 --dim 16 --layers 1 --heads 2 --ctx 8";
  const std::vector<std::string> cases = {
      "quantize " + quoted(m) + " " + dot_m + " Q8_0",
      "quantize " + quoted(m) + " " + link + " Q8_0",
      "repack " + quoted(m) + " " + dot_m,
      "repack " + quoted(m) + " " + link,
      "gen-model --vocab " + quoted(m) + " -o " + dot_m,
      "ngram build -m " + quoted(m) + " --corpus " + quoted(text) + " -o " + dot_m,
      "ngram build -m " + quoted(m) + " --corpus " + quoted(text) + " -o " +
          quoted(fs::path(d.string() + "/./text.txt")),
      "vocab train --size 300 --corpus " + quoted(text) + " -o " +
          quoted(fs::path(d.string() + "//text.txt")),
      "train -o " + link + train,
      "train -o " + quoted(d / "t.gguf") + " --checkpoint " + quoted(text) + train,
      "bench-spec -m " + quoted(m) + " --prompts " + quoted(text) + " -n 4 --methods pld --json " +
          link,
  };
  for (const std::string& c : cases) {
    EXPECT_TRUE(fails_cleanly(run_cli(c), {"is the input file", "different file"})) << c;
    EXPECT_EQ(testing::read_file(m), model_bytes) << c;
    EXPECT_EQ(testing::read_file(text), text_bytes) << c;
  }
  EXPECT_TRUE(fails_cleanly(run_cli("train -o " + quoted(d / "t.gguf") + " --checkpoint " +
                                    quoted(fs::path(d.string() + "/./t.gguf")) + train),
                            {"must be different files"}));
  EXPECT_EQ(names_in(d), (std::set<std::string>{"m.gguf", "m-link.gguf", "text.txt"}));
}

TEST_F(CliOutputs, ConvertNeverOverwritesItsInput) {
  ADED_REQUIRE_SHARED_DATA();
  const fs::path d = folder("convert-input");
  const fs::path stories = testing::shared_data() / "models" / "stories260K";
  fs::copy_file(stories / "stories260K.bin", d / "s.bin");
  fs::copy_file(stories / "tok512.bin", d / "tok.bin");
  const std::string bytes = testing::read_file(d / "s.bin");
  for (const std::string out : {"s.bin", "tok.bin"}) {
    const CommandResult r =
        run_cli("convert --llama2c " + quoted(d / "s.bin") + " --tokenizer " +
                quoted(d / "tok.bin") + " -o " + quoted(fs::path(d.string() + "/./" + out)));
    EXPECT_TRUE(fails_cleanly(r, {"is the input file", "different file"})) << out;
  }
  EXPECT_EQ(testing::read_file(d / "s.bin"), bytes);
}

// `train` used to check -o only after training; now a bad output fails before the corpus is
// read (one line on stderr: nothing was tokenized or trained).
TEST_F(CliOutputs, TrainChecksItsOutputsBeforeTraining) {
  const fs::path d = folder("train-early");
  fs::create_directory(d / "sub");
  const std::string ok_ckpt = quoted(d / "t.ckpt");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(
      fails_cleanly(run_cli(train_args(quoted(d / "no" / "t.gguf"), ok_ckpt)), {"does not exist"}));
  EXPECT_TRUE(fails_cleanly(run_cli(train_args(quoted(d / "sub"), ok_ckpt)), {"is a folder"}));
  EXPECT_TRUE(fails_cleanly(run_cli(train_args(quoted(d / "t.gguf"), quoted(d / "no" / "t.ckpt"))),
                            {"t.ckpt", "does not exist"}));
  // A device has no folder for the default checkpoint beside it.
  const std::string no_checkpoint = "train -o /dev/null --vocab " + quoted(model()) + " --corpus " +
                                    quoted(corpus()) +
                                    " --steps 2 --dim 16 --layers 1 --heads 2 --ctx 8";
  EXPECT_TRUE(fails_cleanly(run_cli(no_checkpoint), {"/dev/null", "--checkpoint"}));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30.0);
  EXPECT_EQ(names_in(d), std::set<std::string>{"sub"});
}

// The token cache is a convenience: a place where it cannot be written costs a warning naming the
// file and the reason, never the training run, and leaves no temporary file.
TEST_F(CliOutputs, AnUnwritableTokenCacheIsAWarning) {
  const fs::path d = folder("cache-warning");
  fs::create_directory(d / "cache");
  const std::string base =
      "train -o " + quoted(d / "t.gguf") + " --vocab " + quoted(model()) + " --corpus " +
      quoted(corpus()) +
      " --steps 2 --dim 16 --layers 1 --heads 2 --ctx 8 --batch 1 --token-cache ";
  if (fs::is_directory("/sys")) {
    const CommandResult r = run_cli(base + "/sys");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("warning: tokens not cached: cannot write '/sys/aded-tokens-"),
              std::string::npos)
        << r.err;
  }
  // The model and checkpoint go to /dev/null: a device, which the file-size limit does not cover.
  const std::string to_devices =
      "train -o /dev/null --checkpoint /dev/null" + base.substr(base.find(" --vocab"));
  const CommandResult full =
      run_cli_with("ulimit -f 16; trap '' XFSZ;", to_devices + quoted(d / "cache"));
  EXPECT_EQ(full.exit_code, 0) << full.err;
  EXPECT_NE(full.err.find("File too large"), std::string::npos) << full.err;
  EXPECT_TRUE(names_in(d / "cache").empty()) << joined(names_in(d / "cache"));
}

// The temporary file of a long write goes when SIGTERM or SIGINT ends the process.
TEST_F(CliOutputs, ASignalDuringALongWriteLeavesNoTemporaryFile) {
  for (const int sig : {SIGTERM, SIGINT}) {
    const fs::path d = folder(sig == SIGTERM ? "sigterm" : "sigint");
    const pid_t pid = spawn_cli("gen-model --shape llama-110m -o " + quoted(d / "big.gguf"),
                                d.parent_path() / "gen.err");
    ASSERT_GT(pid, 0);
    const bool writing = wait_until([&] { return !names_in(d).empty(); }, 60);
    ::kill(pid, sig);
    const int status = wait_status(pid);
    ASSERT_TRUE(writing) << "no temporary file appeared";
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "status " << status;
    EXPECT_TRUE(names_in(d).empty()) << joined(names_in(d));
  }
}

// Ctrl-C made `train` checkpoint and stop; SIGTERM (a scheduler, `timeout`, a shutdown) killed it
// and lost everything since the last checkpoint. Both now checkpoint and write the model.
TEST_F(CliOutputs, TrainCheckpointsOnSigterm) {
  const fs::path d = folder("train-sigterm");
  const fs::path err = d.parent_path() / "train-sigterm.err";
  const std::string args =
      "train -o " + quoted(d / "t.gguf") + " --vocab " + quoted(model()) + " --corpus " +
      quoted(corpus()) + " --token-cache " + quoted(cache()) +
      " --steps 1000000 --dim 16 --layers 1 --heads 2 --ctx 8 --batch 1 --log-seconds 0";
  const pid_t pid = spawn_cli(args, err);
  ASSERT_GT(pid, 0);
  const bool training = wait_until(
      [&] {
        return fs::exists(err) && testing::read_file(err).find("step 3") != std::string::npos;
      },
      120);
  ::kill(pid, SIGTERM);
  const int status = wait_status(pid);
  ASSERT_TRUE(training) << testing::read_file(err);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  EXPECT_NE(testing::read_file(err).find("interrupted: checkpoint"), std::string::npos)
      << testing::read_file(err);
  EXPECT_EQ(names_in(d), (std::set<std::string>{"t.gguf", "t.gguf.ckpt"}));
  EXPECT_EQ(run_cli("info " + quoted(d / "t.gguf")).exit_code, 0);
}

// Output to a full disk used to exit 0: stdout is flushed and checked before the exit code. The
// reason is known when that last flush fails; a write that failed earlier left only its flag.
TEST_F(CliOutputs, StdoutToAFullDiskFails) {
  const std::string m = quoted(model());
  const CommandResult info = run_cli_with("", "info " + m, "/dev/full");
  EXPECT_TRUE(fails_cleanly(info, {"cannot write to standard output", "No space left on device"}));
  for (const std::string& args : std::vector<std::string>{
           "run -m " + m + " -p once -n 4 --temp 0", "bench -m " + m + " -p 8 -n 8 -r 1",
           "ngram build -m " + m + " --corpus " + quoted(corpus()) + " -o " +
               quoted(scratch("stdout-case.bin")),
           "--help", "--version"}) {
    EXPECT_TRUE(
        fails_at_the_end(run_cli_with("", args, "/dev/full"), {"cannot write to standard output"}))
        << args;
  }
  // Past the file-size limit (1 KB, which stderr's one line stays within) stdout fails the same
  // way; SIGXFSZ used to end the process.
  const CommandResult limited =
      run_cli_with("ulimit -f 1;", "run --help", quoted(scratch("help.txt")));
  EXPECT_TRUE(fails_cleanly(limited, {"cannot write to standard output"}));
}

}  // namespace
}  // namespace aded
