#include "core/mapping_guard.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace aded {

namespace {

// Process-wide by nature: a signal handler can only reach state that is global. The handler reads
// the slots with atomics and calls nothing but write() and _exit().
constexpr int kSlots = 64;
constexpr size_t kPathBytes = 512;

struct Slot {
  std::atomic<uintptr_t> begin{0}, end{0};  // end == 0: free
  char path[kPathBytes];
};

Slot g_slots[kSlots];
std::mutex g_mutex;  // serializes registration, not the handler
struct sigaction g_previous;
bool g_installed = false;

void write_all(const char* s, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<uintptr_t>(info ? info->si_addr : nullptr);
  for (Slot& s : g_slots) {
    const uintptr_t end = s.end.load(std::memory_order_acquire);
    if (end != 0 && addr >= s.begin.load(std::memory_order_relaxed) && addr < end) {
      static const char kHead[] = "aded: error: ";
      static const char kTail[] =
          ": the file changed while in use (it was truncated or rewritten after it was opened); "
          "stopping\n";
      write_all(kHead, sizeof(kHead) - 1);
      write_all(s.path, ::strnlen(s.path, kPathBytes));
      write_all(kTail, sizeof(kTail) - 1);
      ::_exit(1);
    }
  }
  // Not ours: what was there before.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) {
      g_previous.sa_sigaction(sig, info, context);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  ::signal(SIGBUS, SIG_DFL);
  ::raise(SIGBUS);
}

void install_once() {
  if (g_installed) return;
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGBUS, &sa, &g_previous) == 0) g_installed = true;
}

}  // namespace

int guard_mapping(const void* data, size_t size, const std::string& path) {
  if (!data || size == 0) return -1;
  std::lock_guard<std::mutex> lock(g_mutex);
  install_once();
  for (int i = 0; i < kSlots; ++i) {
    Slot& s = g_slots[i];
    if (s.end.load(std::memory_order_relaxed) != 0) continue;
    const size_t n = std::min(path.size(), kPathBytes - 1);
    std::memcpy(s.path, path.data(), n);
    s.path[n] = '\0';
    s.begin.store(reinterpret_cast<uintptr_t>(data), std::memory_order_relaxed);
    s.end.store(reinterpret_cast<uintptr_t>(data) + size, std::memory_order_release);
    return i;
  }
  return -1;
}

void unguard_mapping(int slot) {
  if (slot < 0 || slot >= kSlots) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  g_slots[slot].end.store(0, std::memory_order_release);
}

}  // namespace aded

// AddressSanitizer installs its own SIGBUS handler and, by default, keeps a program from replacing
// it: under ASan a truncated model would end in a sanitizer report instead of the message above.
// The guard is the program's answer to SIGBUS, so the sanitizer leaves that signal to it
// (ASAN_OPTIONS given at run time still override this).
#if defined(__SANITIZE_ADDRESS__)
#define ADED_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ADED_UNDER_ASAN 1
#endif
#endif
#ifdef ADED_UNDER_ASAN
extern "C" const char* __asan_default_options() { return "handle_sigbus=0"; }
#endif
