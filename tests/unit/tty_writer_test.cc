#include "client/tty_writer.h"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <string>

using namespace roam::client;

namespace {

struct Pipe {
  int read_end = -1, write_end = -1;
  Pipe() {
    int fds[2];
    REQUIRE(pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    if (read_end >= 0) close(read_end);
    if (write_end >= 0) close(write_end);
  }
  std::string read_all() {
    std::string out;
    char buf[65536];
    for (ssize_t n; (n = read(read_end, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    return out;
  }
};

}  // namespace

TEST_CASE("what a full terminal cannot take waits, in order, and goes out when it can") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  Pipe p;
  {
    TtyWriter w(&loop, p.write_end);
    int drained = 0;
    w.on_drained = [&] { ++drained; };
    std::string sent;
    // More than the pipe holds: the rest must wait, not vanish.
    for (int i = 0; i < 40; ++i) {
      const std::string frame(10'000, static_cast<char>('a' + i % 26));
      w.write(frame);
      sent += frame;
    }
    CHECK(w.busy());
    std::string got = p.read_all();
    while (w.busy()) {
      uv_run(&loop, UV_RUN_ONCE);
      got += p.read_all();
    }
    got += p.read_all();
    CHECK(got == sent);
    CHECK(drained >= 1);
    CHECK_FALSE(w.gone());
    w.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}

TEST_CASE("a terminal that is gone is not written to") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  Pipe p;
  signal(SIGPIPE, SIG_IGN);
  {
    TtyWriter w(&loop, p.write_end);
    close(p.read_end);
    p.read_end = -1;
    w.write("hello");
    CHECK(w.gone());
    CHECK_FALSE(w.busy());
    w.drain();  // returns at once
    w.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}
