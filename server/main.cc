#include <sys/resource.h>

#include "server/commands.h"

int main(int argc, char** argv) {
  // Session contents and keys must never land in a core file.
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  return roam::server::run_command(argc, argv);
}
