// roam-server's command line: the daemon and the local session commands.
#pragma once

namespace roam::server {

// Runs `roam-server ARGS...`; returns the process exit status.
int run_command(int argc, char** argv);

}  // namespace roam::server
