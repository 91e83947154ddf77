#!/usr/bin/env python3
"""Real servers from Debian's packages, checkpointed and restored.

Each case starts an unmodified server (redis-server, memcached, nginx,
postgres, python3 -m http.server, and a small python echo server with a
client connected) in its own session on 127.0.0.1 and a free port, gives
it state through its own protocol, dumps it while it is idle with
`criu dump -t PID`, restores it with `criu restore -d` and checks that the
same pids serve the same state on the same port.  The runner, its cycle
and its checks are test/programs/run.py's (imported); see
test/servers/README.md.

Usage: test/servers/run.py [--criu build/criu/criu] [-t GLOB]... [-x GLOB]... [-v]
                           [--keep] [-l] [--no-criu]
(as root)

Prints `PASS name`, `FAIL name: why` or `SKIP name: why` per case, then
`N passed, N failed, N skipped`; exits 1 if any case failed.  `-v` prints
to stderr every descriptor the servers hold, their sockets (from
/proc/PID/net/*) and their SysV IPC objects.
"""

import glob
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

_spec = importlib.util.spec_from_file_location("programs_run",
                                               os.path.join(REPO, "test", "programs", "run.py"))
P = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(P)
CaseFail, CaseSkip = P.CaseFail, P.CaseSkip

LOCALHOST = "127.0.0.1"


def free_port():
    """A TCP port nothing listens on now (the kernel's pick)."""
    s = socket.socket()
    try:
        s.bind((LOCALHOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def listener_inodes(pid, port):
    """Inodes of the sockets listening on 127.0.0.1:port in pid's net ns."""
    want = "%s:%d" % (LOCALHOST, port)
    return set(ino for ino, d in P.net_sockets(pid).items()
               if d.startswith("tcp ") and d.split()[1] == want and " LISTEN " in d)


def listener_pids(pids, port):
    """Which of pids hold a socket listening on port."""
    out = []
    for p in pids:
        inos = listener_inodes(p, port)
        try:
            fds = os.listdir("/proc/%d/fd" % p)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink("/proc/%d/fd/%s" % (p, fd))
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inos:
                out.append(p)
                break
    return out


def talk(port, data, until, timeout=5.0):
    """Send data to 127.0.0.1:port and read until the answer ends with until."""
    with socket.create_connection((LOCALHOST, port), timeout=timeout) as s:
        s.sendall(data)
        got = b""
        while not got.endswith(until):
            d = s.recv(65536)
            if not d:
                break
            got += d
        return got


def http_get(port, path):
    """(status line, headers dict, body) of GET path, HTTP/1.0."""
    req = "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" % path
    got = talk(port, req.encode(), b"\0never")
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return lines[0], hdrs, body


def as_user(user, argv):
    """argv run as user (setpriv execs it: the pid stays the same)."""
    return ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--"] + argv


class Server(P.Program):
    """A server on 127.0.0.1 and a free port.  ready() waits until it
    answers, then gives it its state once (setup()); check() makes sure
    the restored tree, not some other process, listens on the port."""
    needs = ()
    listener_in = None          # comm of the process that must hold the listener

    def __init__(self):
        P.Program.__init__(self)
        self.port = free_port()
        self.given = False

    def answering(self):
        try:
            socket.create_connection((LOCALHOST, self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def ready(self):
        if not self.given:
            if not self.answering():
                return False
            self.setup()
            self.given = True
        return self.settled() and self.idle()

    def settled(self):
        return True

    def idle(self):
        """No connection is open in the tree: it is dumped listening only."""
        for p in P.tree(self.root):
            socks = P.net_sockets(p)
            try:
                fds = os.listdir("/proc/%d/fd" % p)
            except OSError:
                continue        # a backend that just ended
            for fd in fds:
                try:
                    link = os.readlink("/proc/%d/fd/%s" % (p, fd))
                except OSError:
                    continue
                d = socks.get(link[8:-1], "") if link.startswith("socket:[") else ""
                if d.startswith("tcp") and " LISTEN " not in d:
                    return False
        return True

    def before_dump(self):
        self.pids = P.tree(self.root)
        self.listeners = listener_pids(self.pids, self.port)
        if not self.listeners:
            raise CaseFail("no process of the tree listens on port %d" % self.port)

    def still_running(self):
        self.verify()

    def check(self):
        now = listener_pids(self.pids, self.port)
        if now != self.listeners:
            raise CaseFail("port %d is listened on by pids %s after restore, by %s before"
                           % (self.port, now, self.listeners))
        self.verify()
        P.CURRENT.note = "port %d, listeners %s" % (self.port, now)


class Redis(Server):
    name = "redis"
    needs = (("redis-server", "redis-server"), ("redis-cli", "redis-tools"))

    def start(self):
        self.root = P.spawn(["redis-server", "--bind", LOCALHOST, "--port", str(self.port),
                             "--save", "", "--appendonly", "no", "--daemonize", "no",
                             "--dir", self.dir], stdout=self.path("log"), env=self.env)

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-h", LOCALHOST, "-p", str(self.port)] + list(args),
                           capture_output=True, timeout=5, env=self.env,
                           stdin=subprocess.DEVNULL)
        if r.returncode:
            raise CaseFail("redis-cli %s: %s" % (args[0], r.stderr.decode().strip()))
        return r.stdout.decode().strip()

    def setup(self):
        self.cli("set", "greeting", "hello from before the dump")
        self.cli("rpush", "list", "one", "two", "three")
        self.cli("set", "counter", "41")

    def verify(self):
        got = (self.cli("get", "greeting"), self.cli("lrange", "list", "0", "-1"))
        want = ("hello from before the dump", "one\ntwo\nthree")
        if got != want:
            raise CaseFail("redis holds %r, not %r" % (got, want))
        pid = [l for l in self.cli("info", "server").splitlines() if l.startswith("process_id:")]
        if pid != ["process_id:%d" % self.root]:
            raise CaseFail("redis answers with %s, not pid %d" % (pid, self.root))

    def check(self):
        Server.check(self)
        if self.cli("incr", "counter") != "42":
            raise CaseFail("incr counter after restore is not 42")


class Memcached(Server):
    """memcached drops to nobody itself (-u); a socket client sets keys."""
    name = "memcached"
    needs = (("memcached", "memcached"),)

    def start(self):
        self.root = P.spawn(["memcached", "-u", "nobody", "-l", LOCALHOST,
                             "-p", str(self.port)], stdout=self.path("log"), env=self.env)

    def mc(self, cmd, until):
        return talk(self.port, cmd, until).decode(errors="replace")

    def setup(self):
        for k, v in (("alpha", "first value"), ("beta", "x" * 3000)):
            got = self.mc(b"set %s 7 0 %d\r\n%s\r\n" % (k.encode(), len(v), v.encode()),
                          b"\r\n")
            if got != "STORED\r\n":
                raise CaseFail("memcached answered %r to set %s" % (got, k))

    def verify(self):
        got = self.mc(b"get alpha beta\r\n", b"END\r\n")
        want = ("VALUE alpha 7 11\r\nfirst value\r\nVALUE beta 7 3000\r\n%s\r\nEND\r\n"
                % ("x" * 3000))
        if got != want:
            raise CaseFail("memcached answered %r to get" % got[:200])
        stats = self.mc(b"stats\r\n", b"END\r\n")
        if "STAT pid %d\r\n" % self.root not in stats:
            raise CaseFail("memcached's stats name another pid")


NGINX_CONF = """
daemon off;
master_process on;
worker_processes 1;
user nobody nogroup;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    server {{
        listen {addr}:{port};
        root {dir}/www;
        add_header X-Worker-Pid $pid;
    }}
}}
"""


class Nginx(Server):
    """nginx, a master and one worker; the worker names its pid in a header."""
    name = "nginx"
    needs = (("nginx", "nginx-light"),)

    def start(self):
        os.makedirs(self.path("www"))
        os.makedirs(self.path("tmp"))
        self.page = "<p>page of pid %d</p>\n" % os.getpid()
        with open(self.path("www/index.html"), "w") as f:
            f.write(self.page)
        conf = self.path("nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, addr=LOCALHOST, port=self.port))
        self.root = P.spawn(["nginx", "-c", conf, "-p", self.dir, "-e", self.path("error.log")],
                            stdout=self.path("log"), env=self.env)

    def setup(self):
        pass

    def workers(self):
        return [p for p in P.tree(self.root) if P.cmdline(p).startswith("nginx: worker")]

    def settled(self):
        if len(self.workers()) != 1:
            return False
        if getattr(self, "worker", None) is None:
            # once, before the dump: the page and which pid served it
            self.worker = self.workers()[0]
            self.verify()
        return True

    def before_dump(self):
        Server.before_dump(self)
        if self.listeners != [self.root, self.worker]:
            raise CaseFail("the listener is held by %s, not master %d and worker %d"
                           % (self.listeners, self.root, self.worker))

    def verify(self):
        status, hdrs, body = http_get(self.port, "/")
        if not status.endswith("200 OK") or body.decode() != self.page:
            raise CaseFail("nginx answered %r %r" % (status, body[:100]))
        if hdrs.get("x-worker-pid") != str(self.worker):
            raise CaseFail("the page came from pid %s, not worker %d"
                           % (hdrs.get("x-worker-pid"), self.worker))
        if (P.read(self.path("nginx.pid")) or "").strip() != str(self.root):
            raise CaseFail("nginx.pid holds %r" % P.read(self.path("nginx.pid")))

    def still_running(self):
        self.worker = (self.workers() or [None])[0]
        self.verify()


def pg_bindir():
    """The newest /usr/lib/postgresql/N/bin with postgres and initdb."""
    dirs = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
            if os.access(os.path.join(d, "postgres"), os.X_OK)
            and os.access(os.path.join(d, "initdb"), os.X_OK)]
    return max(dirs, key=lambda d: int(d.split("/")[-2])) if dirs else None


class Postgres(Server):
    """postgres run as the postgres user on a cluster made by initdb in
    the work dir, with its defaults (SysV and POSIX shared memory, unix
    socket in SOCKDIR); psql makes a table before the dump."""
    name = "postgresql"
    needs = (("psql", "postgresql-client"), ("setpriv", "util-linux"))
    WANT = "1|one\n2|two\n3|three"
    wrap = []

    def __init__(self):
        Server.__init__(self)
        self.shm_files = set()
        self.shm_before = set(glob.glob("/dev/shm/PostgreSQL.*"))

    def start(self):
        bindir = pg_bindir()
        if bindir is None:
            raise CaseSkip("no /usr/lib/postgresql/N/bin/postgres (Debian package postgresql)")
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            raise CaseSkip("no postgres user (Debian package postgresql)")
        self.data, self.sock = self.path("data"), self.path("sock")
        for d in (self.data, self.sock):
            os.makedirs(d, mode=0o700)
            subprocess.run(["chown", "postgres:postgres", d], check=True)
        r = subprocess.run(as_user("postgres", [bindir + "/initdb", "-D", self.data,
                                                "-U", "postgres", "-A", "trust", "-E", "UTF8",
                                                "--no-sync", "--no-instructions"]),
                           capture_output=True, timeout=20, env=self.env, cwd=self.dir)
        if r.returncode:
            raise CaseFail("initdb exited %d: %s" % (r.returncode, r.stderr.decode()[-300:]))
        argv = as_user("postgres", [bindir + "/postgres", "-D", self.data, "-k", self.sock,
                                    "-p", str(self.port), "-c", "listen_addresses=" + LOCALHOST])
        self.root = P.spawn(self.wrap + argv, stdout=self.path("log"), env=self.env)

    def answering(self):
        try:
            return self.psql("select 1") == "1"
        except CaseFail:
            return False    # "the database system is starting up"

    def psql(self, sql, host=LOCALHOST):
        r = subprocess.run(["psql", "-X", "-h", host, "-p", str(self.port), "-U", "postgres",
                            "-d", "postgres", "-Atqc", sql], capture_output=True, timeout=10,
                           env=dict(self.env, PGCONNECT_TIMEOUT="5"), stdin=subprocess.DEVNULL)
        if r.returncode:
            raise CaseFail("psql %r: %s" % (sql[:40], r.stderr.decode().strip()))
        return r.stdout.decode().strip()

    def setup(self):
        self.psql("create table t(id int primary key, v text);"
                  "insert into t values (1, 'one'), (2, 'two'), (3, 'three');")
        self.started = self.psql("select pg_postmaster_start_time()")

    def transient(self, pid):
        # client backends end with their connection, autovacuum workers by themselves
        c = P.cmdline(pid)
        return c.startswith(("postgres: autovacuum worker", "postgres: postgres "))

    def backends(self):
        return [p for p in P.tree(self.root) if self.transient(p)]

    def settled(self):
        # the tree as dumped: the postmaster and its helpers, no backend
        if self.backends():
            return False
        self.note_shm()
        return True

    def note_shm(self):
        """The POSIX shm files the tree maps: SIGKILL leaves them behind."""
        for p in P.tree(self.root):
            for l in (P.read("/proc/%d/maps" % p) or "").splitlines():
                f = l.split(None, 5)
                if len(f) == 6 and f[5].startswith("/dev/shm/PostgreSQL."):
                    self.shm_files.add(f[5])

    def cleanup(self):
        # the postmaster's SysV segment outlives it when it is killed
        for l in (P.read("/proc/sysvipc/shm") or "").splitlines()[1:]:
            f = l.split()
            if self.root and int(f[4]) == self.root:
                subprocess.run(["ipcrm", "-m", f[1]], capture_output=True)
        # and its POSIX ones: those it mapped, and those made since it
        # started (a case may fail before they were noted) that no live
        # process maps
        mapped = set()
        for p in P.all_pids():
            for l in (P.read("/proc/%d/maps" % p) or "").splitlines():
                if "/dev/shm/PostgreSQL." in l:
                    mapped.add(l.split(None, 5)[5].replace(" (deleted)", ""))
        new = set(glob.glob("/dev/shm/PostgreSQL.*")) - self.shm_before - mapped
        for f in self.shm_files | new:
            if os.path.exists(f):
                os.unlink(f)

    def verify(self):
        for host in (LOCALHOST, self.sock):
            rows = self.psql("select id, v from t order by id", host)
            if rows != self.WANT:
                raise CaseFail("table t holds %r through %s" % (rows, host))
        if self.psql("select pg_postmaster_start_time()") != self.started:
            raise CaseFail("another postmaster answers")

    def probe_check(self):
        """After --probe took its TCP listener: the unix socket still serves."""
        self.note_shm()
        rows = self.psql("select id, v from t order by id", self.sock)
        if rows != self.WANT:
            raise CaseFail("table t holds %r through the unix socket" % rows)
        self.psql("insert into t values (4, 'after restore')", self.sock)
        return "psql through the unix socket reads the rows and inserts one"

    def check(self):
        self.note_shm()
        Server.check(self)
        # a write goes through WAL and the shared buffers
        self.psql("insert into t values (4, 'after restore')")
        rows = self.psql("select count(*), max(v) from t")
        if rows != "4|two":
            raise CaseFail("after an insert table t holds %r" % rows)


class PostgresIpcNs(Postgres):
    """The same postgres in an IPC namespace of its own (unshare execs it:
    the pid stays), so that its SysV segment is dumped with the namespace."""
    name = "postgresql-ipcns"
    needs = Postgres.needs + (("unshare", "util-linux"),)
    wrap = ["unshare", "--ipc", "--"]


class HttpServer(Server):
    name = "python-http.server"
    needs = (("python3", "python3"),)

    def start(self):
        os.makedirs(self.path("www"))
        self.body = ("served by pid %d\n" % os.getpid()).encode()
        with open(self.path("www/hello.txt"), "wb") as f:
            f.write(self.body)
        self.root = P.spawn(["python3", "-m", "http.server", str(self.port), "--bind", LOCALHOST,
                             "--directory", self.path("www")], stdout=self.path("log"),
                            env=self.env)

    def setup(self):
        pass

    def verify(self):
        status, _, body = http_get(self.port, "/hello.txt")
        if not status.endswith("200 OK") or body != self.body:
            raise CaseFail("http.server answered %r %r" % (status, body[:100]))


ECHO_SERVER = r"""
import os, socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(4)
c, _ = ls.accept()
n, buf = 0, b""
while True:
    d = c.recv(4096)
    if not d:
        break
    buf += d
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        n += 1
        c.sendall(b"%s %d %d\n" % (line, n, os.getpid()))
"""


class Echo(Server):
    """A python echo server in the tree with one connection to a client in
    the runner (outside the tree, not dumped): the client sends `I` every
    50 ms and the server answers `I COUNT PID`, COUNT being how many
    messages it has seen.  Dumped and restored with --tcp-established,
    mid-conversation; the client goes on on the same connection."""
    name = "tcp-echo-established"
    needs = (("python3", "python3"),)
    criu_opts = ["--tcp-established"]

    def start(self):
        self.answers, self.error, self.stop = [], None, False
        self.gap = 0.0
        with open(self.path("echo.py"), "w") as f:
            f.write(ECHO_SERVER)
        self.root = P.spawn(["python3", self.path("echo.py"), str(self.port)],
                            stdout=self.path("log"), env=self.env)

    def answering(self):
        # the server accepts one connection only: the client's
        return listener_pids([self.root], self.port)

    def setup(self):
        self.conn = socket.create_connection((LOCALHOST, self.port), timeout=25)
        threading.Thread(target=self.client, daemon=True).start()

    def client(self):
        f = self.conn.makefile("rb")
        try:
            for i in range(100000):
                if self.stop:
                    return
                t = time.monotonic()
                self.conn.sendall(b"%d\n" % i)
                line = f.readline()
                self.gap = max(self.gap, time.monotonic() - t)
                want = b"%d %d %d\n" % (i, i + 1, self.root)
                if line != want:
                    self.error = "message %d: answer %r, not %r" % (i, line, want)
                    return
                self.answers.append(i)
                time.sleep(0.05)
        except OSError as e:
            self.error = "message %d: %s" % (len(self.answers), e)

    def settled(self):
        return len(self.answers) >= 10

    def idle(self):
        return True             # the one connection is what this case is about

    def verify(self):
        n = len(self.answers)
        P.wait_for("the echo client's answers to go on past %d" % n,
                   lambda: self.error or len(self.answers) >= n + 5, 10)
        if self.error:
            raise CaseFail("the client outside the tree: " + self.error)

    def after_dump(self):
        self.last = len(self.answers)

    def connection(self):
        """The connection's two ends as ss(8) sees them, for a failure."""
        r = subprocess.run(["ss", "-tnoi", "state", "all", "( sport = :%d or dport = :%d )"
                            % (self.port, self.port)], capture_output=True, timeout=5)
        return " ".join(r.stdout.decode().split())

    def check(self):
        try:
            Server.check(self)
            P.wait_for("20 more answers after restore",
                       lambda: self.error or len(self.answers) >= self.last + 20, 10)
        except CaseFail as e:
            raise CaseFail("%s (%d answers, %d before the dump ended; ss: %s)"
                           % (e, len(self.answers), self.last, self.connection()))
        if self.error:
            raise CaseFail("after restore, the client outside the tree: " + self.error)
        P.CURRENT.note += "; %d answers before the dump ended, %d now, longest wait %.1fs" % (
            self.last, len(self.answers), self.gap)

    def cleanup(self):
        self.stop = True
        if getattr(self, "conn", None):
            self.conn.close()


SERVERS = [Redis, Memcached, Nginx, Postgres, PostgresIpcNs, HttpServer, Echo]


# --------------------------------------------------------------------------
# --probe: what criu refuses, all of it.  criu stops at the first thing it
# refuses; here each refused fd is replaced by /dev/null (and each SysV mapping
# detached) inside the live server by inject.py, and the dump is tried again,
# until it succeeds.  This changes the servers, so it is a diagnosis, not a
# test: every case FAILs with the list, unless nothing was refused.

REFUSED_FD = re.compile(r"unsupported: pid (\d+) fd (\d+) is")
REFUSED_SYSV = re.compile(r"unsupported: pid (\d+) maps SysV shared memory at ([0-9a-f]+)")
REFUSED_IPCNS = re.compile(r"unsupported: the IPC namespace of pid (\d+) holds \d+ SysV shared")


SYS_DUP2, SYS_SHMDT, SYS_SHMCTL, IPC_RMID = 33, 67, 31, 0


def call_in(pid, nr, *args):
    """Make pid call syscall nr (test/servers/inject.py, ptrace); it must not fail."""
    r = subprocess.run([sys.executable, os.path.join(HERE, "inject.py"), str(pid), str(nr)]
                       + [str(a) for a in args], capture_output=True, timeout=10)
    if r.returncode or int(r.stdout or -1) < 0:
        raise CaseFail("syscall %d%s in pid %d: %s" % (nr, args, pid,
                       (r.stdout + r.stderr).decode().strip()[-200:]))


def holders(pids, ino):
    """(pid, fd) of every fd of pids on the socket inode ino."""
    out = []
    for p in pids:
        for fd in os.listdir("/proc/%d/fd" % p):
            try:
                if os.readlink("/proc/%d/fd/%s" % (p, fd)) == "socket:[%s]" % ino:
                    out.append((p, int(fd)))
            except OSError:
                pass
    return out


def strip(prog, line, pids):
    """Remove from the live tree what criu refused in line; what it was."""
    m = REFUSED_FD.search(line)
    if m:
        pid, fd = int(m.group(1)), int(m.group(2))
        link = os.readlink("/proc/%d/fd/%d" % (pid, fd))
        what = P.fd_kind(link, os.stat("/proc/%d/fd/%d" % (pid, fd)))
        if link.startswith("socket:["):
            ino = link[8:-1]
            what = P.net_sockets(pid).get(ino) or P.unix_sockets().get(ino) or "socket"
            fds = holders(pids, ino)
        else:
            fds = [(pid, fd)]
        for p, f in fds:
            # not close(): a server polling with select() would fail on
            # the closed fd; /dev/null (its stdin) keeps the number valid
            call_in(p, SYS_DUP2, 0, f)
        return "%s (%s)" % (what, ", ".join("pid %d fd %d" % pf for pf in fds))
    m = REFUSED_SYSV.search(line)
    if m:
        addr = m.group(2)
        at = [p for p in pids if any(l.startswith(addr + "-") and "/SYSV" in l
                                     for l in (P.read("/proc/%d/maps" % p) or "").splitlines())]
        for p in at:
            call_in(p, SYS_SHMDT, int(addr, 16))
        return "SysV shm mapping at %s (pids %s)" % (addr, at)
    m = REFUSED_IPCNS.search(line)
    if m:
        pid = int(m.group(1))
        segs = P.sysvipc_table(pid, "shm").splitlines()[1:]
        for l in segs:
            call_in(pid, SYS_SHMCTL, int(l.split()[1]), IPC_RMID, 0)
        return "SysV shm segments in the tree's IPC namespace: %s" % (
            ", ".join("key %#x size %s" % (int(l.split()[0]), l.split()[3]) for l in segs))
    raise CaseFail("criu refused what --probe cannot strip: " + line)


def probe_cycle(prog):
    P.require(prog.needs)
    prog.start()
    P.wait_for("%s to run" % prog.name, prog.ready, 10)
    pids = P.tree(prog.root)
    P.note_sessions(pids)
    P.CURRENT.inventory = P.fd_inventory(pids)
    before = {p: (P.proc_stat(p), P.nthreads(p), P.cmdline(p), prog.transient(p)) for p in pids}
    img = prog.path("img")
    refused = []
    for attempt in range(50):
        shutil.rmtree(img, ignore_errors=True)
        os.makedirs(img)
        run = P.criu(["dump", "-t", str(prog.root), "-D", img] + prog.criu_opts,
                     os.path.join(img, "dump.log"))
        P.CURRENT.details = run.details()
        if run.rc == 0:
            break
        if "unsupported option" in run.err:
            refused.append(run.line())
            prog.criu_opts = []
            continue
        try:
            refused.append(strip(prog, run.line(), pids))
        except CaseFail as e:
            raise CaseFail("refused, in turn: %s; then %s" % ("; ".join(refused), e))
    else:
        raise CaseFail("still refused after 50 tries: " + "; ".join(refused))
    P.wait_gone(pids)
    run = P.criu(["restore", "-D", img, "-d"] + prog.criu_opts, os.path.join(img, "restore.log"))
    P.CURRENT.details = run.details()
    if run.rc:
        after = "restore then failed: " + run.line()
    else:
        bad = P.compare_tree(prog, before, P.dumped_threads(img))
        after = "restore then succeeded" + (" but " + "; ".join(bad) if bad else
                                            ", every pid and dumped thread back")
        if not bad and hasattr(prog, "probe_check"):
            try:
                after += ", and " + prog.probe_check()
            except CaseFail as e:
                after += ", but " + str(e)
    if refused:
        raise CaseFail("refused, in turn: %s; without them the dump succeeded, %s"
                       % ("; ".join(refused), after))
    P.CURRENT.note = "nothing refused; " + after


if __name__ == "__main__":
    if "--probe" in sys.argv:
        sys.argv.remove("--probe")
        P.cycle = probe_cycle
    sys.exit(P.main(SERVERS, __doc__, "criu-servers-"))
