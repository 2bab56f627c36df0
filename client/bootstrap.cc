#include "client/bootstrap.h"

#include <unistd.h>

#include <fmt/format.h>

#include <charconv>

#include "client/spawn.h"
#include "protocol/crypto.h"
#include "protocol/datagram.h"
#include "protocol/instruction.h"

namespace roam::client {

namespace {

bool executable_file(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

}  // namespace

std::optional<std::string> find_server() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir.resize(dir.rfind('/') + 1);
    if (executable_file(dir + "roam-server")) return dir + "roam-server";
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::string candidate = std::string(dirs.substr(0, colon)) + "/roam-server";
    if (executable_file(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

Result<ConnectTarget, std::string> parse_connect_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  constexpr std::string_view prefix = "ROAM CONNECT ";
  if (!line.starts_with(prefix)) return fail(std::string("no ROAM CONNECT line"));
  line.remove_prefix(prefix.size());
  std::vector<std::string_view> fields;
  while (!line.empty()) {
    const auto sp = line.find(' ');
    fields.push_back(line.substr(0, sp));
    line.remove_prefix(sp == std::string_view::npos ? line.size() : sp + 1);
  }
  if (fields.size() < 3) return fail(std::string("malformed ROAM CONNECT line"));
  ConnectTarget t;
  auto p = std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), t.port);
  const auto id = parse_conn_id(fields[1]);
  t.key = std::string(fields[2]);
  if (p.ec != std::errc{} || p.ptr != fields[0].data() + fields[0].size() || t.port == 0 || !id ||
      !crypto::Key::from_base64(t.key))
    return fail(std::string("malformed ROAM CONNECT line"));
  t.conn_id = *id;
  for (size_t i = 3; i < fields.size(); ++i) {
    const auto f = fields[i];
    if (f.starts_with("proto=")) {
      const auto v = f.substr(6);
      auto r = std::from_chars(v.data(), v.data() + v.size(), t.protocol);
      if (r.ec != std::errc{} || r.ptr != v.data() + v.size()) return fail(std::string("malformed ROAM CONNECT line"));
    } else if (f.starts_with("pid=")) {
      const auto v = f.substr(4);
      auto r = std::from_chars(v.data(), v.data() + v.size(), t.daemon_pid);
      if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || t.daemon_pid < 0)
        return fail(std::string("malformed ROAM CONNECT line"));
    } else if (f.starts_with("addr=")) {
      t.addr = std::string(f.substr(5));
    }
  }
  return t;
}

std::string version_mismatch(std::string_view where, int theirs) {
  return fmt::format("the roam-server {} speaks protocol {}, this roam speaks {}", where, theirs, protocol_version);
}

Result<void, std::string> check_protocol(const ConnectTarget& target, std::string_view where) {
  if (target.protocol != protocol_version) return fail(version_mismatch(where, target.protocol));
  return {};
}

Result<ConnectTarget, std::string> bootstrap_local(const std::string& server, const std::string& name, int cols,
                                                   int rows, const std::vector<std::string>& command) {
  std::vector<std::string> args{"roam", "attach", name, "--size", fmt::format("{}x{}", cols, rows)};
  if (!command.empty()) {
    args.emplace_back("--");
    args.insert(args.end(), command.begin(), command.end());
  }
  SpawnSpec spec;
  spec.argv = std::move(args);
  spec.program = server;
  spec.capture_out = true;
  auto ran = spawn_and_wait(spec);
  if (!ran) return fail(ran.error());
  if (ran->status != 0) return fail(std::string());  // it said why on stderr
  const std::string& text = ran->out;
  auto target = parse_connect_line(text);
  if (!target) return fail(fmt::format("{} from {}", target.error(), server));
  if (auto ok = check_protocol(*target, "at " + server); !ok) return fail(ok.error());
  target->host = "127.0.0.1";
  target->local = true;
  target->reattach = "roam attach " + name;
  return target;
}

}  // namespace roam::client
