// Runs a helper program (ssh, or roam-server for a local bootstrap) and waits
// for it: its stdout captured or shared, its stderr passed through to ours
// except for the lines a remote script marks for us.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"

namespace roam::client {

struct SpawnSpec {
  std::vector<std::string> argv;
  std::string program;            // empty: argv[0], looked up on PATH unless it holds a '/'
  bool capture_out = false;       // else stdout is ours
  int stdin_fd = -1;              // the child's stdin; -1: ours
  // Lines of stderr starting with this are kept for the caller instead of
  // shown; empty: stderr is ours.
  std::string marker;
};

struct Spawned {
  int status = 0;            // exit status, or 128 + signal number
  std::string out;           // stdout, at most 64 KiB, when captured
  std::vector<std::string> marked;  // marked stderr lines, marker removed
};

// Failures to start (pipe, fork) are messages; a program that could not be
// executed exits 127 after saying so on stderr.
Result<Spawned, std::string> spawn_and_wait(const SpawnSpec& spec);

}  // namespace roam::client
