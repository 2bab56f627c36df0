#include "server/runtime_dir.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace roam::server {

RuntimeDir locate_runtime_dir() {
  if (const char* d = std::getenv("ROAM_RUNTIME_DIR"); d && *d) return {d};
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return {std::string(x) + "/roam"};
  return {fmt::format("/tmp/roam-{}", getuid())};
}

std::string describe_uid(uid_t uid) {
  passwd pw{}, *found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_name)
    return fmt::format("uid {} ({})", uid, found->pw_name);
  return fmt::format("uid {}", uid);
}

Result<bool, std::string> check_runtime_dir(const RuntimeDir& dir) {
  struct stat st;
  if (lstat(dir.path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return fail(fmt::format("cannot use {}: {}", dir.path, std::strerror(errno)));
  }
  if (S_ISLNK(st.st_mode))
    return fail(fmt::format("{} is a symbolic link (owned by {}), not a directory: refusing to use it", dir.path,
                            describe_uid(st.st_uid)));
  if (!S_ISDIR(st.st_mode)) return fail(fmt::format("{} is not a directory: refusing to use it", dir.path));
  if (st.st_uid != getuid())
    return fail(fmt::format("{} belongs to {}, not to you ({}): refusing to use it", dir.path,
                            describe_uid(st.st_uid), describe_uid(getuid())));
  if (st.st_mode & 077)
    return fail(fmt::format("{} is accessible to other users (mode {:o}): refusing to use it; run chmod 700 {}",
                            dir.path, st.st_mode & 0777, dir.path));
  return true;
}

Result<void, std::string> prepare_runtime_dir(const RuntimeDir& dir) {
  if (mkdir(dir.path.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(fmt::format("cannot create {}: {}", dir.path, std::strerror(errno)));
  auto ok = check_runtime_dir(dir);
  if (!ok) return fail(ok.error());
  if (!*ok) return fail(fmt::format("cannot use {}: it vanished", dir.path));
  return {};
}

}  // namespace roam::server
