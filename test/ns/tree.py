"""A small process tree to checkpoint: run as the init of a sandbox.

Usage: python3 tree.py STATEDIR TAG [DROP_UID]

Roles: "init" (the process started), which forks "child0" and "child1";
"child1" forks "gchild".  Every process counts in a loop.  On SIGUSR1 each
one writes STATEDIR/report-ROLE.json (atomically: a temporary file renamed)
with what it sees from inside: its pid, NSpid from its own /proc, its
counter, how many SIGUSR1 it has had, hostname, domainname, session, the
pids its /proc lists.  When all four are running, init writes
STATEDIR/ready.  init never exits on its own and reaps whatever dies.

TAG is only there to appear in every command line, so that a runner can find
the tree's processes by command line.  With DROP_UID, child0 drops to that
uid and gid (and no supplementary groups) before it checks in.

No file stays open between reports, stdin/stdout/stderr are whatever the
runner gave (it gives /dev/null), and nothing here starts a thread.
"""
import json
import os
import signal
import sys
import time

STATE = sys.argv[1]
DROP = int(sys.argv[3]) if len(sys.argv) > 3 else None
TICK = 0.01

role = 'init'
counter = 0
nsig = 0
pending = False


def on_usr1(signum, frame):
    global pending, nsig
    nsig += 1
    pending = True


def nspid():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('NSpid:'):
                return [int(x) for x in line.split()[1:]]
    return []


def proc_pids():
    return sorted(int(n) for n in os.listdir('/proc') if n.isdigit())


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError as e:
        return 'error: %s' % e


def write_atomic(name, data):
    tmp = os.path.join(STATE, '.%s.%d' % (name, os.getpid()))
    with open(tmp, 'w') as f:
        f.write(data)
    os.rename(tmp, os.path.join(STATE, name))


def report():
    write_atomic('report-%s.json' % role, json.dumps({
        'role': role,
        'pid': os.getpid(),
        'ppid': os.getppid(),
        'nspid': nspid(),
        'counter': counter,
        'nsig': nsig,
        'hostname': os.uname().nodename,
        'domainname': read('/proc/sys/kernel/domainname'),
        'sid': os.getsid(0),
        'pgid': os.getpgid(0),
        'uid': os.getresuid(),
        'gid': os.getresgid(),
        'proc_pids': proc_pids(),
    }))


def spawn(name, body):
    pid = os.fork()
    if pid == 0:
        global role, counter, nsig
        role, counter, nsig = name, 0, 0
        try:
            body()
        finally:
            os._exit(0)
    return pid


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def loop(on_tick=None):
    global counter, pending
    while True:
        counter += 1
        if pending:
            pending = False
            report()
        if on_tick:
            on_tick()
        time.sleep(TICK)


def check_in():
    write_atomic('up-' + role, str(os.getpid()))


def leaf():
    check_in()
    loop()


def child0():
    if DROP is not None:
        os.setgroups([])
        os.setresgid(DROP, DROP, DROP)
        os.setresuid(DROP, DROP, DROP)
    leaf()


def child1():
    spawn('gchild', leaf)
    check_in()
    loop(reap)


def main():
    signal.signal(signal.SIGUSR1, on_usr1)
    # Children inherit the handler; they reset their counters in spawn().
    spawn('child0', child0)
    spawn('child1', child1)
    # Ready when every role has a pid: each child checks in by a file.
    deadline = time.monotonic() + 20
    want = {'child0', 'child1', 'gchild'}
    while time.monotonic() < deadline:
        if all(os.path.exists(os.path.join(STATE, 'up-' + r)) for r in want):
            break
        time.sleep(TICK)
    write_atomic('ready', str(os.getpid()))
    loop(reap)


if __name__ == '__main__':
    main()
