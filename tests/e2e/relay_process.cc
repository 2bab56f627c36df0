#include "tests/e2e/relay_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/e2e/harness.h"

namespace roam::e2e {

std::string relay_bin() {
  const char* v = std::getenv("ROAM_RELAY_BIN");
  if (!v || !*v) throw std::runtime_error("ROAM_RELAY_BIN is not set: run the tests with meson test");
  return v;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

long long json_number(const std::string& json, const std::string& section, const std::string& key) {
  std::size_t at = 0;
  if (!section.empty()) {
    at = json.find("\"" + section + "\":");
    if (at == std::string::npos) return -1;
  }
  at = json.find("\"" + key + "\":", at);
  if (at == std::string::npos) return -1;
  return std::atoll(json.c_str() + at + key.size() + 3);
}

RelayProcess::RelayProcess(const std::string& dir, int server_port, std::vector<std::string> extra) : dir_(dir) {
  std::vector<std::string> argv = {relay_bin(),   "--server", "127.0.0.1:" + std::to_string(server_port),
                                   "--port-file", dir + "/port", "--stats", dir + "/stats.json",
                                   "--control",   dir + "/ctl"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::vector<char*> p;
  for (auto& a : argv) p.push_back(a.data());
  p.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    execv(p[0], p.data());
    _exit(127);
  }
  if (!wait_until([&] { return std::filesystem::exists(dir + "/port"); }, std::chrono::seconds(10)))
    throw std::runtime_error("the relay did not start");
  port_ = std::stoi(read_file(dir + "/port"));
}

RelayProcess::~RelayProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string RelayProcess::ctl(const std::string& action) {
  return run({relay_bin(), "--ctl", dir_ + "/ctl", action}, {{}, {}, std::chrono::seconds(10)}).out;
}

std::string RelayProcess::stats() const { return read_file(dir_ + "/stats.json"); }

int RelayProcess::stop() {
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace roam::e2e
