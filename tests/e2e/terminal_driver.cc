#include "tests/e2e/terminal_driver.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <vterm.h>

#include <stdexcept>
#include <thread>

#include "protocol/utf8.h"

namespace roam::e2e {

struct TerminalDriver::Vt {
  VTerm* vt;
  VTermScreen* screen;
  VTermPos cursor{0, 0};
  bool cursor_visible = true;
  std::vector<std::string> scrollback;
  explicit Vt(int cols, int rows) : vt(vterm_new(rows, cols)) {
    vterm_set_utf8(vt, 1);
    screen = vterm_obtain_screen(vt);
    static const VTermScreenCallbacks callbacks = [] {
      VTermScreenCallbacks cb{};
      cb.movecursor = [](VTermPos pos, VTermPos, int visible, void* user) {
        auto* self = static_cast<Vt*>(user);
        self->cursor = pos;
        self->cursor_visible = visible;
        return 1;
      };
      // As a terminal's own scrollback: the text of each row leaving the top.
      cb.sb_pushline = [](int cols, const VTermScreenCell* cells, void* user) {
        std::string text;
        for (int x = 0; x < cols; ++x) {
          if (cells[x].chars[0] == 0xffffffffu) continue;
          const uint32_t c = cells[x].chars[0] ? cells[x].chars[0] : ' ';
          roam::append_utf8(c, text);
        }
        while (!text.empty() && text.back() == ' ') text.pop_back();
        static_cast<Vt*>(user)->scrollback.push_back(std::move(text));
        return 1;
      };
      cb.settermprop = [](VTermProp prop, VTermValue* val, void* user) {
        if (prop == VTERM_PROP_CURSORVISIBLE) static_cast<Vt*>(user)->cursor_visible = val->boolean;
        return 1;
      };
      return cb;
    }();
    vterm_screen_set_callbacks(screen, &callbacks, this);
    vterm_screen_reset(screen, 1);
  }
  ~Vt() { vterm_free(vt); }
};

TerminalDriver::TerminalDriver(std::vector<std::string> argv, int cols, int rows,
                               std::vector<std::pair<std::string, std::string>> env)
    : vt_(std::make_unique<Vt>(cols, rows)), cols_(cols), rows_(rows) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(cols);
  ws.ws_row = static_cast<unsigned short>(rows);
  pid_ = forkpty(&fd_, nullptr, nullptr, &ws);
  if (pid_ < 0) throw std::runtime_error("forkpty");
  if (pid_ == 0) {
    for (auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    setenv("TERM", "xterm-256color", 1);
    execv(args[0], args.data());
    _exit(127);
  }
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  fcntl(fd_, F_SETFD, FD_CLOEXEC);
}

TerminalDriver::~TerminalDriver() {
  if (!status_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (fd_ >= 0) close(fd_);
}

void TerminalDriver::type(std::string_view keys) {
  while (!keys.empty() && fd_ >= 0) {
    const ssize_t n = write(fd_, keys.data(), keys.size());
    if (n > 0) {
      keys.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    // The program is not reading yet: show its output meanwhile, and go on
    // as soon as there is room.
    pollfd p{fd_, POLLIN | POLLOUT, 0};
    poll(&p, 1, 5);
    if (p.revents & POLLIN) pump(std::chrono::milliseconds(0));
  }
}

void TerminalDriver::hang_up() {
  if (fd_ < 0) return;
  close(fd_);
  fd_ = -1;
}

void TerminalDriver::resize(int cols, int rows) {
  cols_ = cols;
  rows_ = rows;
  vterm_set_size(vt_->vt, rows, cols);
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(cols);
  ws.ws_row = static_cast<unsigned short>(rows);
  ioctl(fd_, TIOCSWINSZ, &ws);
  kill(pid_, SIGWINCH);
}

void TerminalDriver::pump(std::chrono::milliseconds wait) {
  if (fd_ < 0) {
    std::this_thread::sleep_for(wait);
    return;
  }
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
  char buf[65536];
  while (true) {
    const ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) break;
    output_.append(buf, static_cast<size_t>(n));
    vterm_input_write(vt_->vt, buf, static_cast<size_t>(n));
  }
  // Answers the terminal owes the program (cursor position reports...).
  char reply[256];
  size_t r;
  while ((r = vterm_output_read(vt_->vt, reply, sizeof reply)) > 0) type({reply, r});
}

bool TerminalDriver::wait_for(const std::function<bool(const TerminalDriver&)>& condition,
                              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition(*this)) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    pump(std::chrono::milliseconds(20));
  }
}

bool TerminalDriver::wait_for_text(std::string_view text, std::chrono::milliseconds timeout) {
  return wait_for([&](const TerminalDriver& t) { return t.contains(text); }, timeout);
}

bool TerminalDriver::underlined(int x, int y) const {
  VTermScreenCell cell;
  return vterm_screen_get_cell(vt_->screen, {y, x}, &cell) && cell.attrs.underline != 0;
}

std::string TerminalDriver::row(int y) const {
  std::string out;
  for (int x = 0; x < cols_; ++x) {
    VTermScreenCell cell;
    if (!vterm_screen_get_cell(vt_->screen, {y, x}, &cell)) continue;
    if (cell.width == 0) continue;
    if (cell.chars[0] == 0) {
      out += ' ';
      continue;
    }
    for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && cell.chars[i]; ++i) roam::append_utf8(cell.chars[i], out);
    if (cell.width == 2) ++x;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string TerminalDriver::styled_row(int y) const {
  std::string out;
  VTermScreenCell last{};
  bool first = true;
  auto same_pen = [](const VTermScreenCell& a, const VTermScreenCell& b) {
    return vterm_color_is_equal(&a.fg, &b.fg) && vterm_color_is_equal(&a.bg, &b.bg) && a.attrs.bold == b.attrs.bold &&
           a.attrs.underline == b.attrs.underline && a.attrs.italic == b.attrs.italic &&
           a.attrs.reverse == b.attrs.reverse;
  };
  auto color = [](const VTermColor& c) {
    if (VTERM_COLOR_IS_DEFAULT_FG(&c) || VTERM_COLOR_IS_DEFAULT_BG(&c)) return std::string("d");
    if (VTERM_COLOR_IS_INDEXED(&c)) return std::to_string(c.indexed.idx);
    return std::to_string(c.rgb.red) + ":" + std::to_string(c.rgb.green) + ":" + std::to_string(c.rgb.blue);
  };
  for (int x = 0; x < cols_; ++x) {
    VTermScreenCell cell;
    if (!vterm_screen_get_cell(vt_->screen, {y, x}, &cell) || cell.width == 0) continue;
    if (first || !same_pen(cell, last)) {
      out += "{" + color(cell.fg) + "," + color(cell.bg) + "," + std::to_string(cell.attrs.bold) +
             std::to_string(cell.attrs.underline) + std::to_string(cell.attrs.italic) +
             std::to_string(cell.attrs.reverse) + "}";
      last = cell;
      first = false;
    }
    if (cell.chars[0] == 0) out += ' ';
    for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && cell.chars[i]; ++i) roam::append_utf8(cell.chars[i], out);
    if (cell.width == 2) ++x;
  }
  return out;
}

std::string TerminalDriver::styled_text() const {
  std::string out;
  for (int y = 0; y < rows_; ++y) {
    if (y) out += '\n';
    out += styled_row(y);
  }
  return out;
}

bool TerminalDriver::raw_mode() const {
  termios t{};
  if (fd_ < 0 || tcgetattr(fd_, &t) != 0) return false;
  return (t.c_lflag & (ICANON | ECHO)) == 0;
}

bool TerminalDriver::reverse(int x, int y) const {
  VTermScreenCell cell;
  return vterm_screen_get_cell(vt_->screen, {y, x}, &cell) && cell.attrs.reverse;
}

std::string TerminalDriver::settled_text(std::chrono::milliseconds quiet) {
  std::string last = screen_text();
  auto since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - since < quiet) {
    pump(std::chrono::milliseconds(50));
    if (screen_text() != last) {
      last = screen_text();
      since = std::chrono::steady_clock::now();
    }
  }
  return last;
}

const std::vector<std::string>& TerminalDriver::scrollback() const { return vt_->scrollback; }

std::string TerminalDriver::screen_text() const {
  std::string out;
  for (int y = 0; y < rows_; ++y) {
    if (y) out += '\n';
    out += row(y);
  }
  return out;
}

std::pair<int, int> TerminalDriver::cursor() const { return {vt_->cursor.col, vt_->cursor.row}; }
bool TerminalDriver::cursor_visible() const { return vt_->cursor_visible; }

std::optional<int> TerminalDriver::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    pump(std::chrono::milliseconds(20));
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pump(std::chrono::milliseconds(50));
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
  }
  return status_;
}

}  // namespace roam::e2e
