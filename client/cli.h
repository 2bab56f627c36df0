// roam's command line.
#pragma once

namespace roam::client {

// Runs `roam ARGS...`; returns the process exit status.
int run_cli(int argc, char** argv);

}  // namespace roam::client
