"""Shared pieces of the history pager benchmarks (pager_pages,
pager_search): a session holding LINES lines of history ("L0000001",
"L0000002", ...) in roam and in tmux, clients reading it through the pager
(roam's Ctrl-^ [) or tmux copy-mode (in mosh-client through the impairment
relay, or a local tmux client), and predicates on what their screens show.
Python 3 stdlib only, on top of benchlib.py and badnetlib.py.
"""

import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import benchlib as B  # noqa: E402
import badnetlib as N  # noqa: E402

COLS, ROWS = 80, 24
SESSION = "bench"
DONE = "FILL-DONE"


def line_text(n):
    """What history line n (1-based, as seq counts) shows."""
    return f"L{n:07d}"


def fill_argv(lines):
    """The session's program: LINES numbered lines, a marker, then it stays
    (an ended session's history would go with it)."""
    # %07.0f, not %07g: %g turns 1000000 into 1e+06.
    return ["sh", "-c", f"seq -f L%07.0f 1 {lines}; echo {DONE}; exec sleep 1000000"]


# ---------------------------------------------------------------- screens


def row_number(screen, y):
    """The number a row starting with Lnnnnnnn shows, or None."""
    t = screen.text(y)
    if len(t) >= 8 and t[0] == "L" and t[1:8].isdigit() and (len(t) == 8 or not t[8].isdigit()):
        return int(t[1:8])
    return None


def shows_from(screen, first, rows):
    """Rows [0, rows) show lines first, first + 1, ..."""
    return all(row_number(screen, y) == first + y for y in range(rows))


def top_number(screen):
    return row_number(screen, 0)


# ---------------------------------------------------------------- roam


class RoamPager:
    """A roam daemon with one session holding the history; clients attach
    to it through the impairment relay, each with its own attachment."""
    name = "roam"
    view_rows = ROWS - 1  # the pager's status line is the bottom row

    def __init__(self, build, work, lines):
        self.build, self.work, self.lines = build, work, lines
        self.roam = B.Roam(build, work, "pager")
        B.run([self.roam.server, "new", SESSION, "--size", f"{COLS}x{ROWS}", "--", *fill_argv(lines)],
              self.roam.env)
        self.roam._note_daemon()
        self.n = 0

    def fill(self):
        """Waits until the session has printed everything; returns seconds."""
        t0 = time.monotonic()
        B.wait_for(lambda: DONE in B.run([self.roam.server, "history", SESSION, "--lines", "2"], self.roam.env),
                   "the roam session's history to fill", timeout=240, step=0.2)
        B.wait_quiet([self.roam.daemon])
        last = B.run([self.roam.server, "history", SESSION, "--lines", "2"], self.roam.env).split()
        if last != [line_text(self.lines), DONE]:
            raise B.BenchError(f"roam's history ends with {last}")
        return time.monotonic() - t0

    def info(self):
        out = B.run([self.roam.server, "info"], self.roam.env)
        return {k: int(v) for k, v in (l.split(": ", 1) for l in out.splitlines() if ": " in l)
                if v.strip().isdigit()}

    def connect(self, delay, options=()):
        """A new attachment and `roam [OPTIONS] connect` through a relay
        with --delay."""
        self.n += 1
        out = B.run([self.roam.server, "attach", SESSION, "--size", f"{COLS}x{ROWS}"], self.roam.env)
        f = out.split()
        if len(f) < 5 or f[:2] != ["ROAM", "CONNECT"]:
            raise B.BenchError(f"roam-server attach printed {out!r}")
        relay = N.ImpairRelay(self.build, self.work, f"roam{self.n}", int(f[2]), ["--delay", delay])
        env = dict(self.roam.env, ROAM_CONN_ID=f[3], ROAM_KEY=f[4])
        client = B.PtyClient([self.roam.client, *options, "connect", "127.0.0.1", str(relay.port)], env,
                             COLS, ROWS, screen=True)
        return Side(self, client, relay, [self.roam.daemon])

    # Keys, and what the screen shows when their effect is drawn.
    def enter_keys(self):
        return "\x1e["

    def entered(self, s):
        st = s.text(ROWS - 1)
        return " of " in st and "q quit" in st and "loading" not in st and \
            any(s.text(y) == DONE for y in range(self.view_rows))

    def page_ready(self, s):
        return "loading" not in s.text(ROWS - 1) and "searching" not in s.text(ROWS - 1)

    def exit_keys(self):
        return "q"

    def left(self, s):
        return " of " not in s.text(ROWS - 1) and s.text(ROWS - 2) == DONE

    page_step = ROWS - 1  # PgUp/PgDn move the view by the view's height

    def prompt_shown(self, s, text):
        return s.text(ROWS - 1) == text

    def stop(self):
        self.roam.kill(SESSION)
        self.roam.stop()


# ---------------------------------------------------------------- tmux


class TmuxServer:
    """A tmux server on its own socket and config, with the session holding
    the history: vi copy-mode keys (g, G, / and ? as in less and roam's
    pager), history-limit above LINES, status off so the pane is 80x24."""

    def __init__(self, work, lines):
        self.sock = os.path.join(work, "tmux.sock")
        conf = os.path.join(work, "tmux.conf")
        with open(conf, "w") as f:
            f.write(f"set -g status off\nset -g default-size {COLS}x{ROWS}\nset -g default-shell /bin/sh\n"
                    f"set -g history-limit {max(1000000, lines + 10000)}\nset -g mode-keys vi\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUX", "LC_"))}
        self.env.update(TMUX_TMPDIR=work, LANG=B.UTF8, TERM="xterm-256color")
        self.tmux = ["tmux", "-S", self.sock, "-f", conf]
        self.lines = lines
        self.pids = []
        B.cleanups.append(self.stop)
        B.run(self.tmux + ["new-session", "-d", "-s", SESSION, "-x", str(COLS), "-y", str(ROWS),
                           " ".join(f"'{a}'" for a in fill_argv(lines))], self.env)
        self.server = int(B.run(self.tmux + ["display", "-p", "-t", SESSION, "#{pid}"], self.env))
        self.pids.append(self.server)

    def fill(self):
        t0 = time.monotonic()
        B.wait_for(lambda: DONE in B.run(self.tmux + ["capture-pane", "-p", "-t", SESSION], self.env),
                   "the tmux session's history to fill", timeout=240, step=0.2)
        B.wait_quiet([self.server])
        size = int(B.run(self.tmux + ["display", "-p", "-t", SESSION, "#{history_size}"], self.env))
        first = B.run(self.tmux + ["capture-pane", "-p", "-t", SESSION, "-S", "-", "-E", f"-{size - 1}"],
                      self.env).split()
        if not first or first[0] != line_text(1):
            raise B.BenchError(f"tmux's history starts with {first[:1]} ({size} lines)")
        self.pids.extend(B.descendants(self.server))
        return time.monotonic() - t0

    def rss_mib(self):
        with open(f"/proc/{self.server}/status") as f:
            for l in f:
                if l.startswith("VmRSS:"):
                    return int(l.split()[1]) / 1024
        return 0.0

    def in_copy_mode(self):
        return B.run(self.tmux + ["display", "-p", "-t", SESSION, "#{pane_in_mode}"], self.env).strip() == "1"

    def stop(self):
        subprocess.run(self.tmux + ["kill-server"], env=self.env, capture_output=True, timeout=10)
        for pid in self.pids:
            B.stop_pid(pid)
        if self.stop in B.cleanups:
            B.cleanups.remove(self.stop)


class TmuxCopyMode:
    """How tmux copy-mode is driven and read, through any client."""
    view_rows = ROWS  # status off: the whole pane is the view

    def enter_keys(self):
        return "\x02["  # C-b [

    def entered(self, s):
        # The position indicator "[0/N]" at the right of the top row.
        t = s.text(0)
        return t.endswith("]") and "[0/" in t and any(s.text(y) == DONE for y in range(ROWS))

    def page_ready(self, s):
        return True

    def exit_keys(self):
        return "q"

    def left(self, s):
        return "[" not in s.text(0) and s.text(ROWS - 2) == DONE

    page_step = ROWS - 2  # tmux's page-up/page-down keep two lines

    def prompt_shown(self, s, text):
        # vi keys: "(search up) TEXT" on the bottom row for ?TEXT.
        want = ("(search up) " if text[0] == "?" else "(search down) ") + text[1:]
        return s.text(ROWS - 1) == want.rstrip()


class TmuxInMosh(TmuxCopyMode):
    """mosh-server running `tmux attach` on the tmux server, mosh-client
    (default prediction) through the impairment relay."""
    name = "tmux in mosh"

    def __init__(self, build, work, server):
        self.build, self.work, self.server = build, work, server
        self.n = 0

    def connect(self, delay):
        self.n += 1
        m = B.Mosh(["env", f"TMUX_TMPDIR={self.work}", *self.server.tmux, "attach", "-t", SESSION])
        relay = N.ImpairRelay(self.build, self.work, f"mosh{self.n}", m.port, ["--delay", delay])
        client = m.connect(screen=True, host_port=relay.port)
        side = Side(self, client, relay, [m.pid], mosh=m)
        return side


class TmuxLocal(TmuxCopyMode):
    """`tmux attach` on the same machine (no network)."""
    name = "tmux local"

    def __init__(self, server):
        self.server = server

    def connect(self, delay):
        assert delay == 0
        client = B.PtyClient([*self.server.tmux, "attach", "-t", SESSION], self.server.env, COLS, ROWS, screen=True)
        return Side(self, client, None, [self.server.server])


class Side:
    """One client attached, with its relay (if any) and the processes whose
    CPU time tells when everything is idle."""

    def __init__(self, tool, client, relay, server_pids, mosh=None):
        self.tool, self.client, self.relay, self.mosh = tool, client, relay, mosh
        self.server_pids = [p for p in server_pids if p]
        self.s = client.screen

    def settle(self, quiet=0.3, timeout=60.0):
        """Reads until, for `quiet` seconds, the client wrote nothing and
        neither it nor the servers used CPU time."""
        pids = self.server_pids + [self.client.pid]
        deadline = time.perf_counter() + timeout
        last = [B.cpu_seconds(p) for p in pids]
        since = time.perf_counter()
        while time.perf_counter() - since < quiet:
            if time.perf_counter() > deadline:
                raise B.BenchError(f"{self.tool.name}: never went quiet")
            got = self.client.pump(B.POLL)
            now = [B.cpu_seconds(p) for p in pids]
            if got is not None or now != last:
                last, since = now, time.perf_counter()

    def timed(self, keys, pred, what, timeout=60.0):
        """Writes keys; returns seconds from the write to the read after which
        pred(screen) holds."""
        t0 = self.client.write(keys)
        t1 = self.client.wait(lambda: pred(self.s), what, timeout)
        return t1 - t0

    def close(self):
        self.client.close()
        if self.mosh:
            self.mosh.stop()
        if self.relay:
            self.relay.close()


# ---------------------------------------------------------------- output


def summary(xs):
    return B.median(xs), B.pct(xs, 90), min(xs), max(xs)


def ms(x):
    return f"{x * 1000:8.1f}"


def check_tools(build):
    N.check_tools(build)
    if not shutil.which("tmux"):
        sys.exit("tmux is not installed (apt-get install -y tmux)")
