#include "core/termination_signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <mutex>

namespace aded {

namespace {

// Process-wide by nature: a signal handler reaches only global state. It reads the slots through
// atomics and calls nothing but unlink(), sigaction() and raise(), which are async-signal-safe.
constexpr int kSlots = 64;
constexpr size_t kPathBytes = 4096;
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

struct Slot {
  std::atomic<bool> used{false};
  char path[kPathBytes];
};

Slot g_slots[kSlots];
std::mutex g_mutex;  // serializes registration, not the handler
std::atomic<int> g_graceful_scopes{0};
std::atomic<int> g_stop_signal{0};
constexpr int kGracefulSignals[] = {SIGINT, SIGTERM};
bool g_ignored_before_stop[2] = {};  // per kGracefulSignals: ignored until a GracefulStop began
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);

void remove_temporaries() {
  for (Slot& s : g_slots)
    if (s.used.load(std::memory_order_acquire)) ::unlink(s.path);
}

extern "C" void on_termination_signal(int sig) {
  const int saved_errno = errno;
  const bool graceful = sig != SIGHUP && g_graceful_scopes.load() > 0;
  int expected = 0;
  if (graceful && g_stop_signal.compare_exchange_strong(expected, sig)) {
    errno = saved_errno;
    return;  // the first one only asks the work to stop
  }
  remove_temporaries();
  // End the process the way the signal would have: the default action, raised again. The signal
  // is blocked inside its handler, so it arrives as soon as this returns.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  ::sigaction(sig, &default_action, nullptr);
  ::raise(sig);
  errno = saved_errno;
}

void set_disposition(int sig, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  for (int other : kSignals) sigaddset(&action.sa_mask, other);
  ::sigaction(sig, &action, nullptr);
}

bool disposition_is(int sig, void (*handler)(int)) {
  struct sigaction current {};
  return ::sigaction(sig, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
         current.sa_handler == handler;
}

// Takes over a signal only where it would have ended the process anyway: an ignored signal
// ends nothing, so it leaves nothing to clean up.
void install_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : kSignals)
      if (disposition_is(sig, SIG_DFL)) set_disposition(sig, on_termination_signal);
    // A file-size limit (ulimit -f) would end the process with SIGXFSZ half-way through a write,
    // the temporary left behind. Ignored, the write fails with EFBIG ("File too large"), which is
    // reported and cleaned up like a full disk.
    if (disposition_is(SIGXFSZ, SIG_DFL)) ::signal(SIGXFSZ, SIG_IGN);
  });
}

}  // namespace

int register_temporary_file(const std::string& path) {
  install_once();
  if (path.empty() || path.size() >= kPathBytes) return -1;
  std::lock_guard<std::mutex> lock(g_mutex);
  for (int i = 0; i < kSlots; ++i) {
    Slot& s = g_slots[i];
    if (s.used.load(std::memory_order_relaxed)) continue;
    std::memcpy(s.path, path.c_str(), path.size() + 1);
    s.used.store(true, std::memory_order_release);
    return i;
  }
  return -1;
}

void unregister_temporary_file(int slot) {
  if (slot < 0 || slot >= kSlots) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  g_slots[slot].used.store(false, std::memory_order_release);
}

// A stop asked for by SIGINT or SIGTERM is heard even where they were ignored (a background job
// of a script ignores SIGINT): the scope takes them over and gives them back when it ends.
GracefulStop::GracefulStop() {
  install_once();
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_graceful_scopes.load() > 0) {
    g_graceful_scopes.fetch_add(1);
    return;
  }
  g_stop_signal.store(0);
  for (size_t i = 0; i < std::size(kGracefulSignals); ++i) {
    g_ignored_before_stop[i] = disposition_is(kGracefulSignals[i], SIG_IGN);
    if (g_ignored_before_stop[i]) set_disposition(kGracefulSignals[i], on_termination_signal);
  }
  g_graceful_scopes.fetch_add(1);
}

GracefulStop::~GracefulStop() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_graceful_scopes.fetch_sub(1) != 1) return;
  for (size_t i = 0; i < std::size(kGracefulSignals); ++i)
    if (g_ignored_before_stop[i]) set_disposition(kGracefulSignals[i], SIG_IGN);
}

bool GracefulStop::requested() const {
  return g_stop_signal.load() != 0;
}

int GracefulStop::signal() const {
  return g_stop_signal.load();
}

}  // namespace aded
