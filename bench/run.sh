#!/bin/sh
# Run the criu dump/restore benchmark; see bench/README.md.  Usage: sudo bench/run.sh [--runs N] [--dir D] ...
python3 "$(dirname "$0")/bench.py" "$@" || exit $?
# the lazy restore's rows (bench/lazy.sh)
exec sh "$(dirname "$0")/lazy.sh"
