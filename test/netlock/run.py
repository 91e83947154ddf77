#!/usr/bin/env python3
"""The network lock (criu/net-lock.c), with real packets on loopback.

Each check makes TCP connections on loopback, locks some of them through
build/test/netlock/nltest (criu's net-lock.c in a small driver, see nltest.c)
and asserts what the packets do: data sent on a locked connection does not
arrive within 300 ms, while other connections and new ones carry data; after
the unlock, by another process as at restore, the held data arrives and the
rules are gone. For nftables and iptables where the tools exist; in a net
namespace locked whole; as an unprivileged user in a net namespace of their
own (which works) and in the host's (which must fail, saying why). Then criu
itself: --network-lock is parsed and recorded in inventory.img.

Usage: test/netlock/run.py [--criu build/criu/criu]   (as root)
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STALL = 0.3  # a locked connection must not deliver within this
ARRIVE = 8.0  # retransmissions after an unlock come within this
failures = 0


def check(ok, what):
    global failures
    print(("ok     " if ok else "FAILED ") + what, flush=True)
    if not ok:
        failures += 1


def pair(family=socket.AF_INET, host="127.0.0.1", client_family=None):
    """A connected TCP pair on loopback: (client, server, (sport, dport))."""
    ls = socket.socket(family, socket.SOCK_STREAM)
    ls.bind((host, 0))
    ls.listen(1)
    c = socket.socket(client_family or family, socket.SOCK_STREAM)
    addr = ls.getsockname()[:2]
    if client_family == socket.AF_INET6 and family == socket.AF_INET:
        addr = ("::ffff:" + addr[0], addr[1])
    c.connect(addr)
    s, _ = ls.accept()
    ls.close()
    return c, s, (c.getsockname()[1], s.getsockname()[1])


def delivers(a, b, data, timeout):
    """Send data on a; True if b receives all of it within timeout."""
    a.sendall(data)
    return receives(b, len(data), timeout)


def receives(b, n, timeout):
    got = b""
    end = time.monotonic() + timeout
    while len(got) < n:
        left = end - time.monotonic()
        if left <= 0:
            return False
        b.settimeout(left)
        try:
            chunk = b.recv(n - len(got))
        except socket.timeout:
            return False
        if not chunk:
            return False
        got += chunk
    return True


def nltest(args, *rest, **kw):
    return subprocess.run([args.nltest] + list(rest), capture_output=True, text=True, **kw)


def lock_tuple(host, c, fam="4"):
    sport, dport = c
    return [fam, host, str(sport), host, str(dport)]


def lock_gone(method, run_id):
    """Whether no rule of this run id is left."""
    if method == "nftables":
        out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
        return ("CRIU-" + run_id) not in out
    chain = "CRIU-" + run_id[:13]
    for tool in ("iptables-save", "ip6tables-save"):
        out = subprocess.run([tool, "-t", "filter"], capture_output=True, text=True).stdout
        if chain in out:
            return False
    return True


def test_method(args, method, tag=""):
    """Lock two of three connections, unlock from another process."""
    mnum = {"iptables": "0", "nftables": "1"}[method]
    c1, s1, t1 = pair()
    c2, s2, t2 = pair()
    c6, s6, t6 = pair(socket.AF_INET6, "::1")
    # an IPv6 socket talking IPv4 (a v4-mapped address): locked as IPv4
    cm, sm, tm = pair(socket.AF_INET, "127.0.0.1", socket.AF_INET6)
    r = nltest(args, "-m", method, "lock",
               *lock_tuple("127.0.0.1", t1), *lock_tuple("::1", t6, "6"),
               *lock_tuple("::ffff:127.0.0.1", tm, "6"))
    check(r.returncode == 0, f"{method}{tag}: lock 3 connections ({r.stderr.strip()})")
    if r.returncode:
        return
    mgot, run_id = r.stdout.split()
    check(mgot == mnum, f"{method}{tag}: the method is {method} (reported {mgot})")
    check(not lock_gone(method, run_id), f"{method}{tag}: the rules of {run_id} exist")
    check(not delivers(c1, s1, b"a" * 100, STALL), f"{method}{tag}: locked v4 client->server stalls")
    check(not delivers(s1, c1, b"b" * 100, STALL), f"{method}{tag}: locked v4 server->client stalls")
    check(not delivers(c6, s6, b"c" * 100, STALL), f"{method}{tag}: locked v6 connection stalls")
    check(not delivers(cm, sm, b"m" * 100, STALL), f"{method}{tag}: locked v4-mapped connection stalls")
    check(delivers(c2, s2, b"d" * 100, STALL), f"{method}{tag}: an unlocked connection flows")
    n1, n2, n3 = pair()
    check(delivers(n1, n2, b"e" * 100, STALL), f"{method}{tag}: a new connection flows")
    r = nltest(args, "unlock", mnum, run_id)
    check(r.returncode == 0, f"{method}{tag}: a second process unlocks ({r.stderr.strip()})")
    check(lock_gone(method, run_id), f"{method}{tag}: no rule is left")
    check(receives(s1, 100, ARRIVE) and receives(c1, 100, ARRIVE),
          f"{method}{tag}: the held data arrives after the unlock")
    check(receives(s6, 100, ARRIVE), f"{method}{tag}: the held v6 data arrives")
    check(receives(sm, 100, ARRIVE), f"{method}{tag}: the held v4-mapped data arrives")
    check(delivers(c1, s1, b"f" * 100, ARRIVE), f"{method}{tag}: new data flows after the unlock")
    r = nltest(args, "unlock", mnum, run_id)
    check(r.returncode == 0, f"{method}{tag}: unlocking again finds nothing and succeeds")
    for s in (c1, s1, c2, s2, c6, s6, cm, sm, n1, n2):
        s.close()


def test_hold(args, method, late):
    """A failed dump (or --leave-running): the dumping process removes its own lock."""
    c, s, t = pair()
    opts = ["--late"] if late else []
    p = subprocess.Popen([args.nltest, "-m", method, "lock", "--hold"] + opts +
                         lock_tuple("127.0.0.1", t), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    how = "connections added after network_lock()" if late else "a failed dump"
    check(len(line) == 2 and line[1] != "-", f"{method}: {how}: locked ({line})")
    check(not delivers(c, s, b"x" * 50, STALL), f"{method}: {how}: the connection stalls")
    p.stdin.write("go\n")
    p.stdin.flush()
    err = p.communicate(timeout=30)[1]
    check(p.returncode == 0, f"{method}: {how}: unlocked by the same process ({err.strip()})")
    if len(line) == 2:
        check(lock_gone(method, line[1]), f"{method}: {how}: no rule is left")
    check(receives(s, 50, ARRIVE), f"{method}: {how}: the data arrives")
    c.close()
    s.close()


NETNS_CHILD = r"""
import socket, sys, subprocess, time
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
sys.path.insert(0, sys.argv[1])
import run
c, s, t = run.pair()
print("ready", flush=True)
for line in sys.stdin:
    print("flows" if run.delivers(c, s, b"z" * 10, float(line)) else "stalls", flush=True)
"""


def test_netns(args, method):
    """A tree in its own net namespace: all of its traffic is dropped inside it."""
    p = subprocess.Popen(["unshare", "-n", sys.executable, "-c", NETNS_CHILD, HERE],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ask = lambda t: (p.stdin.write(f"{t}\n"), p.stdin.flush(), p.stdout.readline().strip())[2]
    if p.stdout.readline().strip() != "ready":
        check(False, f"{method}: netns: the child did not start")
        return
    h = subprocess.Popen([args.nltest, "-m", method, "netns", "--hold", str(p.pid)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    line = h.stdout.readline().split()
    check(len(line) == 2 and line[1] != "-", f"{method}: netns: locked whole ({line})")
    check(ask(STALL) == "stalls", f"{method}: netns: its loopback traffic stalls")
    c, s, t = pair()
    check(delivers(c, s, b"h" * 10, STALL), f"{method}: netns: the host's loopback still flows")
    if len(line) == 2:
        check(lock_gone(method, line[1]), f"{method}: netns: no rule in the host's namespace")
    h.stdin.write("go\n")
    h.stdin.flush()
    err = h.communicate(timeout=30)[1]
    check(h.returncode == 0, f"{method}: netns: unlocked inside it ({err.strip()})")
    check(ask(ARRIVE) == "flows", f"{method}: netns: its traffic flows again")
    p.stdin.close()
    p.wait(timeout=10)
    c.close()
    s.close()


ROOTLESS_CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
import run, subprocess
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
run.main(sys.argv[2:])
"""


def as_nobody(cmd):
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] + cmd


def test_rootless(args, methods):
    # in the user's own net namespace: CAP_NET_ADMIN there is enough
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    r = subprocess.run(as_nobody(["unshare", "-Urn", py, "-c", ROOTLESS_CHILD,
                                  HERE, "--inner", "--nltest", args.nltest] +
                                 ["--method=" + m for m in methods]),
                       capture_output=True, text=True, cwd="/")
    for line in r.stdout.splitlines():
        print("  (rootless, own netns) " + line)
    check(r.returncode == 0, f"rootless in its own net namespace: every check passed "
                             f"({r.stderr.strip()[-300:]})")
    # in the host's net namespace: no CAP_NET_ADMIN, so a clear refusal
    c, s, t = pair()
    for m in methods:
        r = subprocess.run(as_nobody(["unshare", "-Ur", args.nltest, "-m", m, "lock"] +
                                     lock_tuple("127.0.0.1", t)),
                           capture_output=True, text=True, cwd="/")
        check(r.returncode == 1 and "CAP_NET_ADMIN" in r.stderr,
              f"{m}: rootless on the host's net namespace fails saying why "
              f"({r.stderr.strip()})")
    check(delivers(c, s, b"r" * 10, STALL), "rootless failure left the host's traffic alone")
    c.close()
    s.close()


def crit_inventory(d):
    r = subprocess.run(["crit", "decode", "-i", os.path.join(d, "inventory.img")],
                       capture_output=True, text=True)
    return json.loads(r.stdout)["entries"][0] if r.returncode == 0 else {}


def test_criu(args, methods):
    """criu's --network-lock: parsed, said in the log, recorded in inventory.img."""
    r = subprocess.run([args.criu, "dump", "--network-lock", "bogus", "-t", "1"],
                       capture_output=True, text=True)
    check(r.returncode == 1 and "--network-lock" in r.stderr,
          f"criu refuses --network-lock bogus ({r.stderr.strip()})")
    want = {"iptables": 0, "nftables": 1, "skip": 2}
    for m in [None] + methods + ["skip"]:
        d = tempfile.mkdtemp(prefix="netlock-")
        p = subprocess.Popen(["sleep", "60"], start_new_session=True)
        cmd = [args.criu, "dump", "-t", str(p.pid), "-D", d, "-o", "dump.log", "-v4", "-R"]
        if m:
            cmd += ["--network-lock", m]
        r = subprocess.run(cmd, capture_output=True, text=True)
        inv = crit_inventory(d)
        exp = want[m] if m else want[methods[0]] if methods else 0
        check(r.returncode == 0 and inv.get("network_lock_method") == exp,
              f"criu dump --network-lock {m or '(default)'}: inventory says "
              f"{inv.get('network_lock_method')}, want {exp} ({r.stderr.strip()})")
        p.kill()
        p.wait()
        shutil.rmtree(d)


def add_run_id(d, run_id):
    """Append dump_criu_run_id (field 13, a string) to inventory.img's entry."""
    path = os.path.join(d, "inventory.img")
    with open(path, "rb") as f:
        raw = f.read()
    magic, n = raw[:4], int.from_bytes(raw[4:8], "little")
    rid = run_id.encode()
    msg = raw[8:8 + n] + bytes([13 << 3 | 2, len(rid)]) + rid
    with open(path, "wb") as f:
        f.write(magic + len(msg).to_bytes(4, "little") + msg)


def test_criu_restore_unlocks(args, method):
    """criu restore removes the lock another process made, named in inventory.img."""
    mnum = {"iptables": "0", "nftables": "1"}[method]
    d = tempfile.mkdtemp(prefix="netlock-")
    p = subprocess.Popen(["sleep", "60"], start_new_session=True)
    r = subprocess.run([args.criu, "dump", "-t", str(p.pid), "-D", d, "-o", "dump.log",
                        "--network-lock", method], capture_output=True, text=True)
    p.wait()
    check(r.returncode == 0, f"{method}: criu dump ({r.stderr.strip()})")
    c, s, t = pair()
    r = nltest(args, "-m", method, "lock", *lock_tuple("127.0.0.1", t))
    run_id = r.stdout.split()[1] if r.returncode == 0 else "-"
    check(not delivers(c, s, b"k" * 10, STALL), f"{method}: a connection locked for criu restore")
    shutil.copy(os.path.join(d, "inventory.img"), os.path.join(d, "inventory.orig"))
    add_run_id(d, "0; flush ruleset")
    r = subprocess.run([args.criu, "restore", "-D", d, "-o", "bad.log", "-d"],
                       capture_output=True, text=True)
    check(r.returncode == 1 and "not a run id" in r.stderr,
          f"{method}: criu restore refuses a run id that is no UUID ({r.stderr.strip()})")
    shutil.copy(os.path.join(d, "inventory.orig"), os.path.join(d, "inventory.img"))
    add_run_id(d, run_id)
    pidfile = os.path.join(d, "pid")
    r = subprocess.run([args.criu, "restore", "-D", d, "-o", "restore.log", "-v4", "-d",
                        "--pidfile", pidfile], capture_output=True, text=True)
    check(r.returncode == 0, f"{method}: criu restore ({r.stderr.strip()})")
    with open(os.path.join(d, "restore.log")) as f:
        log = f.read()
    check(f"removed ({method}, CRIU-{run_id})" in log, f"{method}: criu restore says it unlocked")
    check(lock_gone(method, run_id), f"{method}: criu restore removed the lock of {run_id}")
    check(receives(s, 10, ARRIVE), f"{method}: the connection flows after criu restore")
    if os.path.exists(pidfile):
        with open(pidfile) as f:
            os.kill(int(f.read()), 9)
    nltest(args, "unlock", mnum, run_id)
    c.close()
    s.close()
    shutil.rmtree(d)


def available_methods(args):
    ms = []
    if nltest(args, "default").stdout.strip() == "1" and shutil.which("nft"):
        ms.append("nftables")
    if shutil.which("iptables-restore") and shutil.which("ip6tables-restore"):
        ms.append("iptables")
    return ms


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--criu", default=os.path.join(ROOT, "build/criu/criu"))
    ap.add_argument("--nltest", default=None)
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--method", action="append", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not args.nltest:
        args.nltest = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
            args.criu))), "test/netlock/nltest")
    methods = args.method or available_methods(args)
    if not args.inner:
        print(f"== network lock methods here: {' '.join(methods) or 'none'}")
        if "nftables" not in methods or "iptables" not in methods:
            print("note: a method is missing: apt-get install nftables iptables libnftables-dev")
    for m in methods:
        test_method(args, m)
        test_hold(args, m, late=False)
        test_hold(args, m, late=True)
        if not args.inner:
            test_netns(args, m)
    if not args.inner:
        test_rootless(args, methods)
        test_criu(args, methods)
        for m in methods:
            test_criu_restore_unlocks(args, m)
    print(f"== {'all passed' if not failures else f'{failures} FAILED'}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
