#include <sys/resource.h>

#include <cstdio>
#include <exception>

#include "server/commands.h"

int main(int argc, char** argv) {
  // Session contents and keys must never land in a core file.
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  // Start-up failures (no event loop, no socket) are exceptions; they end
  // the program with a message, not an abort.
  try {
    return roam::server::run_command(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "roam-server: %s\n", e.what());
    return 1;
  }
}
