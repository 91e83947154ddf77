#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Pack an image directory into one input of fuzz-images (see fuzz-images.c).

usage: mkseed.py IMGDIR OUTFILE [MAX_PAGES_BYTES]
"""
import os
import re
import struct
import sys

# the order of kinds[] in fuzz-images.c
KINDS = ['inventory', 'pstree', 'core', 'mm', 'ids', 'fs', 'fdinfo', 'pagemap', 'pages',
         'files', 'seccomp', 'cpuinfo']


def pack(imgdir, max_pages):
    out = b''
    for name in sorted(os.listdir(imgdir)):
        m = re.fullmatch(r'([a-z]+)(?:-(\d+))?\.img', name)
        if not m or m.group(1) not in KINDS:
            continue
        with open(os.path.join(imgdir, name), 'rb') as f:
            data = f.read()
        if m.group(1) == 'pages' and len(data) > max_pages:
            data = struct.pack('<Q', len(data) // 4096)   # a sparse file of that size
        out += struct.pack('<BII', KINDS.index(m.group(1)), int(m.group(2) or 0), len(data))
        out += data
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    max_pages = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 16
    data = pack(sys.argv[1], max_pages)
    with open(sys.argv[2], 'wb') as f:
        f.write(data)


if __name__ == '__main__':
    main()
