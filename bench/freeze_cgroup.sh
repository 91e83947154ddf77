#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# How long criu takes to freeze a tree of N processes (stats-dump
# freezing_time), seizing task by task or with --freeze-cgroup.
#
#   sudo bench/freeze_cgroup.sh [N] [ROUNDS] [CGROUP]
#
# N (400) processes of build/bench/forktree in CGROUP (default the v1
# freezer's /sys/fs/cgroup/freezer/bench-freeze; a v2 cgroup works too),
# dumped with -R ROUNDS (5) times each way, alternating.  Prints each
# sample and the medians, in ms.  Needs root, crit and a built tree.
set -e
cd "$(dirname "$0")/.."
N=${1:-400}
R=${2:-5}
CG=${3:-/sys/fs/cgroup/freezer/bench-freeze}
CRIU=build/criu/criu
TREE=build/bench/forktree
WORK=$(mktemp -d /tmp/bench-freeze.XXXXXX)

cleanup() {
	for t in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$t" 2>/dev/null || true; done
	sleep 0.5
	rmdir "$CG" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$CG"
sh -c "echo \$\$ > $CG/cgroup.procs; exec setsid $TREE $N $WORK/pid" </dev/null >/dev/null 2>&1 &
while [ ! -s "$WORK/pid" ]; do sleep 0.2; done
PID=$(cat "$WORK/pid")
echo "$(wc -l < "$CG/cgroup.procs") processes in $CG, root $PID"

freezing_ms() {
	crit show "$1/stats-dump" | python3 -c \
		"import json,sys; print(json.load(sys.stdin)['entries'][0]['dump']['freezing_time'] / 1000)"
}

declare -A all
for r in $(seq "$R"); do
	order="ptrace freezer"
	[ $((r % 2)) = 0 ] && order="freezer ptrace"
	for mode in $order; do
		d=$WORK/$mode-$r
		mkdir "$d"
		extra=()
		[ "$mode" = freezer ] && extra=(--freeze-cgroup "$CG")
		"$CRIU" dump -t "$PID" -D "$d" -R -o dump.log "${extra[@]}"
		ms=$(freezing_ms "$d")
		all[$mode]="${all[$mode]} $ms"
		echo "round $r $mode: $ms ms"
		rm -rf "$d"
	done
done
for mode in ptrace freezer; do
	echo "$mode median: $(echo ${all[$mode]} | tr ' ' '\n' | sort -n | \
		awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}') ms"
done
