#include <sys/resource.h>

#include <cstdio>
#include <exception>

#include "client/cli.h"

int main(int argc, char** argv) {
  // Keys live in this process's memory: never in a core file.
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  // Start-up failures (no event loop, no socket) are exceptions; they end
  // the program with a message, not an abort.
  try {
    return roam::client::run_cli(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "roam: %s\n", e.what());
    return 1;
  }
}
