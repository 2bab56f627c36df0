#include "client/carry.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cctype>
#include <memory>

#include "client/remote.h"
#include "protocol/unique_fd.h"

namespace roam::client {

namespace {

// Shared by both scripts: whether file $1 is our roam-server, by its sha256,
// or where there is no sha256sum by what it says its version is.
constexpr std::string_view check_function =
    "ok() { if command -v sha256sum >/dev/null 2>&1; then s=$(sha256sum <\"$1\"); [ \"${s%% *}\" = \"$h\" ]; "
    "else [ \"$(\"$1\" --version 2>/dev/null)\" = \"roam-server $v\" ]; fi; }; "
    "d=${XDG_CACHE_HOME:-$HOME/.cache}/roam/bin; ";

constexpr std::string_view run_script =
    "v=$1; h=$2; shift 2; @CHECK@"
    "if command -v roam-server >/dev/null 2>&1; then exec roam-server \"$@\"; fi; "
    "f=$d/roam-server-$v; if [ -x \"$f\" ] && ok \"$f\"; then exec \"$f\" \"$@\"; fi; "
    "echo \"ROAM CARRY need $(uname -sm)\" >&2; exit 97";

// The copy goes to a temporary name and is renamed only once checked, so a
// broken or partial copy is never run.
constexpr std::string_view install_script =
    "v=$1; h=$2; u=$3; n=$4; shift 4; @CHECK@"
    "m=$(uname -sm); [ \"$m\" = \"$u\" ] || { echo \"ROAM CARRY arch $m\" >&2; exit 97; }; "
    "umask 077; t=$d/.roam-server-$v.$$; "
    "if mkdir -p \"$d\" 2>/dev/null && head -c \"$n\" >\"$t\" 2>/dev/null; then :; "
    "else rm -f \"$t\"; echo \"ROAM CARRY write $d\" >&2; exit 97; fi; "
    "[ \"$(wc -c <\"$t\")\" -eq \"$n\" ] || { rm -f \"$t\"; echo \"ROAM CARRY short\" >&2; exit 97; }; "
    "chmod 700 \"$t\"; ok \"$t\" || { rm -f \"$t\"; echo \"ROAM CARRY corrupt\" >&2; exit 97; }; "
    "e=$(\"$t\" --version 2>&1) || { rm -f \"$t\"; echo \"ROAM CARRY run $e\" | head -n 1 >&2; exit 97; }; "
    "mv -f \"$t\" \"$d/roam-server-$v\" || { rm -f \"$t\"; echo \"ROAM CARRY write $d\" >&2; exit 97; }; "
    "exec \"$d/roam-server-$v\" \"$@\"";

std::optional<std::string> sha256_of(int fd, uint64_t& size) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return std::nullopt;
  size = 0;
  char buf[64 * 1024];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    if (EVP_DigestUpdate(ctx.get(), buf, static_cast<size_t>(n)) != 1) return std::nullopt;
    size += static_cast<uint64_t>(n);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) return std::nullopt;
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string command_line(std::string_view script, std::initializer_list<std::string> fields,
                         const std::vector<std::string>& server_args) {
  std::string text(script);
  const auto at = text.find("@CHECK@");
  text.replace(at, 7, check_function);
  std::string line = "sh -c " + shell_quote(text) + " roam-carry";
  for (const auto& f : fields) line += " " + shell_quote(f);
  for (const auto& a : server_args) line += " " + shell_quote(a);
  return line;
}

}  // namespace

std::optional<InstallServer> parse_install_server(std::string_view text) {
  if (text == "ask") return InstallServer::ask;
  if (text == "yes") return InstallServer::yes;
  if (text == "no") return InstallServer::no;
  return std::nullopt;
}

std::optional<CarriedServer> find_carried_server() {
  utsname u{};
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (uname(&u) != 0 || n <= 0) return std::nullopt;
  std::string system = u.sysname;
  for (char& c : system) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string name = fmt::format("roam-server-{}-{}", system, u.machine);
  std::string dir(self, static_cast<size_t>(n));
  dir.resize(dir.rfind('/') + 1);
  for (const std::string& path : {dir + "../libexec/roam/" + name, dir + name}) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st{};
    if (!fd || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    CarriedServer s;
    auto sha = sha256_of(fd.get(), s.size);
    if (!sha) continue;
    s.path = path;
    s.system = fmt::format("{} {}", u.sysname, u.machine);
    s.sha256 = std::move(*sha);
    return s;
  }
  return std::nullopt;
}

namespace carry {

std::string run_command(const CarriedServer& s, const std::vector<std::string>& server_args) {
  return command_line(run_script, {ROAM_VERSION, s.sha256}, server_args);
}

std::string install_command(const CarriedServer& s, const std::vector<std::string>& server_args) {
  return command_line(install_script, {ROAM_VERSION, s.sha256, s.system, std::to_string(s.size)}, server_args);
}

Report explain(const std::vector<std::string>& marked, const CarriedServer& s, const std::string& host) {
  Report r;
  for (const std::string& line : marked) {
    const auto space = line.find(' ');
    const std::string_view what = std::string_view(line).substr(0, space);
    const std::string rest = space == std::string::npos ? std::string() : line.substr(space + 1);
    if (what == "need") {
      r.need = true;
      r.remote_system = rest;
    } else if (what == "arch") {
      r.remote_system = rest;
    } else if (what == "write") {
      r.message = fmt::format("cannot write roam-server to {} on {} (no room, or no permission)", rest, host);
    } else if (what == "short") {
      r.message = fmt::format("the copy of roam-server to {} was cut short; nothing was run (try again)", host);
    } else if (what == "corrupt") {
      r.message = fmt::format("the copy of roam-server to {} arrived damaged; nothing was run (try again)", host);
    } else if (what == "run") {
      r.message = fmt::format("the roam-server roam carries does not run on {}: {}", host, rest);
    }
  }
  if (!r.remote_system.empty() && r.remote_system != s.system) {
    r.need = false;
    r.message = fmt::format(
        "roam-server is not installed on {}, and the one roam carries is for {} while {} runs {}: install "
        "roam-server there (README.md, \"Installing on the remote host\"), or pass --server=PATH",
        host, s.system, host, r.remote_system);
  }
  return r;
}

}  // namespace carry

}  // namespace roam::client
