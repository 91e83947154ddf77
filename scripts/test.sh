#!/bin/sh
# Set everything up and run every test; exits non-zero if any failed.
# Usage: scripts/test.sh   (as root)
set -u
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

# The rootless tests run criu and the test programs as uid 65534: from a
# checkout that user cannot reach (under /root, say), test a copy.
# The mount tests bind the checkout's top directory into their containers,
# whose /tmp is a tmpfs of their own: a checkout under /tmp is tested as a copy too.
here=$(pwd)
if [ "${here#/tmp/}" != "$here" ] ||
	! (cd / && setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	test -x "$here/build/criu/criu") 2>/dev/null; then
	copy=/var/tmp/criu-cr-test
	echo "== $(pwd) is under /tmp or not reachable by uid 65534: testing a copy in $copy"
	rm -rf "$copy" && mkdir -p "$copy" && cp -a . "$copy/" && chmod -R o+rX "$copy" ||
		exit 1
	rm -rf "$copy/build"
	exec "$copy/scripts/test.sh"
fi

rc=0
run() {
	echo "== $*"
	"$@" || rc=1
}

run build/criu/criu check
# the option list in Documentation/options.md follows criu/crtools.c
run python3 scripts/options-doc.py --check
run meson test -C build --print-errorlogs
run python3 test/zdtm.py run --full --keep-going -f h -f ns -f uns -f rootless
run python3 test/zdtm.py run --dump-only --keep-going -f h
# iterative dumps and the page server in every flavor (issue 11), besides their own suites
run python3 test/zdtm.py run --pre 2 --keep-going -t maps00,cow00,thread00,fork00 -f h -f uns -f rootless
run python3 test/zdtm.py run --page-server --keep-going -t maps00,cow00,thread00,fork00 -f h -f uns -f rootless
run python3 test/zdtm.py run --lazy-pages --keep-going -t lazy00,maps00,thread00,fork00 -f h -f ns -f uns -f rootless
for t in test/failures/run.py test/interrupt/run.py test/soak/run.py test/ns/run.py \
	test/programs/run.py test/netlock/run.py test/interchange/run.py test/pageserver/run.py \
	test/predump/run.py test/lazy/run.py test/containers/run.py \
	test/containers/crun.py; do
	[ -x "$t" ] && run python3 "$t" --criu build/criu/criu
done
[ -x test/servers/run.py ] && run python3 test/servers/run.py --criu build/criu/criu
# the RPC, with Debian's pycriu messages (the system python has its protobuf)
run /usr/bin/python3 test/rpc/run.py --criu build/criu/criu
# the image readers under libFuzzer, ASan and UBSan, for a bounded time
run env FUZZ_SECONDS=${FUZZ_SECONDS:-120} test/fuzz/run.sh

if [ $rc -eq 0 ]; then
	echo "== all tests passed"
else
	echo "== some tests FAILED"
fi
exit $rc
