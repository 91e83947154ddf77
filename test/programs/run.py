#!/usr/bin/env python3
"""Real programs from Debian's packages, checkpointed and restored.

Each case starts an unmodified program the way a user runs it (ruby -e,
node -e, java with threads, a shell and sqlite3 under script(1), a tmux
server with a shell in it), in its own session, waits until it runs, dumps
its tree with `criu dump -t PID` (which kills it), restores it with
`criu restore -d` and checks that it goes on from where it was: the same
pids, its counters continuing without a gap, its output progressing, its
terminal answering.  See test/programs/README.md.

Usage: test/programs/run.py [--criu build/criu/criu] [-t GLOB]... [-x GLOB]... [-v]
                            [--keep] [-l] [--no-criu]
(as root)

Prints `PASS name`, `FAIL name: why` or `SKIP name: why` per case, then
`N passed, N failed, N skipped`; exits 1 if any case failed.  `-v` prints
to stderr, for each case, every descriptor its processes hold (from
/proc/PID/fd and fdinfo), their file locks and shared file mappings.
"""

import argparse
import ctypes
import fnmatch
import glob
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

libc = ctypes.CDLL(None, use_errno=True)
PR_SET_CHILD_SUBREAPER = 36
CRIT = "/usr/bin/crit"

CRIU = None
TMP = None
MYPID = os.getpid()
CRIU_TIMEOUT = 20
CASE_TIMEOUT = 30
VERBOSE = False
NO_CRIU = False


class CaseFail(Exception):
    """A case's check failed: the message says what was seen."""


class CaseSkip(Exception):
    pass


class CaseTimeout(BaseException):
    """Raised by SIGALRM when a case runs past CASE_TIMEOUT."""


# --------------------------------------------------------------------------
# /proc

def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st["state"] != "Z"


def proc_stat(pid):
    """state, ppid, pgrp, session and tty_nr of pid, or None."""
    s = read("/proc/%d/stat" % pid)
    if s is None:
        return None
    f = s[s.rindex(")") + 2:].split()
    return {"state": f[0], "ppid": int(f[1]), "pgrp": int(f[2]),
            "sid": int(f[3]), "tty": int(f[4]), "exit": int(f[49]) if len(f) > 49 else 0}


def exit_text(st):
    """How a zombie ended, from its wait status in /proc/PID/stat."""
    e = st["exit"]
    if os.WIFSIGNALED(e):
        return "killed by %s" % signal.Signals(os.WTERMSIG(e)).name
    return "exited %d" % os.WEXITSTATUS(e)


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def tree(root):
    """root and its descendants, parents first."""
    kids = {}
    for p in all_pids():
        st = proc_stat(p)
        if st:
            kids.setdefault(st["ppid"], []).append(p)
    out, todo = [], [root]
    while todo:
        p = todo.pop(0)
        if proc_stat(p) is None:
            continue
        out.append(p)
        todo += sorted(kids.get(p, []))
    return out


def comm(pid):
    return (read("/proc/%d/comm" % pid) or "?").strip()


def cmdline(pid):
    c = read("/proc/%d/cmdline" % pid, "rb") or b""
    return c.replace(b"\0", b" ").decode(errors="replace").strip()


def nthreads(pid):
    try:
        return len(os.listdir("/proc/%d/task" % pid))
    except OSError:
        return 0


FDINFO_SKIP = ("pos:", "mnt_id:", "ino:")


def unix_sockets():
    """inode -> description, from /proc/net/unix."""
    out = {}
    types = {"0001": "stream", "0002": "dgram", "0005": "seqpacket"}
    states = {"01": "unconnected", "03": "connected", "0A": "listening"}
    for l in (read("/proc/net/unix") or "").splitlines()[1:]:
        f = l.split()
        if len(f) >= 7:
            listening = f[3] == "00010000"
            d = "unix %s %s" % (types.get(f[4], f[4]),
                                "listening" if listening else states.get(f[5], f[5]))
            if len(f) > 7:
                d += " " + f[7]
            out[f[6]] = d
    return out


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}


def inet_addr(hexaddr):
    """ADDR:PORT of /proc/net/tcp (hex, host-endian words) as text."""
    a, port = hexaddr.split(":")
    raw = bytes.fromhex(a)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    if len(words) == 4:
        host = ".".join(str(b) for b in words)
    else:
        host = "[%s]" % ":".join(words[i:i + 2].hex() for i in range(0, 16, 2))
    return "%s:%d" % (host, int(port, 16))


def net_sockets(pid):
    """inode -> description of the inet, netlink and packet sockets in
    pid's net namespace, from /proc/PID/net/*."""
    out = {}
    for proto in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        for l in (read("/proc/%d/net/%s" % (pid, proto)) or "").splitlines()[1:]:
            f = l.split()
            if len(f) >= 10:
                st = TCP_STATES.get(f[3], f[3]) if proto.startswith("tcp") else "st " + f[3]
                out[f[9]] = "%s %s -> %s %s (tx/rx queue %s)" % (
                    proto, inet_addr(f[1]), inet_addr(f[2]), st, f[4])
    for l in (read("/proc/%d/net/netlink" % pid) or "").splitlines()[1:]:
        f = l.split()
        if len(f) >= 10:
            out[f[9]] = "netlink proto %s portid %s groups %s" % (f[1], f[2], f[3])
    for l in (read("/proc/%d/net/packet" % pid) or "").splitlines()[1:]:
        f = l.split()
        if len(f) >= 9:
            out[f[8]] = "packet type %s proto %s" % (f[2], f[3])
    return out


def sysvipc_table(pid, kind):
    """/proc/sysvipc/KIND as seen in pid's IPC namespace."""
    try:
        if os.readlink("/proc/%d/ns/ipc" % pid) == os.readlink("/proc/self/ns/ipc"):
            return read("/proc/sysvipc/" + kind) or ""
        r = subprocess.run(["nsenter", "-t", str(pid), "--ipc", "cat", "/proc/sysvipc/" + kind],
                           capture_output=True, timeout=5)
        return r.stdout.decode()
    except (OSError, subprocess.SubprocessError):
        return ""


def sysv_ipc(pids):
    """The SysV shm segments and message queues pids created or used last."""
    lines = []
    if not pids:
        return lines
    for kind, cols in (("shm", (4, 5)), ("msg", (6, 7))):
        text = sysvipc_table(pids[0], kind).splitlines()
        for l in text[1:]:
            f = l.split()
            if len(f) > max(cols) and any(int(f[c]) in pids for c in cols):
                lines.append("  sysv %s: %s" % (kind, " ".join(
                    "%s=%s" % kv for kv in zip(text[0].split(), f))))
    return lines


def fd_kind(link, st):
    """A short name for what an fd is."""
    if link.startswith("anon_inode:"):
        return link[len("anon_inode:"):].strip("[]")
    if link.startswith(("pipe:", "socket:")):
        return link.split(":")[0]
    if link == "/dev/ptmx" or link.startswith("/dev/pts/ptmx"):
        return "pty master"
    if link.startswith("/dev/pts/"):
        return "pty slave"
    if stat.S_ISFIFO(st.st_mode):
        return "fifo"
    if stat.S_ISCHR(st.st_mode):
        return "chardev " + link
    if stat.S_ISDIR(st.st_mode):
        return "directory"
    return "file"


def fd_inventory(pids):
    """What the processes hold: one line per fd, their file locks, their
    shared file mappings (a flock can live on in a mapping alone), and a
    count of each kind of fd."""
    lines, kinds, inodes = [], {}, {}
    socks = unix_sockets()
    for p in pids:
        socks.update(net_sockets(p))
    for p in pids:
        lines.append("pid %d %s (%d threads): %s" % (p, comm(p), nthreads(p), cmdline(p)[:100]))
        try:
            fds = sorted(os.listdir("/proc/%d/fd" % p), key=int)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink("/proc/%d/fd/%s" % (p, fd))
                st = os.stat("/proc/%d/fd/%s" % (p, fd))
            except OSError:
                continue
            inodes[st.st_ino] = link
            k = fd_kind(link, st)
            kinds[k] = kinds.get(k, 0) + 1
            info = read("/proc/%d/fdinfo/%s" % (p, fd)) or ""
            extra = [" ".join(l.split()) for l in info.splitlines()
                     if l and not l.startswith(FDINFO_SKIP)]
            if k == "socket":
                extra.append(socks.get(str(st.st_ino), "not unix, inet, netlink or packet"))
            lines.append("  fd %s -> %s  [%s]" % (fd, link, "; ".join(extra)))
        for l in (read("/proc/%d/maps" % p) or "").splitlines():
            f = l.split(None, 5)
            if len(f) == 6 and f[1][3] == "s" and f[5].startswith("/"):
                lines.append("  shared mapping %s %s %s" % (f[0], f[1], f[5]))
                inodes[int(f[4])] = f[5]
    for l in (read("/proc/locks") or "").splitlines():
        f = l.split()
        if len(f) > 5 and f[4].isdigit() and int(f[4]) in pids:
            ino = int(f[5].split(":")[2])
            lines.append("  lock: %s (%s)" % (" ".join(f[1:]), inodes.get(ino, "?")))
            kinds[f[1].lower() + " lock"] = kinds.get(f[1].lower() + " lock", 0) + 1
    sysv = sysv_ipc(pids)
    lines += sysv
    if sysv:
        kinds["sysv ipc"] = len(sysv)
    lines.append("kinds: " + ", ".join("%s x%d" % kv for kv in sorted(kinds.items())))
    return lines


def locks_of(pid):
    """The locks of /proc/locks held by pid: (type, mode, inode, start, end)."""
    out = []
    for l in (read("/proc/locks") or "").splitlines():
        f = l.split()
        if len(f) > 7 and f[4] == str(pid):
            out.append((f[1], f[3], f[5], f[6], f[7]))
    return sorted(out)


# --------------------------------------------------------------------------
# processes we start: every session started here is recorded, and at the
# end everything in those sessions is killed (and reaped: we are a child
# subreaper, so restored trees and daemons end up our children)

SESSIONS = set()
POPENS = {}
LOCK = threading.Lock()


def _waiter(p):
    p.wait()
    with LOCK:
        # the pid may come back, restored: then it is an orphan to reap
        del POPENS[p.pid]


def spawn(argv, stdin=None, stdout=None, env=None, cwd=None):
    """Start argv in a new session; stdin/stdout/stderr are files opened
    here (paths) or /dev/null; a thread reaps it as soon as it ends."""
    fin = open(stdin or "/dev/null", "rb")
    fout = open(stdout or "/dev/null", "ab")
    try:
        p = subprocess.Popen(argv, stdin=fin, stdout=fout, stderr=subprocess.STDOUT,
                             env=env, cwd=cwd or TMP, start_new_session=True,
                             close_fds=True)
    finally:
        fin.close()
        fout.close()
    with LOCK:
        POPENS[p.pid] = p
        SESSIONS.add(p.pid)
    threading.Thread(target=_waiter, args=(p,), daemon=True).start()
    return p.pid


def note_sessions(pids):
    with LOCK:
        for p in pids:
            st = proc_stat(p)
            if st:
                SESSIONS.add(st["sid"])


def my_zombies():
    out = []
    for p in all_pids():
        st = proc_stat(p)
        if st and st["ppid"] == MYPID and st["state"] == "Z":
            out.append(p)
    return out


def reap_orphans():
    """Reap zombies handed to us that no Popen owns."""
    for p in my_zombies():
        with LOCK:
            if p in POPENS:
                continue
        try:
            os.waitpid(p, os.WNOHANG)
        except ChildProcessError:
            pass


def wait_gone(pids, timeout=5.0):
    """Wait until none of pids exists (reaping what is ours); the ones left."""
    end = time.monotonic() + timeout
    while True:
        reap_orphans()
        left = [p for p in pids if proc_stat(p) is not None]
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.02)


def session_members():
    with LOCK:
        sids = set(SESSIONS)
    out = []
    for p in all_pids():
        st = proc_stat(p)
        if st and (st["sid"] in sids or st["ppid"] == MYPID) and p != MYPID:
            out.append(p)
    return out


def kill_everything():
    for _ in range(3):
        pids = session_members()
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        left = wait_gone(pids, 3)
        if not left:
            break
    with LOCK:
        # those sessions are gone: their ids may be some other process's later
        SESSIONS.clear()


def wait_for(what, cond, timeout, interval=0.05):
    """Poll cond() until it returns something true; CaseFail after timeout."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise CaseFail("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


# --------------------------------------------------------------------------
# running criu

class Run:
    def __init__(self, args, rc, err, log):
        self.args, self.rc, self.err, self.log = args, rc, err, log

    def line(self):
        """criu's stderr, on one line."""
        return " | ".join(self.err.strip().splitlines()) or "(no message)"

    def details(self):
        d = ["$ criu " + " ".join(self.args), "rc=%s" % self.rc]
        d += ["stderr: " + l for l in self.err.splitlines()]
        text = read(self.log) or ""
        errs = [l for l in text.splitlines() if "rror" in l]
        d += ["log: " + l for l in errs[:8]]
        d += ["log tail: " + l for l in text.splitlines()[-3:] if l not in errs[:8]]
        return d


def criu(args, log):
    args = list(args) + ["-o", log, "-v4"]
    p = subprocess.Popen([CRIU] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=TMP)
    try:
        _, err = p.communicate(timeout=CRIU_TIMEOUT)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        rc = "timeout after %ds" % CRIU_TIMEOUT
        err = b""
    finally:
        if p.returncode is None:
            p.kill()
            p.communicate()
    return Run(args, rc, err.decode(errors="replace"), log)


# --------------------------------------------------------------------------
# the cycle every case goes through

CURRENT = None


class Current:
    def __init__(self):
        self.details = []
        self.inventory = []
        self.note = ""


class Program:
    """One program: start() it, ready() when it runs, snapshot() what must
    survive, check() it after restore.  The runner does the rest."""
    name = None
    needs = ()                  # (binary, Debian package)
    criu_opts = []              # for both dump and restore

    def __init__(self):
        self.dir = os.path.join(TMP, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.root = None
        self.env = dict(os.environ, HOME=self.home(), LANG="C.UTF-8", LC_ALL="C.UTF-8")
        for k in ("TMUX", "TMUX_PANE", "PROMPT_COMMAND", "HISTFILE", "BASH_ENV", "ENV"):
            self.env.pop(k, None)

    def home(self):
        h = os.path.join(self.dir, "home")
        os.makedirs(h, exist_ok=True)
        return h

    def path(self, name):
        return os.path.join(self.dir, name)

    def transient(self, pid):
        """A process of the tree that may end by itself (sleep)."""
        return comm(pid) == "sleep"

    def before_dump(self):
        pass

    def after_dump(self):
        pass

    def cleanup(self):
        """After the program was killed: remove what it left outside TMP."""


def require(needs):
    for binary, pkg in needs:
        if shutil.which(binary) is None:
            raise CaseSkip("%s not installed (Debian package %s)" % (binary, pkg))


def dumped_threads(img):
    """{pid: [tids]} from the images' pstree.img (Debian's crit decodes it),
    or None without crit."""
    if not os.access(CRIT, os.X_OK):
        return None
    r = subprocess.run([CRIT, "show", os.path.join(img, "pstree.img")], capture_output=True,
                       timeout=10)
    if r.returncode:
        raise CaseFail("crit cannot decode pstree.img: %s" % r.stderr.decode()[-200:])
    return {e["pid"]: e.get("threads", [e["pid"]]) for e in json.loads(r.stdout)["entries"]}


def compare_tree(prog, before, threads):
    """What differs between the tree before dump and the restored one.
    Threads: every dumped tid is back (a JVM may start more of them)."""
    bad = []
    for p, (st, nt, cl, transient) in before.items():
        if transient and not alive(p):
            continue
        now = proc_stat(p)
        if now is None:
            bad.append("pid %d (%s) not restored" % (p, cl[:40]))
            continue
        if now["state"] == "Z":
            bad.append("pid %d (%s) %s right after restore" % (p, cl[:40], exit_text(now)))
            continue
        for k in ("ppid", "pgrp", "sid", "tty"):
            if now[k] != st[k]:
                bad.append("pid %d %s %s -> %s" % (p, k, st[k], now[k]))
        if threads is None:
            if nthreads(p) != nt:
                bad.append("pid %d has %d threads, had %d" % (p, nthreads(p), nt))
        else:
            tids = set(int(t) for t in os.listdir("/proc/%d/task" % p))
            lost = sorted(set(threads.get(p, [p])) - tids)
            if lost:
                bad.append("pid %d: dumped threads %s are not there" % (p, lost))
        if cmdline(p) != cl:
            bad.append("pid %d cmdline %r -> %r" % (p, cl, cmdline(p)))
    return bad


def cycle(prog):
    require(prog.needs)
    prog.start()
    wait_for("%s to run" % prog.name, prog.ready, 10)
    pids = tree(prog.root)
    note_sessions(pids)
    CURRENT.inventory = fd_inventory(pids)
    prog.before_dump()
    before = {p: (proc_stat(p), nthreads(p), cmdline(p), prog.transient(p)) for p in pids}
    img = prog.path("img")
    os.makedirs(img, exist_ok=True)

    if NO_CRIU:
        # the checks against a program never interrupted: they must hold
        prog.after_dump()
        prog.check()
        return
    run = criu(["dump", "-t", str(prog.root), "-D", img] + prog.criu_opts,
               os.path.join(img, "dump.log"))
    CURRENT.details = run.details()
    if run.rc != 0:
        why = "dump refused (rc %s): %s" % (run.rc, run.line())
        if not alive(prog.root):
            why += "; and the program is gone after the failed dump"
        else:
            try:
                prog.still_running()
            except CaseFail as e:
                why += "; and after the failed dump: %s" % e
        raise CaseFail(why)
    left = wait_gone(pids)
    if left:
        raise CaseFail("dump exited 0 but left %s running" % left)
    prog.after_dump()

    run = criu(["restore", "-D", img, "-d"] + prog.criu_opts, os.path.join(img, "restore.log"))
    CURRENT.details = run.details()
    if run.rc != 0:
        raise CaseFail("restore failed (rc %s): %s" % (run.rc, run.line()))
    bad = compare_tree(prog, before, dumped_threads(img))
    if bad:
        raise CaseFail("; ".join(bad))
    note_sessions(tree(prog.root))
    try:
        prog.check()
    except CaseFail as e:
        gone = ["%d (%s) %s" % (p, before[p][2].split()[0],
                                exit_text(proc_stat(p)) if proc_stat(p) else "gone")
                for p in before if not before[p][3] and not alive(p)]
        if gone:
            raise CaseFail("%s; by then restored pids had ended: %s" % (e, ", ".join(gone)))
        raise


# --------------------------------------------------------------------------
# counters: a program appends "N PID ..." lines to a file every 100 ms

def counter_lines(path):
    """The complete lines of a counter file, split."""
    data = read(path) or ""
    return [l.split() for l in data.split("\n")[:-1]]


class Counter(Program):
    """A program that appends `N PID [extra]` to out every 100 ms, N from 0."""

    def out(self):
        return self.path("out")

    def ready(self):
        return len(counter_lines(self.out())) >= 5

    def still_running(self):
        n = len(counter_lines(self.out()))
        wait_for("the counter to advance", lambda: len(counter_lines(self.out())) > n + 1, 5)

    def after_dump(self):
        self.last = len(counter_lines(self.out()))

    def check(self):
        wait_for("the counter to go on past %d after restore" % (self.last - 1),
                 lambda: len(counter_lines(self.out())) >= self.last + 5, 5)
        lines = counter_lines(self.out())
        for i, l in enumerate(lines):
            if not l or l[0] != str(i):
                raise CaseFail("line %d of the counter is %r, not %d (last before dump %d)"
                               % (i + 1, " ".join(l), i, self.last - 1))
            if l[1] != str(self.root):
                raise CaseFail("line %d says pid %s, not %d" % (i + 1, l[1], self.root))
        self.check_extra(lines)
        CURRENT.note = "counter %d before dump, %d now" % (self.last - 1, len(lines) - 1)

    def check_extra(self, lines):
        pass


class Ruby(Counter):
    name = "ruby"
    needs = (("ruby", "ruby"),)

    def start(self):
        # the output file stays open (append, unbuffered) across the dump
        code = ('f = File.open(ARGV[0], "a"); f.sync = true; i = 0; '
                'loop { f.write("#{i} #{Process.pid}\\n"); i += 1; sleep 0.1 }')
        self.root = spawn(["ruby", "-e", code, self.out()], env=self.env,
                          stdout=self.path("stdout"))


class Node(Counter):
    name = "node"
    needs = (("node", "nodejs"),)

    def start(self):
        # no --inspect: node then holds no socket
        code = ('const fs = require("fs"); const out = process.argv[1]; let i = 0; '
                'setInterval(() => { fs.appendFileSync(out, `${i} ${process.pid}\\n`); i++; },'
                ' 100);')
        self.root = spawn(["node", "-e", code, self.out()], env=self.env,
                          stdout=self.path("stdout"))


JAVA_SRC = r"""
import java.io.FileWriter;

public class Ticker {
    static volatile long work;

    public static void main(String[] args) throws Exception {
        Thread worker = new Thread(() -> {
            while (true) {
                work++;
                try { Thread.sleep(10); } catch (InterruptedException e) { return; }
            }
        }, "worker");
        worker.setDaemon(true);
        worker.start();
        long pid = ProcessHandle.current().pid();
        try (FileWriter out = new FileWriter(args[0], true)) {
            for (long i = 0; ; i++) {
                out.write(i + " " + pid + " " + work + "\n");
                out.flush();
                Thread.sleep(100);
            }
        }
    }
}
"""


class Java(Counter):
    """java with a worker thread; -XX:-UsePerfData, so that the JVM neither
    maps /tmp/hsperfdata_USER/PID nor holds a flock on it."""
    name = "java"
    needs = (("java", "default-jdk-headless"), ("javac", "default-jdk-headless"))
    opts = ["-XX:-UsePerfData"]

    def start(self):
        src = self.path("Ticker.java")
        with open(src, "w") as f:
            f.write(JAVA_SRC)
        r = subprocess.run(["javac", "-d", self.dir, src], capture_output=True,
                           timeout=25, env=self.env)
        if r.returncode:
            raise CaseFail("javac failed: %s" % r.stderr.decode()[-300:])
        self.root = spawn(["java"] + self.opts + ["-cp", self.dir, "Ticker", self.out()],
                          env=self.env, stdout=self.path("stdout"))

    def check_extra(self, lines):
        # the worker thread runs on: its count grows after restore
        w = [int(l[2]) for l in lines]
        if w[-1] <= w[self.last - 1]:
            raise CaseFail("the worker thread's count stayed at %d after restore" % w[-1])
        if any(b < a for a, b in zip(w, w[1:])):
            raise CaseFail("the worker thread's count went back")


class JavaPerfData(Java):
    """java as it runs by default: it maps /tmp/hsperfdata_USER/PID shared
    and holds a flock on it (through the mapping; the fd is closed).
    criu needs --file-locks for a lock holder."""
    name = "java-perfdata"
    opts = []
    criu_opts = ["--file-locks"]

    def cleanup(self):
        # SIGKILL leaves the JVM no chance to remove its perf data file
        if self.root:
            for f in glob.glob("/tmp/hsperfdata_*/%d" % self.root):
                os.unlink(f)

    def before_dump(self):
        self.locks = locks_of(self.root)
        if not self.locks:
            raise CaseFail("the JVM holds no file lock (no /tmp/hsperfdata_*?)")

    def check_extra(self, lines):
        Java.check_extra(self, lines)
        now = locks_of(self.root)
        if now != self.locks:
            raise CaseFail("file locks %s before dump, %s after restore (hsperfdata flock)"
                           % (self.locks, now))


# --------------------------------------------------------------------------
# programs on a terminal: script(1) gives them a pty; its stdin is a fifo
# the runner keeps open for writing, its stdout a file (-f flushes it)

class Scripted(Program):
    needs = (("script", "bsdutils"),)

    def start_script(self, cmd):
        fifo = self.path("input")
        os.mkfifo(fifo)
        # O_RDWR: never blocks, and keeps a writer so script never sees EOF
        self.input = os.open(fifo, os.O_RDWR | os.O_CLOEXEC)
        self.env["SHELL"] = "/bin/sh"
        self.root = spawn(["script", "-qfc", cmd, "/dev/null"], stdin=fifo,
                          stdout=self.typescript(), env=self.env)

    def typescript(self):
        return self.path("typescript")

    def type(self, text):
        os.write(self.input, text.encode())

    def screen(self):
        return (read(self.typescript(), "rb") or b"").decode(errors="replace")


class Shell(Scripted):
    """bash looping under script: counts into a file and prints ticks to
    its terminal, which script copies to the typescript."""
    name = "script-shell"
    needs = (("script", "bsdutils"), ("bash", "bash"))

    def start(self):
        loop = ('i=0; while :; do echo "$i $$" >> %s; echo "tick-$i"; i=$((i+1)); '
                'sleep 0.1; done' % self.out())
        self.start_script("exec bash -c '%s'" % loop)

    out = Counter.out
    ready = Counter.ready
    still_running = Counter.still_running

    def shell_pid(self):
        kids = [p for p in tree(self.root) if comm(p) == "bash"]
        return kids[0] if kids else None

    def before_dump(self):
        self.bash = self.shell_pid()

    def after_dump(self):
        Counter.after_dump(self)
        self.ticks = self.screen().count("tick-")

    def check(self):
        root = self.root
        self.root = self.bash           # the counter's pid is the shell's
        try:
            Counter.check(self)
        finally:
            self.root = root
        wait_for("new ticks on the terminal after restore",
                 lambda: "tick-%d\r\n" % (self.last + 2) in self.screen(), 5)

    def check_extra(self, lines):
        pass


class Sqlite(Scripted):
    """sqlite3 on a database file, its input typed into the pty."""
    name = "sqlite3"
    needs = (("script", "bsdutils"), ("sqlite3", "sqlite3"))

    def start(self):
        self.db = self.path("t.db")
        self.start_script("exec sqlite3 %s" % self.db)
        self.type("create table t(x);\n"
                  "insert into t values('one'), ('two');\n"
                  "pragma temp_store = memory;\n"
                  "create temp table s(v);\n"
                  "insert into s values('kept-in-the-session');\n"
                  "select 'ready', 6 * 7;\n")

    def ready(self):
        return "ready|42" in self.screen()

    def still_running(self):
        self.type("select 'still', 7 * 7;\n")
        wait_for("sqlite3 to answer", lambda: "still|49" in self.screen(), 5)

    def rows(self):
        r = subprocess.run(["sqlite3", "-readonly", self.db, "select x from t order by rowid"],
                           capture_output=True, timeout=10, env=self.env)
        return r.stdout.decode().split()

    def before_dump(self):
        if self.rows() != ["one", "two"]:
            raise CaseFail("the table holds %s before dump" % self.rows())

    def check(self):
        # the temp table lives only in the restored process's memory
        self.type("insert into t select v from s;\n"
                  "insert into t values('after-restore');\n"
                  "select 'count', count(*) from t;\n")
        wait_for("sqlite3 to answer after restore",
                 lambda: "count|4" in self.screen(), 5)
        rows = self.rows()
        want = ["one", "two", "kept-in-the-session", "after-restore"]
        if rows != want:
            raise CaseFail("the table holds %s, not %s" % (rows, want))


class SqliteTxn(Sqlite):
    """sqlite3 in the middle of a transaction: it holds POSIX locks on the
    database and has its rollback journal open; criu needs --file-locks."""
    name = "sqlite3-txn"
    criu_opts = ["--file-locks"]

    def start(self):
        Sqlite.start(self)
        self.type("begin; insert into t values('in-txn');\n"
                  "select 'txn', 1;\n")

    def ready(self):
        return "txn|1" in self.screen()

    def before_dump(self):
        Sqlite.before_dump(self)       # the insert is not visible outside yet
        self.sqlite = [p for p in tree(self.root) if comm(p) == "sqlite3"][0]
        self.locks = locks_of(self.sqlite)
        if len(self.locks) < 1:
            raise CaseFail("sqlite3 holds no lock in its transaction")

    def check(self):
        now = locks_of(self.sqlite)
        if now != self.locks:
            raise CaseFail("sqlite3's locks %s before dump, %s after restore"
                           % (self.locks, now))
        if self.rows() != ["one", "two"]:
            raise CaseFail("the uncommitted row shows outside: %s" % self.rows())
        self.type("commit;\nselect 'count', count(*) from t;\n")
        wait_for("sqlite3 to commit after restore", lambda: "count|3" in self.screen(), 5)
        want = ["one", "two", "in-txn"]
        if self.rows() != want:
            raise CaseFail("the table holds %s after commit, not %s" % (self.rows(), want))


class Tmux(Program):
    """A tmux server with bash in its one pane; its control socket is at
    -S PATH, where the clients find it."""
    name = "tmux"
    needs = (("tmux", "tmux"), ("bash", "bash"))

    def tmux(self, *args):
        r = subprocess.run(["tmux", "-S", self.sock] + list(args), capture_output=True,
                           timeout=10, env=self.env, stdin=subprocess.DEVNULL, cwd=self.dir)
        if r.returncode:
            raise CaseFail("tmux %s: %s" % (args[0], r.stderr.decode().strip() or r.returncode))
        return r.stdout.decode()

    def pane(self):
        try:
            return self.tmux("capture-pane", "-p", "-S", "-50")
        except (CaseFail, subprocess.TimeoutExpired):
            return ""

    def start(self):
        self.sock = self.path("sock")
        self.env["SHELL"] = "/bin/bash"
        self.env["TERM"] = "xterm"
        # the client starts the server, which daemonizes: as a child
        # subreaper the runner becomes its parent
        r = subprocess.run(["tmux", "-S", self.sock, "new-session", "-d", "-x", "80", "-y", "24"],
                           env=self.env, cwd=self.dir, start_new_session=True, timeout=10,
                           stdin=subprocess.DEVNULL, capture_output=True)
        if r.returncode:
            raise CaseFail("tmux new-session exited %d: %s" % (r.returncode, r.stderr.decode()))
        self.root = int(self.tmux("display-message", "-p", "#{pid}"))
        self.bash = int(self.tmux("display-message", "-p", "#{pane_pid}"))
        note_sessions([self.root, self.bash])
        self.tmux("send-keys", "X=hello-$((6*7)); echo \"marker $X\"", "Enter")

    def ready(self):
        return "marker hello-42" in self.pane()

    def still_running(self):
        self.tmux("send-keys", "echo still-$((7*7))", "Enter")
        wait_for("the shell to answer", lambda: "still-49" in self.pane(), 5)

    def check(self):
        if int(self.tmux("display-message", "-p", "#{pid}")) != self.root:
            raise CaseFail("another tmux server answers")
        if "marker hello-42" not in self.pane():
            raise CaseFail("the pane lost its earlier output: %r" % self.pane()[-200:])
        self.tmux("send-keys", "echo \"again $X pid $$\"; history 3", "Enter")
        want = "again hello-42 pid %d" % self.bash
        wait_for("the shell to answer after restore", lambda: want in self.pane(), 5)
        if "X=hello-$((6*7))" not in self.pane().split(want)[-1]:
            raise CaseFail("the shell's history lost the earlier command: %r"
                           % self.pane()[-300:])


PROGRAMS = [Ruby, Node, Java, JavaPerfData, Shell, Sqlite, SqliteTxn, Tmux]


# --------------------------------------------------------------------------

def alarm(*_):
    raise CaseTimeout()


def run_case(cls):
    prog = None
    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(CASE_TIMEOUT)
    try:
        prog = cls()
        cycle(prog)
    except CaseTimeout:
        raise CaseFail("took longer than %ds" % CASE_TIMEOUT)
    finally:
        signal.alarm(0)
        if prog is not None and getattr(prog, "input", None) is not None:
            os.close(prog.input)
        kill_everything()
        if prog is not None:
            prog.cleanup()


def main(programs=None, doc=None, prefix="criu-programs-"):
    """Run programs (PROGRAMS by default); test/servers/run.py calls this
    with its own list."""
    global CRIU, TMP, CURRENT, VERBOSE, NO_CRIU
    programs = programs or PROGRAMS
    ap = argparse.ArgumentParser(description=(doc or __doc__).split("\n")[0])
    ap.add_argument("--criu", default=os.path.join(REPO, "build", "criu", "criu"))
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("-t", "--only", action="append",
                    help="run cases matching this glob or substring (repeatable)")
    ap.add_argument("-x", "--skip", action="append", default=[],
                    help="report cases matching this glob or substring as SKIP, unrun")
    ap.add_argument("-l", "--list", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print each program's descriptors, locks and criu's messages")
    ap.add_argument("--no-criu", action="store_true",
                    help="no dump or restore: check the runner's checks on programs left running")
    a = ap.parse_args()
    if a.list:
        for c in programs:
            print(c.name)
        return 0
    VERBOSE = a.verbose
    NO_CRIU = a.no_criu
    CRIU = os.path.abspath(a.criu)
    if not os.access(CRIU, os.X_OK):
        sys.exit("no criu at %s" % CRIU)
    if os.geteuid() != 0:
        sys.exit("run as root")
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0):
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
    TMP = tempfile.mkdtemp(prefix=prefix)
    os.chmod(TMP, 0o755)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    passed = failed = skipped = 0
    t0 = time.monotonic()
    try:
        for cls in programs:
            name = cls.name
            if a.only and not any(fnmatch.fnmatch(name, p) or p in name for p in a.only):
                continue
            CURRENT = Current()
            t1 = time.monotonic()
            try:
                if any(fnmatch.fnmatch(name, p) or p in name for p in a.skip):
                    raise CaseSkip("--skip %s" % name)
                run_case(cls)
            except CaseSkip as e:
                print("SKIP %s: %s" % (name, e), flush=True)
                skipped += 1
                continue
            except CaseFail as e:
                print("FAIL %s: %s" % (name, str(e).replace("\n", " | ")), flush=True)
                for l in CURRENT.details:
                    print("    " + l, file=sys.stderr, flush=True)
                failed += 1
            except Exception as e:      # a bug in this runner counts too
                print("FAIL %s: runner error %r" % (name, e), flush=True)
                failed += 1
            else:
                print("PASS %s (%s, %.1fs)" % (name, CURRENT.note or "ok",
                                               time.monotonic() - t1), flush=True)
                passed += 1
            if VERBOSE:
                print("    (%s took %.1fs)" % (name, time.monotonic() - t1), file=sys.stderr)
                for l in CURRENT.inventory:
                    print("    " + l, file=sys.stderr, flush=True)
    finally:
        kill_everything()
        if a.keep or failed:
            print("work dir kept: %s" % TMP, file=sys.stderr)
        else:
            shutil.rmtree(TMP, ignore_errors=True)
    sys.stderr.flush()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    print("(%.1fs)" % (time.monotonic() - t0), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
