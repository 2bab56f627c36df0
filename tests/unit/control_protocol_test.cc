#include "server/control_protocol.h"

#include <doctest/doctest.h>

#include <random>

using namespace roam;
using namespace roam::server;

namespace {

std::vector<uint8_t> frame_of(const Request& r) {
  std::vector<uint8_t> out;
  encode(r, out);
  return out;
}

std::vector<uint8_t> frame_of(const Response& r) {
  std::vector<uint8_t> out;
  encode(r, out);
  return out;
}

std::span<const uint8_t> body(const std::vector<uint8_t>& frame) {
  auto f = next_frame(frame, 1 << 20);
  REQUIRE(f);
  REQUIRE(*f);
  CHECK((*f)->consumed == frame.size());
  return (*f)->body;
}

}  // namespace

TEST_CASE("every request kind round trips") {
  Request attach(Request::Kind::attach);
  attach.name = "work";
  attach.cols = 132;
  attach.rows = 43;
  attach.cwd = "/home/me";
  attach.argv = {"vim", "a file"};
  attach.port_low = 61000;
  attach.port_high = 61010;
  auto a = decode_request(body(frame_of(attach)));
  REQUIRE(a);
  CHECK(a->kind == Request::Kind::attach);
  CHECK(a->name == "work");
  CHECK(a->cols == 132);
  CHECK(a->rows == 43);
  CHECK(a->cwd == "/home/me");
  CHECK(a->argv == std::vector<std::string>{"vim", "a file"});
  CHECK(a->port_low == 61000);
  CHECK(a->port_high == 61010);

  Request history(Request::Kind::history);
  history.name = "h";
  history.lines = 50;
  history.grep = "needle";
  history.ansi = true;
  history.ignore_case = true;
  auto h = decode_request(body(frame_of(history)));
  REQUIRE(h);
  CHECK(h->lines == 50);
  CHECK(h->grep == "needle");
  CHECK(h->ansi);
  CHECK(h->ignore_case);

  Request rename(Request::Kind::rename);
  rename.name = "old";
  rename.new_name = "new";
  auto n = decode_request(body(frame_of(rename)));
  REQUIRE(n);
  CHECK(n->new_name == "new");
  for (auto kind : {Request::Kind::list, Request::Kind::info, Request::Kind::kill, Request::Kind::new_session,
                    Request::Kind::kill_ended}) {
    auto d = decode_request(body(frame_of(Request(kind))));
    REQUIRE(d);
    CHECK(d->kind == kind);
  }
}

TEST_CASE("every response kind round trips") {
  Response sessions(Response::Kind::sessions);
  SessionInfo s;
  s.name = "work";
  s.cols = 80;
  s.rows = 24;
  s.created = 1700000000;
  s.last_activity = 1700000100;
  s.clients = 2;
  s.stale_clients = 1;
  s.command = "/bin/bash";
  s.exit_status = 3;
  s.history_lines = 1'000'000;
  s.history_dropped = 499'977;
  sessions.sessions = {s, SessionInfo{}};
  auto r = decode_response(body(frame_of(sessions)));
  REQUIRE(r);
  REQUIRE(r->sessions.size() == 2);
  CHECK(r->sessions[0].name == "work");
  CHECK(r->sessions[0].clients == 2);
  CHECK(r->sessions[0].stale_clients == 1);
  CHECK(r->sessions[0].exit_status == 3);
  CHECK(r->sessions[0].history_lines == 1'000'000);
  CHECK(r->sessions[0].history_dropped == 499'977);
  CHECK_FALSE(r->sessions[1].exit_status);
  CHECK(r->sessions[1].history_dropped == 0);

  Response info(Response::Kind::info);
  info.info.pid = 42;
  info.info.version = "0.1.0";
  info.info.udp_port = 60001;
  info.info.counters = {{"dropped_auth", 7}, {"attachments", 1}};
  auto i = decode_response(body(frame_of(info)));
  REQUIRE(i);
  CHECK(i->info.pid == 42);
  CHECK(i->info.counters == info.info.counters);

  Response connect(Response::Kind::connect);
  connect.connect = {60001, 0xabcdef, "AAECAwQFBgcICQoLDA0ODw", 4321};
  auto c = decode_response(body(frame_of(connect)));
  REQUIRE(c);
  CHECK(c->connect.port == 60001);
  CHECK(c->connect.conn_id == 0xabcdef);
  CHECK(c->connect.key == "AAECAwQFBgcICQoLDA0ODw");
  CHECK(c->connect.daemon_pid == 4321);

  auto e = decode_response(body(frame_of(Response(Response::Kind::error, "no session named 'x'"))));
  REQUIRE(e);
  CHECK(e->text == "no session named 'x'");
}

TEST_CASE("truncated, trailing, unknown and other-version bodies are refused") {
  Request attach(Request::Kind::attach);
  attach.name = "work";
  attach.argv = {"a", "b"};
  const auto frame = frame_of(attach);
  const auto b = body(frame);
  for (size_t n = 0; n < b.size(); ++n) CHECK_FALSE(decode_request(b.first(n)));
  std::vector<uint8_t> longer(b.begin(), b.end());
  longer.push_back(0);
  CHECK_FALSE(decode_request(longer));
  std::vector<uint8_t> other(b.begin(), b.end());
  other[0] = control_version + 1;
  CHECK(decode_request(other).error() == Errc::bad_version);
  CHECK(body_version(other) == control_version + 1);
  other[0] = control_version;
  other[1] = 99;
  CHECK(decode_request(other).error() == Errc::malformed);
}

TEST_CASE("frames: waiting for more bytes, and refusing a length over the limit before reading it") {
  const auto frame = frame_of(Request(Request::Kind::list));
  for (size_t n = 0; n < frame.size(); ++n) {
    auto f = next_frame(std::span(frame).first(n), 1024);
    REQUIRE(f);
    CHECK_FALSE(*f);
  }
  const std::vector<uint8_t> huge{0xff, 0xff, 0xff, 0xff, 1, 2};
  CHECK(next_frame(huge, max_request_size).error() == Errc::too_large);
}

TEST_CASE("random bodies never crash the decoders") {
  std::mt19937_64 rng(21);
  for (int i = 0; i < 100000; ++i) {
    std::vector<uint8_t> in(rng() % 64);
    for (auto& byte : in) byte = static_cast<uint8_t>(rng());
    if (!in.empty()) in[0] = control_version;
    if (in.size() > 1) in[1] = static_cast<uint8_t>(1 + rng() % 7);
    (void)decode_request(in);
    (void)decode_response(in);
  }
  CHECK(true);
}
