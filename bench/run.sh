#!/bin/sh
# The bench table (dump, restore, frozen time, RSS at 256 MiB, 1 GiB, 4 GiB); see bench/README.md.
# Usage: bench/run.sh [--runs N] [--sizes 256,1024,4096] [--dir D] ...  (as root)
exec python3 "$(dirname "$0")/table.py" "$@"
