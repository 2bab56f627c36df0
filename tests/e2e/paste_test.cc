// Pastes end to end (issue 13 item 3): the biggest input a person can give
// the client. Every byte of a 20 MB paste reaches the program, the client's
// memory stays bounded whatever the size, a paste beyond the client's limit
// is refused with a message, and Ctrl-^ d detaches in the middle of one.
#include <doctest/doctest.h>

#include <fstream>
#include <random>

#include "tests/e2e/harness.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t MiB = 1024 * 1024;

// What the client may hold for a paste of `queued` bytes that wait to be
// sent: those bytes and room for the client itself. Under ASan freed memory
// waits in a quarantine of up to 256 MiB, and every allocation carries red
// zones and shadow memory: the limit then only catches gross hoarding
// (before the fix, a 20 MB paste took the client to 800 MB).
#ifdef __SANITIZE_ADDRESS__
long long memory_limit_kb(size_t queued) { return static_cast<long long>(queued / 1024) + 512 * 1024; }
#else
long long memory_limit_kb(size_t queued) { return static_cast<long long>(queued / 1024) + 48 * 1024; }
#endif

// Printable text with line breaks: nothing in it is the escape key, a
// control character or a signal key, so it means only itself everywhere.
std::string paste_text(size_t n) {
  std::mt19937 random(20);
  std::string text(n, ' ');
  for (char& c : text) {
    const unsigned r = random() % 64;
    c = r == 0 ? '\n' : static_cast<char>('!' + r);
  }
  return text;
}

std::string sha256(const std::string& path) { return run({"/usr/bin/sha256sum", path}).out.substr(0, 64); }

// Types `text` in pieces, watching the client's resident memory; stops early
// (and says so) once it passes `limit_kb`, so a client that hoards a paste
// cannot take the machine down with it.
bool type_watching_memory(TerminalDriver& t, std::string_view text, long long limit_kb, long long& peak_kb) {
  constexpr size_t piece = 256 * 1024;
  for (size_t at = 0; at < text.size(); at += piece) {
    t.type(text.substr(at, piece));
    peak_kb = std::max(peak_kb, proc_status_kb(t.pid(), "VmRSS"));
    if (peak_kb > limit_kb) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("attack: a 20 MB paste arrives byte for byte, with the client's memory bounded") {
  Sandbox sb;
  constexpr size_t size = 20'000'000;
  const std::string text = paste_text(size);
  const std::string local = sb.dir() + "/paste.txt", remote = sb.dir() + "/received.sha256";
  std::ofstream(local, std::ios::binary) << text;
  auto t = attach_client(sb, "work", 80, 24,
                         {"/bin/sh", "-c", "stty raw -echo; head -c " + std::to_string(size) + " | sha256sum > " +
                                               remote + "; echo pasted-all; sleep 1000"});
  t->pump(500ms);
  const auto start = Clock::now();
  long long peak = 0;
  const long long limit = memory_limit_kb(size);
  REQUIRE_MESSAGE(type_watching_memory(*t, text, limit, peak), "client RSS " << peak << " kB > " << limit << " kB");
  REQUIRE_MESSAGE(t->wait_for_text("pasted-all", 180s), t->screen_text());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::string got;
  std::ifstream(remote) >> got;
  CHECK(got == sha256(local));
  const long long hwm = proc_status_kb(t->pid(), "VmHWM");
  CHECK(hwm <= limit);
  MESSAGE("20 MB paste: " << seconds << " s, " << size / 1e6 / seconds << " MB/s; client peak RSS " << hwm / 1024
                          << " MiB");
  t->type("\x1e" "d");
  CHECK(t->wait_exit() == 0);
}

TEST_CASE("attack: a paste beyond 64 MiB is refused with a message, never cut silently") {
  Sandbox sb;
  // The program reads nothing: the paste can only pile up.
  auto t = attach_client(sb, "work", 80, 24, {"/bin/sh", "-c", "stty raw -echo; echo not-reading; sleep 1000"});
  REQUIRE_MESSAGE(t->wait_for_text("not-reading"), t->screen_text());
  const std::string text = paste_text(70 * MiB);
  long long peak = 0;
  const long long limit = memory_limit_kb(64 * MiB);
  REQUIRE_MESSAGE(type_watching_memory(*t, text, limit, peak), "client RSS " << peak << " kB > " << limit << " kB");
  CHECK_MESSAGE(t->wait_for_text("not sent", 60s), t->screen_text());
  CHECK(t->contains("64 MiB"));
  CHECK(proc_status_kb(t->pid(), "VmHWM") <= limit);
  // Still listening: the escape key works, and the last words say what was dropped.
  t->type("\x1e" "d");
  REQUIRE(t->wait_exit(30s) == 0);
  CHECK_MESSAGE(t->output().find("[detached from work;") != std::string::npos, t->screen_text());
  CHECK(t->contains("not sent"));
}

TEST_CASE("attack: Ctrl-^ d in the middle of a paste detaches within seconds") {
  Sandbox sb;
  auto t = attach_client(sb, "work", 80, 24, {"/bin/sh", "-c", "stty raw -echo; echo not-reading; sleep 1000"});
  REQUIRE_MESSAGE(t->wait_for_text("not-reading"), t->screen_text());
  const std::string text = paste_text(8 * MiB);
  const auto start = Clock::now();
  long long peak = 0;
  const bool bounded = type_watching_memory(*t, text, memory_limit_kb(text.size()), peak);
  t->type("\x1e" "d");
  const auto status = t->wait_exit(30s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  CHECK(bounded);
  REQUIRE(status == 0);
  CHECK_MESSAGE(took < 10s, took.count() << " ms");
  CHECK_MESSAGE(t->contains("[detached from work;"), t->screen_text());
  CHECK(t->contains("not sent"));
  // The session lives on.
  CHECK(ls_column(sb, "work", "CLIENTS").has_value());
}
