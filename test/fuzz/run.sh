#!/bin/sh
# Build the image fuzzer with clang (ASan, UBSan, libFuzzer) in build-fuzz/
# and run it over the seed corpus for FUZZ_SECONDS (default 120) seconds.
# Exits non-zero on any crash, leak of the sanitizers' kind, or hang; the
# input that did it is left in build-fuzz/crash-* (add it to corpus/ once
# fixed).  FUZZ_RUNS=N runs N inputs instead of a time limit.
set -eu
cd "$(dirname "$0")/../.."
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Dwerror=false >/dev/null
fi
ninja -C build-fuzz test/fuzz/fuzz-images >/dev/null
rm -f build-fuzz/crash-* build-fuzz/leak-* build-fuzz/timeout-* build-fuzz/oom-*
work=$(mktemp -d /tmp/criu-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ -n "${FUZZ_RUNS:-}" ]; then
	limit="-runs=$FUZZ_RUNS"
else
	limit="-max_total_time=${FUZZ_SECONDS:-120}"
fi
# -close_fd_mask=2: criu's own error lines would flood the output
build-fuzz/test/fuzz/fuzz-images $limit -close_fd_mask=2 -timeout=10 \
	-rss_limit_mb=2048 -detect_leaks=1 -artifact_prefix=build-fuzz/ -print_final_stats=1 \
	"$work" test/fuzz/corpus 2>&1 | grep -E "^(#[0-9]+ +DONE|Done|stat::number_of_executed_units|==|SUMMARY|.*ERROR|.*Test unit written)" || true
# the pipe loses the fuzzer's status: a crash leaves an artifact behind
if ls build-fuzz/crash-* build-fuzz/leak-* build-fuzz/timeout-* build-fuzz/oom-* >/dev/null 2>&1; then
	echo "fuzz: FAILED, inputs in build-fuzz/"
	exit 1
fi
echo "fuzz: no crash"
