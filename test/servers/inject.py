#!/usr/bin/env python3
"""Make a running process call one system call, for run.py --probe.

Usage: inject.py PID NR [ARG]...   (as root; x86_64)

Attaches to PID with ptrace, points its registers at a `syscall`
instruction found in its own code with NR and the args, single-steps it,
prints the return value, puts the registers back and detaches.  A syscall
PID was blocked in is restarted by the kernel as after any signal.  It runs
as a process of its own so that no other thread of the runner reaps the
ptrace stops.  (gdb's `call` cannot do this here: it fails to write the
extended register state on this kernel.)
"""

import ctypes
import os
import sys

PTRACE_SINGLESTEP, PTRACE_GETREGS, PTRACE_SETREGS = 9, 12, 13
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
REGS = ("r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags "
        "rsp ss fs_base gs_base ds es fs gs").split()

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = (ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


class Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in REGS]


def ptrace(req, pid, addr, data):
    if libc.ptrace(req, pid, addr, data) < 0:
        e = ctypes.get_errno()
        raise OSError(e, "ptrace(%d, %d): %s" % (req, pid, os.strerror(e)))


def wait_stop(pid):
    _, st = os.waitpid(pid, 0x40000000)         # __WALL
    if not os.WIFSTOPPED(st):
        raise OSError("pid %d did not stop (status %#x)" % (pid, st))
    return os.WSTOPSIG(st)


def find_syscall_insn(pid):
    """The address of a `syscall` (0f 05) in an executable mapping of pid."""
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb") as mem:
        for l in maps:
            f = l.split()
            if "x" not in f[1] or (len(f) > 5 and f[5] in ("[vsyscall]",)):
                continue
            start, end = (int(x, 16) for x in f[0].split("-"))
            try:
                mem.seek(start)
                data = mem.read(min(end - start, 1 << 22))
            except OSError:
                continue
            i = data.find(b"\x0f\x05")
            if i >= 0:
                return start + i
    raise OSError("no syscall instruction in pid %d's code" % pid)


def inject(pid, nr, args):
    ptrace(PTRACE_ATTACH, pid, None, None)
    try:
        while wait_stop(pid) != 19:              # SIGSTOP; another signal stays pending
            pass
        saved = Regs()
        ptrace(PTRACE_GETREGS, pid, None, ctypes.byref(saved))
        r = Regs.from_buffer_copy(saved)
        r.rip = find_syscall_insn(pid)
        r.rax, r.orig_rax = nr, 2 ** 64 - 1
        for name, v in zip(("rdi", "rsi", "rdx", "r10", "r8", "r9"), args):
            setattr(r, name, v & (2 ** 64 - 1))
        ptrace(PTRACE_SETREGS, pid, None, ctypes.byref(r))
        ptrace(PTRACE_SINGLESTEP, pid, None, None)
        wait_stop(pid)
        ptrace(PTRACE_GETREGS, pid, None, ctypes.byref(r))
        ptrace(PTRACE_SETREGS, pid, None, ctypes.byref(saved))
        ret = ctypes.c_longlong(r.rax).value
    finally:
        ptrace(PTRACE_DETACH, pid, None, None)
    return ret


if __name__ == "__main__":
    print(inject(int(sys.argv[1]), int(sys.argv[2]), [int(a, 0) for a in sys.argv[3:]]))
