#!/bin/sh
# Lazy restore next to the eager one: time from `criu restore -d` to the
# process running, per size (LAZY_SIZES MiB, default 16,256,1024,4096); see
# bench/README.md.  Needs root and a built tree (build/criu/criu).
cd "$(dirname "$0")/.." || exit 1
echo
echo "lazy restore (criu restore -d --lazy-pages + criu lazy-pages) vs eager restore:"
exec nice -n -10 python3 test/lazy/run.py --criu build/criu/criu --time "${LAZY_SIZES:-16,256,1024,4096}"
