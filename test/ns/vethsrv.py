"""An echo server to checkpoint in a net namespace reached through a veth.

Usage: python3 vethsrv.py STATEDIR PORT TAG

Listens on 0.0.0.0:PORT, echoes whatever each connection sends, keeps
every connection open, writes STATEDIR/ready once it listens.  TAG only
marks the command line (see run.py).  One process, no threads, stdio is
whatever the runner gave.
"""
import os
import select
import socket
import sys

STATE, PORT = sys.argv[1], int(sys.argv[2])

lsk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lsk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsk.bind(('0.0.0.0', PORT))
lsk.listen(8)
with open(os.path.join(STATE, 'ready.tmp'), 'w') as f:
    f.write('%d\n' % os.getpid())
os.rename(os.path.join(STATE, 'ready.tmp'), os.path.join(STATE, 'ready'))
conns = []
while True:
    r, _, _ = select.select([lsk] + conns, [], [])
    for s in r:
        if s is lsk:
            c, _ = lsk.accept()
            conns.append(c)
            continue
        data = s.recv(4096)
        if not data:
            conns.remove(s)
            s.close()
        else:
            s.sendall(data)
