// Memory and search speed of mux::History on 1,000,000 lines of log-like
// text, the kind of output that fills a long-lived session's scrollback,
// with tmux's memory for the same output beside it when tmux is installed.
//
// Each line is 80 columns at most: a timestamp advancing by a random few
// hundred milliseconds, a level (INFO 70%, DEBUG 15%, WARN 10%, ERROR 5%,
// coloured as loggers do), a component tag, then words from a fixed
// vocabulary mixed with key=value numbers and, on a third of the lines, a
// random 8-digit hex request id. A seeded PRNG makes every run identical.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mux/history.h"

namespace {

using roam::Cell;
using roam::Color;
using roam::Row;
using roam::mux::History;
using roam::mux::SearchOptions;
using Clock = std::chrono::steady_clock;

constexpr size_t lines = 1'000'000;
constexpr size_t cols = 80;

class LogGenerator {
 public:
  // The next line, as a row and as text with escape sequences (ansi()).
  void next(Row& row) {
    ms_ += rng_() % 400;
    const uint64_t s = ms_ / 1000;
    const Level& level = pick_level();
    std::string& t = text_;
    t = fmt::format("2024-05-{:02} {:02}:{:02}:{:02}.{:03} ", 1 + s / 86400 % 28, s / 3600 % 24,
                    s / 60 % 60, s % 60, ms_ % 1000);
    const size_t level_at = t.size();
    t += fmt::format("{:<5} [{}-{}] ", level.name, components[rng_() % components.size()],
                     rng_() % 16);
    if (rng_() % 3 == 0) t += fmt::format("req={:08x} ", static_cast<uint32_t>(rng_()));
    const size_t length = 70 + rng_() % 10;
    while (t.size() < length) {
      switch (rng_() % 6) {
        case 0:
          t += fmt::format("{}={} ", keys[rng_() % keys.size()], rng_() % (1u << (rng_() % 20)));
          break;
        case 1:
          t += fmt::format("{}ms ", rng_() % 1000);
          break;
        default:
          t += words_[rng_() % words_.size()];
          t += ' ';
      }
    }
    t.resize(std::min(t.size() - 1, cols));

    row.cells.assign(cols, Cell{});
    for (size_t i = 0; i < t.size(); ++i) row.cells[i].ch = static_cast<unsigned char>(t[i]);
    for (size_t i = level_at; i < level_at + level.name.size(); ++i) {
      row.cells[i].fg = Color::index(level.color);
    }
    ansi_ = fmt::format("{}\x1b[3{}m{}\x1b[m{}\n", t.substr(0, level_at), level.color, level.name,
                        t.substr(level_at + level.name.size()));
  }
  const std::string& text() const { return text_; }
  const std::string& ansi() const { return ansi_; }

 private:
  struct Level {
    std::string_view name;
    uint8_t color;
  };
  static constexpr std::array<Level, 4> levels = {
      {{"INFO", 2}, {"DEBUG", 6}, {"WARN", 3}, {"ERROR", 1}}};
  static constexpr std::array<std::string_view, 12> components = {
      "http",   "db",  "cache", "auth",  "worker",  "scheduler",
      "mailer", "api", "queue", "store", "metrics", "gc"};
  static constexpr std::array<std::string_view, 10> keys = {
      "id", "user", "size", "count", "retries", "status", "port", "shard", "offset", "batch"};
  // Words of the messages, split at spaces.
  static constexpr std::string_view vocabulary =
      "request served from cache in connection closed by peer opened session for user "
      "query took slow retrying after timeout failed to connect upstream accepted new "
      "job queued finished started worker flushed buffer wrote bytes read file not "
      "found using default config loaded reload signal received shutting down the a of "
      "and with on is was GET POST /api/v1/orders /api/v1/users /healthz token expired "
      "valid ok";

  const Level& pick_level() {
    const unsigned r = rng_() % 100;
    return levels[r < 70 ? 0 : r < 85 ? 1 : r < 95 ? 2 : 3];
  }

  static std::vector<std::string_view> split(std::string_view s) {
    std::vector<std::string_view> out;
    for (size_t at = 0, space; at < s.size(); at = space + 1) {
      space = std::min(s.find(' ', at), s.size());
      out.push_back(s.substr(at, space - at));
    }
    return out;
  }

  const std::vector<std::string_view> words_ = split(vocabulary);
  std::mt19937_64 rng_{20240517};
  uint64_t ms_ = 0;
  std::string text_, ansi_;
};

// Resident bytes of process `pid` ("self" for this one), 0 if unknown.
size_t rss_bytes(const std::string& pid = "self") {
  FILE* f = std::fopen(fmt::format("/proc/{}/statm", pid).c_str(), "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The first line a shell command prints, if it succeeds.
std::optional<std::string> command_output(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) return std::nullopt;
  char buf[256];
  std::string out = std::fgets(buf, sizeof buf, p) ? buf : "";
  if (pclose(p) != 0) return std::nullopt;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// tmux's resident memory per history line after `cat log` in an 80x24 pane
// with room for every line: its server's RSS growth from before the output
// to when the last line has reached history.
std::optional<double> tmux_bytes_per_line(const std::filesystem::path& dir,
                                          const std::filesystem::path& log) {
  if (std::system("command -v tmux >/dev/null 2>&1") != 0) return std::nullopt;
  const auto conf = dir / "tmux.conf", go = dir / "go";
  std::ofstream(conf) << fmt::format("set -g history-limit {}\n", lines);
  const std::string tmux =
      fmt::format("tmux -L roam-history-bench-{} -f {}", getpid(), conf.string());
  const std::string shell =
      fmt::format("while [ ! -e {0} ]; do sleep 0.05; done; cat {1}; exec sleep 1000", go.string(),
                  log.string());
  if (std::system(fmt::format("{} new-session -d -x {} -y 24 '{}'", tmux, cols, shell).c_str()) !=
      0) {
    return std::nullopt;
  }
  std::optional<double> result;
  if (auto pid = command_output(tmux + " display -p '#{pid}'")) {
    const size_t before = rss_bytes(*pid);
    std::ofstream{go};  // the pane's shell starts cat when this exists
    const auto start = Clock::now();
    while (ms_since(start) < 300'000) {
      auto size = command_output(tmux + " display -p '#{history_size}'");
      if (!size) break;
      if (std::strtoull(size->c_str(), nullptr, 10) + 24 >= lines) {
        result = static_cast<double>(rss_bytes(*pid) - before) / lines;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  if (std::system((tmux + " kill-server").c_str()) != 0) fmt::print("tmux kill-server failed\n");
  return result;
}

void time_search(const History& h, std::string_view label, std::string_view needle,
                 SearchOptions options) {
  constexpr int runs = 5;
  size_t hits = 0;
  double best = 1e300;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    hits = h.search(needle, options).size();
    best = std::min(best, ms_since(start));
  }
  fmt::print("search {:<44} {:8.1f} ms  ({} hits, best of {})\n", label, best, hits, runs);
}

}  // namespace

int main() {
  char dir_template[] = "/tmp/roam-history-bench-XXXXXX";
  if (!mkdtemp(dir_template)) return 1;
  const std::filesystem::path dir = dir_template, log = dir / "log.txt";
  std::FILE* log_file = std::fopen(log.c_str(), "w");
  if (!log_file) return 1;

  LogGenerator gen;
  History history;
  size_t text_bytes = 0;
  std::string early;  // a line's text from near the start, as a needle
  // Rows are made a batch at a time so that only appending is timed.
  std::vector<Row> batch(1000,
                         Row{.cells = std::vector<Cell>(cols), .marks = {}, .wrapped = false});
  const size_t rss_before = rss_bytes();

  double append_ms = 0;
  for (size_t i = 0; i < lines; i += batch.size()) {
    for (size_t j = 0; j < batch.size(); ++j) {
      gen.next(batch[j]);
      text_bytes += gen.text().size();
      std::fputs(gen.ansi().c_str(), log_file);
      if (i + j == 1000) early = gen.text().substr(0, 23);  // its unique timestamp
    }
    const auto start = Clock::now();
    for (const Row& row : batch) history.append(row);
    append_ms += ms_since(start);
  }
  const size_t rss_after = rss_bytes();
  std::fclose(log_file);

  const auto per_line = [](double v) { return v / static_cast<double>(lines); };
  const double rss_per_line =
      per_line(static_cast<double>(rss_after) - static_cast<double>(rss_before));
  fmt::print("lines                                  {}\n", lines);
  fmt::print("text bytes per line                    {:.1f}\n",
             per_line(static_cast<double>(text_bytes)));
  fmt::print("stored bytes per line                  {:.1f}\n",
             per_line(static_cast<double>(history.stored_bytes())));
  fmt::print("RSS growth per line                    {:.1f} bytes\n", rss_per_line);
  fmt::print("append                                 {:.0f} ms ({:.0f} ns/line)\n", append_ms,
             append_ms * 1e6 / lines);
  fmt::print("retained lines                         {}\n", history.end() - history.begin());

  time_search(history, "near start, case-sensitive", early, {.max_results = 1});
  time_search(history, "near start, case-insensitive", early,
              {.case_sensitive = false, .max_results = 1});
  time_search(history, "absent (full scan), case-sensitive", "frobnicated", {});
  time_search(history, "absent (full scan), case-insensitive", "frobnicated",
              {.case_sensitive = false});
  time_search(history, "absent backward from end, case-insensitive", "frobnicated",
              {.case_sensitive = false, .backward = true, .from = history.end()});
  time_search(history, "\"ERROR\" every hit (5% of lines)", "ERROR", {});

  std::mt19937 rng(1);
  constexpr int reads = 2000;
  const auto read_start = Clock::now();
  for (int i = 0; i < reads; ++i) {
    auto rows = history.read(rng() % lines, 50);
    if (!rows) return 1;
  }
  fmt::print("read 50 lines at a random place        {:.1f} us\n",
             ms_since(read_start) * 1000 / reads);

  if (auto tmux = tmux_bytes_per_line(dir, log)) {
    fmt::print("tmux RSS growth per line               {:.1f} bytes\n", *tmux);
    fmt::print("tmux / roam memory per line            {:.1f}x\n", *tmux / rss_per_line);
  } else {
    fmt::print("tmux RSS growth per line               (tmux not available)\n");
  }
  std::filesystem::remove_all(dir);
  return 0;
}
