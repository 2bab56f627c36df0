"""Shared pieces of the bad-network benchmarks (resume_rebind, resume_outage,
loss_typing, flood_interrupt): the impairment relay (tests/tools/relay) in
its own process, and a roam or mosh session whose client talks to its server
through that relay. Python 3 stdlib only, on top of benchlib.py.
"""

import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import benchlib as B  # noqa: E402


class ImpairRelay:
    """tests/tools/relay forwarding 127.0.0.1:port (the relay's listen port,
    .port) to 127.0.0.1:server_port, with `args` (e.g. ["--delay", "50"])
    and a control socket for ctl()."""

    def __init__(self, build, work, tag, server_port, args=()):
        self.bin = os.path.join(build, "tests", "tools", "relay")
        self.port_file = os.path.join(work, f"relay-{tag}.port")
        self.control = os.path.join(work, f"relay-{tag}.sock")
        self.stats_file = os.path.join(work, f"relay-{tag}.json")
        self.trace_file = os.path.join(work, f"relay-{tag}.trace")
        self.log = open(os.path.join(work, f"relay-{tag}.log"), "w")
        argv = [self.bin, "--server", f"127.0.0.1:{server_port}", "--port-file", self.port_file,
                "--control", self.control, "--stats", self.stats_file, "--trace", self.trace_file,
                *map(str, args)]
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        B.cleanups.append(self.close)
        B.wait_for(lambda: os.path.exists(self.port_file) and open(self.port_file).read().strip()
                   and os.path.exists(self.control), "the relay's port file", timeout=10)
        self.port = int(open(self.port_file).read().strip())

    def ctl(self, action):
        """Sends one action; returns the reply line (raises on "error:")."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.control)
            s.sendall(action.encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                d = s.recv(4096)
                if not d:
                    break
                buf += d
        finally:
            s.close()
        reply = buf.decode().strip()
        if reply.startswith("error"):
            raise B.BenchError(f"relay {action!r}: {reply!r}")
        return reply

    def stats(self):
        import json
        return json.loads(self.ctl("stats"))

    def trace(self):
        """The datagrams the relay saw, after close(): (perf_counter seconds,
        "up"/"down", bytes, copies delivered; 0 = dropped), in order."""
        out = []
        with open(self.trace_file) as f:
            for line in f:
                t, d, n, c = line.split()
                out.append((float(t), d, int(n), int(c)))
        return out

    def close(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        if self.close in B.cleanups:
            B.cleanups.remove(self.close)


class RoamSide:
    """A fresh roam daemon with one session, its client (prediction off, as
    mosh's below) through a relay."""
    name = "roam"

    def __init__(self, build, work, tag, argv, relay_args, session="bench"):
        self.roam = B.Roam(build, work, tag)
        self.session = session
        port, cid, key = self.roam.attach(session, argv)
        self.relay = ImpairRelay(build, work, f"roam-{tag}", port, relay_args)
        self.client = self.roam.connect(port, cid, key, screen=True, host_port=self.relay.port, predict="never")

    def close(self):
        self.client.close()
        self.relay.close()
        self.roam.kill(self.session)
        self.roam.stop()


class MoshSide:
    """A fresh mosh-server with one session, mosh-client (prediction off)
    through a relay."""
    name = "mosh"

    def __init__(self, build, work, tag, argv, relay_args):
        self.mosh = B.Mosh(argv, predict="never")
        self.relay = ImpairRelay(build, work, f"mosh-{tag}", self.mosh.port, relay_args)
        self.client = self.mosh.connect(screen=True, host_port=self.relay.port)

    def close(self):
        self.client.close()
        self.relay.close()
        self.mosh.stop()


def start(kind, build, work, tag, argv, relay_args):
    return (RoamSide if kind == "roam" else MoshSide)(build, work, tag, argv, relay_args)


def check_tools(build):
    for prog in ("roam", "roam-server", os.path.join("tests", "tools", "relay")):
        if not os.access(os.path.join(build, prog), os.X_OK):
            sys.exit(f"no {build}/{prog}: build it with meson compile -C BUILD roam roam-server tests/tools/relay")
    import shutil
    for prog in ("mosh-server", "mosh-client", "bash"):
        if not shutil.which(prog):
            sys.exit(f"{prog} is not installed")


def verdict(roam, mosh, unit="s", fmt="{:.3f}"):
    """'met' / 'MISSED' line for the target roam <= mosh."""
    met = roam <= mosh
    ratio = roam / mosh if mosh else float("inf")
    return met, (f"roam {fmt.format(roam)} {unit} vs mosh {fmt.format(mosh)} {unit}, "
                 f"roam/mosh {ratio:.2f}; target roam <= mosh: {'met' if met else 'MISSED'}")


def prompt_shell(ps1="$ "):
    return ["env", f"PS1={ps1}", "INPUTRC=/dev/null", "HISTFILE=/dev/null", f"LANG={B.UTF8}",
            "bash", "--norc", "--noprofile", "-i"]


def main_wrapper(body):
    """Runs body(work) with signals installed, a temp dir and cleanup."""
    import shutil
    import tempfile
    B.install_signals()
    work = tempfile.mkdtemp(prefix="roam-badnet-")
    B.cleanups.append(lambda: shutil.rmtree(work, ignore_errors=True))
    try:
        return body(work)
    except B.BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        B.cleanup()
