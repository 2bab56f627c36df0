#include <sys/resource.h>

#include "client/cli.h"

int main(int argc, char** argv) {
  // Keys live in this process's memory: never in a core file.
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  return roam::client::run_cli(argc, argv);
}
