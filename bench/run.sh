#!/bin/sh
# The bench table (dump, restore, frozen time, RSS at 256 MiB, 1 GiB, 4 GiB); see bench/README.md.
# Usage: bench/run.sh [--runs N] [--sizes 256,1024,4096] [--dir D] ...  (as root)
python3 "$(dirname "$0")/table.py" "$@" || exit $?
# the lazy restore's rows (bench/lazy.sh)
exec sh "$(dirname "$0")/lazy.sh"
