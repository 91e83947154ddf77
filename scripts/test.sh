#!/bin/sh
# Set everything up and run every test; exits non-zero if any failed.
# Usage: scripts/test.sh   (as root)
set -u
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

rc=0
run() {
	echo "== $*"
	"$@" || rc=1
}

run build/criu/criu check
run meson test -C build --print-errorlogs
run python3 test/zdtm.py run --full --keep-going
if [ -x test/failures/run.py ]; then
	run python3 test/failures/run.py --criu build/criu/criu
fi

if [ $rc -eq 0 ]; then
	echo "== all tests passed"
else
	echo "== some tests FAILED"
fi
exit $rc
