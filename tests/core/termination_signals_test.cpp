// SIGINT and SIGTERM: a temporary file being written is removed before the process ends, and
// inside a GracefulStop the first signal only asks the work to stop. Each case runs in a child
// process, since the signal ends it.
#include "core/termination_signals.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <functional>

#include "core/output_file.h"
#include "support/test_support.h"

namespace aded {
namespace {

namespace fs = std::filesystem;

// Runs `body` in a child process; returns its wait status.
int in_child(const std::function<void()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

bool ended_by(int status, int sig) {
  return WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

TEST(TerminationSignals, RemoveTheTemporaryFileOfAnUnfinishedWrite) {
  for (const int sig : {SIGTERM, SIGINT, SIGHUP}) {
    testing::TempDir dir;
    const int status = in_child([&] {
      OutputFile out(dir / "out.bin");
      out.write("partial", 7);
      if (fs::is_empty(dir.path())) ::_exit(3);  // the temporary file should be there now
      ::raise(sig);
      ::_exit(4);  // not reached: the signal ends the process
    });
    EXPECT_TRUE(ended_by(status, sig)) << "signal " << sig << ", status " << status;
    EXPECT_TRUE(fs::is_empty(dir.path())) << "signal " << sig;
  }
}

TEST(TerminationSignals, KeepAFinishedFile) {
  testing::TempDir dir;
  const int status = in_child([&] {
    write_output_file(dir / "done.bin", std::string("whole"));
    ::raise(SIGTERM);
  });
  EXPECT_TRUE(ended_by(status, SIGTERM));
  EXPECT_EQ(testing::read_file(dir / "done.bin"), "whole");
}

TEST(GracefulStop, TheFirstSignalAsksTheSecondEnds) {
  testing::TempDir dir;
  const int status = in_child([&] {
    GracefulStop stop;
    if (stop.requested()) ::_exit(3);
    ::raise(SIGTERM);
    if (!stop.requested() || stop.signal() != SIGTERM) ::_exit(4);
    OutputFile out(dir / "checkpoint.bin");  // e.g. the checkpoint written after the request
    out.write("partial", 7);
    ::raise(SIGINT);
    ::_exit(5);
  });
  EXPECT_TRUE(ended_by(status, SIGINT)) << "status " << status;
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(GracefulStop, EndsWithItsScope) {
  const int status = in_child([] {
    { GracefulStop stop; }
    ::raise(SIGTERM);
    ::_exit(3);
  });
  EXPECT_TRUE(ended_by(status, SIGTERM)) << "status " << status;
}

// A background job of a script starts with SIGINT ignored; `kill -INT` still stops a training run
// gracefully, and the signal is ignored again after it.
TEST(GracefulStop, HearsAnIgnoredSignalAndGivesItBack) {
  const int status = in_child([] {
    std::signal(SIGINT, SIG_IGN);
    {
      GracefulStop stop;
      ::raise(SIGINT);
      if (!stop.requested()) ::_exit(3);
    }
    ::raise(SIGINT);
    ::_exit(0);
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

// Outside a GracefulStop an ignored signal ends nothing, so it stays ignored during a write.
TEST(TerminationSignals, LeaveAnIgnoredSignalIgnored) {
  testing::TempDir dir;
  const int status = in_child([&] {
    std::signal(SIGHUP, SIG_IGN);
    OutputFile out(dir / "out.bin");
    ::raise(SIGHUP);
    out.write("whole", 5);
    out.commit();
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_EQ(testing::read_file(dir / "out.bin"), "whole");
}

}  // namespace
}  // namespace aded
