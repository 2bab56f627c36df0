#include "server/runtime_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace roam::server {

RuntimeDir locate_runtime_dir() {
  if (const char* d = std::getenv("ROAM_RUNTIME_DIR"); d && *d) return {d};
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return {std::string(x) + "/roam"};
  return {fmt::format("/tmp/roam-{}", getuid())};
}

Result<void, std::string> prepare_runtime_dir(const RuntimeDir& dir) {
  if (mkdir(dir.path.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(fmt::format("cannot create {}: {}", dir.path, std::strerror(errno)));
  struct stat st;
  if (lstat(dir.path.c_str(), &st) != 0)
    return fail(fmt::format("cannot use {}: {}", dir.path, std::strerror(errno)));
  if (!S_ISDIR(st.st_mode)) return fail(fmt::format("{} is not a directory", dir.path));
  if (st.st_uid != getuid())
    return fail(fmt::format("{} belongs to uid {}, not to you (uid {}): refusing to use it", dir.path,
                            st.st_uid, getuid()));
  if (st.st_mode & 077)
    return fail(fmt::format("{} is accessible to other users (mode {:o}): refusing to use it; run chmod 700 {}",
                            dir.path, st.st_mode & 0777, dir.path));
  return {};
}

}  // namespace roam::server
