"""Shared pieces of the attach-over-UDP benchmarks (flood, wire_bytes,
echo_latency, attach_latency): /proc polling, cleanup, clients in
pseudo-terminals, a small screen model of what a client draws, roam and mosh
servers, and a counting UDP relay. Python 3 stdlib only; imported by the
scripts beside it (which set sys.dont_write_bytecode so nothing is written
into the tree).
"""

import codecs
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
POLL = 0.02        # seconds between /proc polls
QUIET = 0.25       # CPU unchanged this long = the process is idle
TIMEOUT = 120.0    # per wait
UTF8 = "C.UTF-8"   # mosh refuses non-UTF-8 locales; roam gets the same


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- /proc


def proc_stat(pid):
    """(state, ppid, cpu seconds) of pid, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = s[s.rfind(")") + 2:].split()
    return rest[0], int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK


def cpu_seconds(pid):
    st = proc_stat(pid)
    if st is None:
        raise BenchError(f"process {pid} is gone")
    return st[2]


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def children(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st and st[1] == pid:
                out.append(int(name))
    return out


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        for c in children(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


def wait_for(pred, what, timeout=TIMEOUT, step=POLL):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(step)


def wait_quiet(pids, pump=None, quiet=QUIET, timeout=TIMEOUT):
    """Waits until the CPU time of every pid has not changed for `quiet`
    seconds; returns their CPU seconds. `pump(seconds)` is called instead of
    sleeping (to keep draining a client's terminal)."""
    deadline = time.monotonic() + timeout
    last = [cpu_seconds(p) for p in pids]
    since = time.monotonic()
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise BenchError(f"processes {pids} never went idle")
        (pump or time.sleep)(POLL)
        now = [cpu_seconds(p) for p in pids]
        if now != last:
            last, since = now, time.monotonic()
    return last


def stop_pid(pid):
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        if not alive(pid):
            return


def run(argv, env, check=True, timeout=60):
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise BenchError(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


# ---------------------------------------------------------------- statistics


def median(xs):
    return statistics.median(xs)


def pct(xs, p):
    """The p-th percentile (nearest rank)."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


# ---------------------------------------------------------------- cleanup

cleanups = []  # callables, run last-in first-out


def cleanup():
    while cleanups:
        fn = cleanups.pop()
        try:
            fn()
        except Exception as e:  # keep cleaning
            print(f"cleanup: {e}", file=sys.stderr)


def on_signal(sig, frame):
    raise SystemExit(128 + sig)


def install_signals():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)


def load_terminal_throughput():
    """tests/bench/terminal_throughput as a module (for its file generator)."""
    import importlib.machinery
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "terminal_throughput")
    loader = importlib.machinery.SourceFileLoader("terminal_throughput", path)
    spec = importlib.util.spec_from_loader("terminal_throughput", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------- screen model


class Screen:
    """The grid a client's output paints, enough for what the roam and mosh
    clients emit (cursor motion, erase, scroll regions, SU/SD, IL/DL, ICH/DCH,
    ECH, REP, deferred wrap). Attributes, modes and titles are ignored; every
    character is one column wide. The clients' terminals are in raw mode, so
    LF is a plain index."""

    def __init__(self, cols=80, rows=24):
        self.cols, self.rows = cols, rows
        self.grid = [[" "] * cols for _ in range(rows)]
        self.x = self.y = 0
        self.wrap = False
        self.top, self.bottom = 0, rows
        self.saved = (0, 0)
        self.last = " "
        self.state = 0  # 0 ground, 1 ESC, 2 CSI, 3 string (OSC/DCS...), 4 ESC in string, 5 skip one
        self.params = []
        self.dec = codecs.getincrementaldecoder("utf-8")("replace")

    def text(self, y):
        return "".join(self.grid[y]).rstrip()

    def dump(self):
        return "\n".join(self.text(y) for y in range(self.rows))

    def cursor_text(self):
        return "".join(self.grid[self.y][:self.x])

    def feed(self, data):
        for ch in self.dec.decode(data):
            self._ch(ch)

    def _blank(self):
        return [" "] * self.cols

    def _scroll_up(self, n, top=None):
        top = self.top if top is None else top
        n = min(n, self.bottom - top)
        del self.grid[top:top + n]
        for _ in range(n):
            self.grid.insert(self.bottom - n, self._blank())

    def _scroll_down(self, n, top=None):
        top = self.top if top is None else top
        n = min(n, self.bottom - top)
        del self.grid[self.bottom - n:self.bottom]
        for _ in range(n):
            self.grid.insert(top, self._blank())

    def _index(self):
        if self.y == self.bottom - 1:
            self._scroll_up(1)
        elif self.y < self.rows - 1:
            self.y += 1

    def _ch(self, ch):
        st = self.state
        o = ord(ch)
        if st == 0:
            if o >= 0x20 and o != 0x7f:
                if self.wrap:
                    self.x = 0
                    self._index()
                    self.wrap = False
                self.grid[self.y][self.x] = ch
                self.last = ch
                if self.x == self.cols - 1:
                    self.wrap = True
                else:
                    self.x += 1
            elif ch == "\x1b":
                self.state = 1
            elif ch == "\r":
                self.x, self.wrap = 0, False
            elif ch in "\n\x0b\x0c":
                self._index()
                self.wrap = False
            elif ch == "\b":
                self.x, self.wrap = max(0, self.x - 1), False
            elif ch == "\t":
                self.x = min(self.cols - 1, (self.x // 8 + 1) * 8)
            return
        if st == 1:
            self.state = 0
            if ch == "[":
                self.state, self.params = 2, []
            elif ch in "]PX^_":
                self.state = 3
            elif ch == "7":
                self.saved = (self.x, self.y)
            elif ch == "8":
                self.x, self.y = self.saved
                self.wrap = False
            elif ch == "M":
                if self.y == self.top:
                    self._scroll_down(1)
                elif self.y > 0:
                    self.y -= 1
            elif ch == "D":
                self._index()
            elif ch == "E":
                self.x = 0
                self._index()
            elif ch == "c":
                self.__init__(self.cols, self.rows)
            elif ch in "()*+#% ":
                self.state = 5
            return
        if st == 2:
            if 0x20 <= o <= 0x3f:
                self.params.append(ch)
            elif 0x40 <= o <= 0x7e:
                self.state = 0
                self._csi(ch, "".join(self.params))
            elif ch == "\x1b":
                self.state = 1
            elif ch in "\x18\x1a":
                self.state = 0
            return
        if st == 3:
            if ch == "\x07":
                self.state = 0
            elif ch == "\x1b":
                self.state = 4
            return
        if st == 4:
            self.state = 0 if ch == "\\" else 3
            return
        if st == 5:
            self.state = 0

    def _csi(self, final, p):
        self.wrap = False
        if p[:1] in ("?", ">", "<", "=") or any(c in p for c in " !\"$'"):
            return  # modes, cursor style, queries: nothing on the grid
        nums = []
        for f in p.split(";"):
            f = f.split(":")[0]
            nums.append(int(f) if f.isdigit() else 0)

        def n(i, default=1):
            v = nums[i] if i < len(nums) else 0
            return v or default

        cols, rows = self.cols, self.rows
        row = self.grid[self.y]
        if final in "Hf":
            self.y = min(rows, n(0)) - 1
            self.x = min(cols, n(1)) - 1
        elif final == "A":
            lim = self.top if self.y >= self.top else 0
            self.y = max(lim, self.y - n(0))
        elif final in "Be":
            lim = self.bottom - 1 if self.y < self.bottom else rows - 1
            self.y = min(lim, self.y + n(0))
        elif final in "Ca":
            self.x = min(cols - 1, self.x + n(0))
        elif final == "D":
            self.x = max(0, self.x - n(0))
        elif final == "E":
            self.y, self.x = min(rows - 1, self.y + n(0)), 0
        elif final == "F":
            self.y, self.x = max(0, self.y - n(0)), 0
        elif final in "G`":
            self.x = min(cols, n(0)) - 1
        elif final == "d":
            self.y = min(rows, n(0)) - 1
        elif final == "K":
            m = n(0, 0)
            a, b = ((self.x, cols), (0, self.x + 1), (0, cols))[m] if m < 3 else (0, 0)
            row[a:b] = [" "] * (b - a)
        elif final == "J":
            m = n(0, 0)
            if m == 0:
                row[self.x:] = [" "] * (cols - self.x)
                for y in range(self.y + 1, rows):
                    self.grid[y] = self._blank()
            elif m == 1:
                row[:self.x + 1] = [" "] * (self.x + 1)
                for y in range(0, self.y):
                    self.grid[y] = self._blank()
            else:
                self.grid = [self._blank() for _ in range(rows)]
        elif final == "X":
            k = min(n(0), cols - self.x)
            row[self.x:self.x + k] = [" "] * k
        elif final == "@":
            k = min(n(0), cols - self.x)
            row[self.x:self.x] = [" "] * k
            del row[cols:]
        elif final == "P":
            k = min(n(0), cols - self.x)
            del row[self.x:self.x + k]
            row.extend([" "] * k)
        elif final == "L":
            if self.top <= self.y < self.bottom:
                self._scroll_down(n(0), top=self.y)
                self.x = 0
        elif final == "M":
            if self.top <= self.y < self.bottom:
                self._scroll_up(n(0), top=self.y)
                self.x = 0
        elif final == "S":
            self._scroll_up(n(0))
        elif final == "T":
            self._scroll_down(n(0))
        elif final == "r":
            top, bottom = n(0) - 1, min(rows, n(1, rows))
            if bottom - top >= 2:
                self.top, self.bottom = top, bottom
            self.x = self.y = 0
        elif final == "b":
            for _ in range(n(0)):
                self._ch(self.last)
        elif final == "s":
            self.saved = (self.x, self.y)
        elif final == "u":
            self.x, self.y = self.saved


# ---------------------------------------------------------------- clients in ptys


class PtyClient:
    """A program on its own pseudo-terminal (cols x rows); everything it
    writes is drained from the master, counted, kept (for marker searches)
    and optionally fed to a Screen."""

    def __init__(self, argv, env, cols=80, rows=24, screen=False):
        prog = shutil.which(argv[0], path=env.get("PATH"))
        if not prog:
            raise BenchError(f"{argv[0]} not found")
        winsize = struct.pack("HHHH", rows, cols, 0, 0)
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: size the terminal, then become the program
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, winsize)
                os.execve(prog, argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.argv = argv
        self.out = bytearray()
        self.screen = Screen(cols, rows) if screen else None
        self.eof = False
        self.status = None
        self.last_read = self.started
        cleanups.append(self.close)

    def pump(self, seconds=0.0):
        """Reads what the program writes for `seconds` (at least once, without
        blocking when 0); returns the time of the last read or None."""
        deadline = time.perf_counter() + seconds
        got = None
        while not self.eof:
            left = deadline - time.perf_counter()
            r, _, _ = select.select([self.fd], [], [], max(0.0, left))
            if r:
                t = self._read()
                if t:
                    got = t
                    continue
            if time.perf_counter() >= deadline:
                break
        if self.eof and seconds:
            time.sleep(max(0.0, deadline - time.perf_counter()))
        return got

    def _read(self):
        try:
            data = os.read(self.fd, 1 << 16)
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return None
        t = time.perf_counter()
        self.last_read = t
        self.out += data
        if self.screen:
            self.screen.feed(data)
        return t

    def wait(self, pred, what, timeout=30.0):
        """Reads until pred() holds; returns the time of the read after which
        it did (perf_counter), or of the call if it already held."""
        if pred():
            return time.perf_counter()
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0 or self.eof:
                tail = self.screen.dump() if self.screen else bytes(self.out[-600:])
                raise BenchError(f"{self.argv[0]}: {'exited' if self.eof else 'timed out'} "
                                 f"waiting for {what}; its screen:\n{tail}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                t = self._read()
                if t and pred():
                    return t

    def wait_marker(self, marker, since=0, timeout=60.0):
        """Waits for bytes `marker` in the output after offset `since`."""
        m = marker.encode() if isinstance(marker, str) else marker
        pos = [since]

        def found():
            i = self.out.find(m, max(since, pos[0] - len(m)))
            pos[0] = len(self.out)
            return i >= 0
        return self.wait(found, repr(marker), timeout)

    def settle(self, quiet=0.15, timeout=5.0):
        """Reads until nothing came for `quiet` seconds."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and not self.eof:
            if self.pump(quiet) is None:
                return

    def write(self, data):
        t = time.perf_counter()
        os.write(self.fd, data.encode() if isinstance(data, str) else data)
        return t

    def reap(self, timeout=5.0):
        """Waits for the program to exit (draining its output); returns its status."""
        deadline = time.perf_counter() + timeout
        while self.status is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = st
                break
            if time.perf_counter() > deadline:
                raise BenchError(f"{self.argv[0]} did not exit")
            self.pump(0.01)
        return self.status

    def close(self):
        if self.status is None:
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    pass
                deadline = time.perf_counter() + 2.0
                while time.perf_counter() < deadline:
                    pid, st = os.waitpid(self.pid, os.WNOHANG)
                    if pid:
                        self.status = st
                        break
                    time.sleep(0.01)
                if self.status is not None:
                    break
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.close in cleanups:
            cleanups.remove(self.close)


# ---------------------------------------------------------------- roam


class Roam:
    """A roam daemon in its own runtime directory."""

    def __init__(self, build, work, tag):
        self.build = build
        self.server = os.path.join(build, "roam-server")
        self.client = os.path.join(build, "roam")
        self.rt = os.path.join(work, f"roam-{tag}")
        self.env = dict(os.environ, ROAM_RUNTIME_DIR=self.rt, LANG=UTF8, TERM="xterm-256color")
        for k in ("ROAM_SESSION", "ROAM_CONN_ID", "ROAM_KEY", "LC_ALL"):
            self.env.pop(k, None)
        self.daemon = None
        self.pids = set()
        cleanups.append(self.stop)

    def attach(self, name, argv, size="80x24"):
        """roam-server attach: returns (port, conn id, key)."""
        out = run([self.server, "attach", name, "--size", size, "--", *argv], self.env)
        f = out.split()
        if len(f) < 5 or f[:2] != ["ROAM", "CONNECT"]:  # name=value fields may follow
            raise BenchError(f"roam-server attach printed {out!r}")
        self._note_daemon()
        return int(f[2]), f[3], f[4]

    def new(self, name, argv, size="80x24"):
        run([self.server, "new", name, "--size", size, "--", *argv], self.env)
        self._note_daemon()

    def _note_daemon(self):
        info = dict(l.split(": ", 1) for l in run([self.server, "info"], self.env).splitlines() if ": " in l)
        self.daemon = int(info["pid"])
        self.pids.add(self.daemon)
        self.pids.update(descendants(self.daemon))

    def connect(self, port, conn_id, key, screen=False, host_port=None, predict=None):
        """`roam connect` in a pty, to 127.0.0.1:port (or host_port: a relay);
        predict: ROAM_PREDICT (None: roam's default, adaptive)."""
        env = dict(self.env, ROAM_CONN_ID=conn_id, ROAM_KEY=key)
        if predict:
            env["ROAM_PREDICT"] = predict
        return PtyClient([self.client, "connect", "127.0.0.1", str(host_port or port)], env, screen=screen)

    def kill(self, name):
        run([self.server, "kill", name], self.env, check=False)

    def stop(self):
        """Ends the daemon and the sessions' programs; removes the runtime dir."""
        if self.daemon:
            self.pids.update(descendants(self.daemon))
            stop_pid(self.daemon)
        for pid in sorted(self.pids - {self.daemon}):
            stop_pid(pid)
        shutil.rmtree(self.rt, ignore_errors=True)
        self.daemon = None
        if self.stop in cleanups:
            cleanups.remove(self.stop)


# ---------------------------------------------------------------- mosh


def mosh_env(predict=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOSH_", "LC_"))}
    env.update(LANG=UTF8, TERM="xterm-256color")
    if predict:
        env["MOSH_PREDICTION_DISPLAY"] = predict
    return env


class Mosh:
    """One mosh-server (mosh-server new) and its session."""

    def __init__(self, argv, predict=None):
        self.env = mosh_env(predict)
        self.pid = None
        self.pids = set()
        cleanups.append(self.stop)
        p = subprocess.run(["mosh-server", "new", "-i", "127.0.0.1", "-c", "256", "-l", f"LANG={UTF8}",
                            "--", *argv], env=self.env, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        m = re.search(r"^MOSH CONNECT (\d+) (\S+)", p.stdout, re.M)
        d = re.search(r"detached, pid = (\d+)", p.stderr)
        if d:
            self.pid = int(d.group(1))
            self.pids.add(self.pid)
        if p.returncode != 0 or not m or not d:
            raise BenchError(f"mosh-server new failed ({p.returncode}): {p.stdout.strip()} {p.stderr.strip()}")
        self.port, self.key = int(m.group(1)), m.group(2)

    def connect(self, screen=False, host_port=None):
        env = dict(self.env, MOSH_KEY=self.key)
        return PtyClient(["mosh-client", "127.0.0.1", str(host_port or self.port)], env, screen=screen)

    def session_pid(self):
        """The session's program: mosh-server's child (after the client came)."""
        kids = children(self.pid)
        return kids[0] if len(kids) == 1 else None

    def stop(self):
        if self.pid:
            self.pids.update(descendants(self.pid))
            for pid in [self.pid] + sorted(self.pids - {self.pid}):
                stop_pid(pid)
            self.pid = None
        if self.stop in cleanups:
            cleanups.remove(self.stop)


def mosh_version():
    p = subprocess.run(["mosh-server", "--version"], capture_output=True, text=True)
    first = (p.stdout or p.stderr).splitlines()
    return first[0] if first else "mosh-server"


# ---------------------------------------------------------------- UDP relay

RELAY = r"""
import json, select, socket, sys
server_port = int(sys.argv[1])
front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
front.bind(("127.0.0.1", 0))
back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
back.connect(("127.0.0.1", server_port))
for s in (front, back):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
print(front.getsockname()[1], flush=True)
peer = None
c = {"up_bytes": 0, "up_packets": 0, "down_bytes": 0, "down_packets": 0}
stdin = sys.stdin.fileno()
while True:
    r, _, _ = select.select([front, back, stdin], [], [])
    if front in r:
        d, peer = front.recvfrom(65536)
        c["up_bytes"] += len(d); c["up_packets"] += 1
        back.send(d)
    if back in r:
        try:
            d = back.recv(65536)
        except ConnectionRefusedError:
            d = None
        if d is not None:
            c["down_bytes"] += len(d); c["down_packets"] += 1
            if peer:
                front.sendto(d, peer)
    if stdin in r:
        line = sys.stdin.readline()
        if not line:
            break
        print(json.dumps(c), flush=True)
"""


class UdpRelay:
    """A UDP relay in its own process: the client sends to relay.port, the
    relay forwards to the server's port from one socket and sends the replies
    back. counts() returns UDP payload bytes and datagrams per direction
    (up = client to server)."""

    def __init__(self, server_port):
        self.p = subprocess.Popen([sys.executable, "-c", RELAY, str(server_port)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        cleanups.append(self.close)
        self.port = int(self.p.stdout.readline())

    def counts(self):
        import json
        self.p.stdin.write("\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
                self.p.wait(timeout=3)
            except Exception:
                self.p.kill()
                self.p.wait()
        if self.close in cleanups:
            cleanups.remove(self.close)
