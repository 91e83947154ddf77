#!/bin/sh
# The live demo: start a counting process, dump it, restore it, and show
# it counting on from the exact number where it was frozen.
# Usage: scripts/demo.sh   (as root)
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh

CRIU=build/criu/criu
DIR=$(mktemp -d /tmp/criu-demo.XXXXXX)
LOG=$DIR/counter.out
PID=

cleanup() {
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null || true
}
trap cleanup EXIT

wait_gone() {
	# the killed process is reaped by init; its pid must be free again
	i=0
	while [ -e "/proc/$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

echo "== starting a counter (its output goes to $LOG)"
setsid build/test/demo/counter </dev/null >>"$LOG" 2>&1 &
sleep 0.3
PID=$(sed -n '1s/^pid \([0-9]*\) .*/\1/p' "$LOG")
sleep 1.2
tail -n 3 "$LOG"

echo "== criu dump -t $PID -D $DIR/img (the process is killed after the dump)"
$CRIU dump -t "$PID" -D "$DIR/img" -o dump.log -v4
LAST=$(tail -n 1 "$LOG")
echo "last line before the dump: $LAST"
wait_gone "$PID"
sleep 1
echo "one second later, still: $(tail -n 1 "$LOG")"
[ -e "/proc/$PID" ] && { echo "demo: pid $PID is still there"; exit 1; }

echo "== criu restore -D $DIR/img -d"
$CRIU restore -D "$DIR/img" -d -o restore.log -v4
sleep 1.2
echo "== the same process goes on counting, same pid, from the next number:"
grep -A 4 -F "$LAST" "$LOG"
NEXT=$(grep -A 1 -F "$LAST" "$LOG" | sed -n 2p)
kill -TERM "$PID"
PID=

# the line after the last dumped one must be count+1 from the same pid
want=$(echo "$LAST" | awk '{print $2, $4 + 1}')
got=$(echo "$NEXT" | awk '{print $2, $4}')
if [ "$want" = "$got" ]; then
	echo "== demo OK: restored at count $(echo "$NEXT" | awk '{print $4}')"
else
	echo "== demo FAILED: expected pid/count '$want', got '$got'"
	exit 1
fi
