#!/bin/bash
# Runs every libFuzzer target for a while, from its seed corpus.
#
#   tests/fuzz/run.sh [-j N] [--keep] [--merge] [--no-known] [SECONDS] [TARGET...]
#
#   SECONDS   per target (default 60); TARGET: config, state, ... (default all)
#   -j N      run N targets at once (default 1; the machine has 2 cores)
#   --keep    keep the work directory (new corpus entries, logs) and print it
#   --merge   add the inputs that found new coverage to tests/fuzz/corpus/
#             (libFuzzer -merge=1 keeps only those; review before committing)
#   --no-known  leave the open findings out, to fuzz past them: the corpus's
#             crash-* inputs, and inputs of the same shape (HUSK_FUZZ_NO_KNOWN);
#             by default they run first and fail the target
#
# The corpus is copied to a temporary work directory first, so the repo's
# corpus grows only with --merge. Prints one line per target, then
# "fuzz: N passed, N failed"; exits non-zero on any crash, leak, timeout or
# out-of-memory, and then keeps the work directory (the inputs are in it).
# Prints "SKIP: <reason>" and exits 0 without clang/libFuzzer (Debian:
# apt-get install clang libclang-rt-14-dev).
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
BUILD=${HUSK_FUZZ_BUILD:-build-fuzz}
ALL=(config process mountopts signal idmap seccomp state resources store-layer store-image store-archive publish)
JSON_TARGETS=" config process seccomp state resources store-image "

SECONDS_PER=60 JOBS=1 KEEP=0 MERGE=0 NO_KNOWN=0
TARGETS=()
while [ $# -gt 0 ]; do
	case $1 in
	-j) JOBS=$2; shift ;;
	-j*) JOBS=${1#-j} ;;
	--keep) KEEP=1 ;;
	--merge) MERGE=1 ;;
	--no-known) NO_KNOWN=1 ;;
	-h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	[0-9]*) SECONDS_PER=$1 ;;
	*) TARGETS+=("${1#fuzz-}") ;;
	esac
	shift
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")

skip() {
	echo "SKIP: $*"
	exit 0
}

# libFuzzer ships with clang's runtime libraries, packaged apart from clang.
command -v clang >/dev/null || skip "clang is not installed (apt-get install clang libclang-rt-14-dev)"
probe=$(mktemp -d /tmp/husk-fuzz-probe.XXXXXX)
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' >"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>/dev/null; then
	rm -rf "$probe"
	skip "clang cannot link libFuzzer (apt-get install libclang-rt-14-dev)"
fi
rm -rf "$probe"

if [ ! -f "$BUILD/build.ninja" ]; then
	echo "configuring $BUILD"
	CC=clang meson setup "$BUILD" --buildtype=debugoptimized -Dfuzz=true -Dstatic=false \
		-Db_sanitize=address,undefined -Db_lundef=false >"/tmp/husk-fuzz-setup.log" 2>&1 ||
		{ cat /tmp/husk-fuzz-setup.log; echo "fuzz: 0 passed, 1 failed"; exit 1; }
fi
# A build directory set up without the targets (someone else's settings).
grep -q 'tests/fuzz/fuzz-' "$BUILD/build.ninja" ||
	meson configure "$BUILD" -Dfuzz=true >/dev/null || exit 1
ninja_targets=()
for t in "${TARGETS[@]}"; do
	[ -f "tests/fuzz/fuzz-$t.c" ] || { echo "no such target: fuzz-$t"; exit 2; }
	ninja_targets+=("tests/fuzz/fuzz-$t")
done
if ! ninja -C "$BUILD" "${ninja_targets[@]}" >/tmp/husk-fuzz-build.log 2>&1; then
	tail -40 /tmp/husk-fuzz-build.log
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi

WORK=$(mktemp -d /tmp/husk-fuzz.XXXXXX)
# Kept with --keep, and after a finding (the inputs are in it).
trap '[ $KEEP = 1 ] || rm -rf "$WORK"' EXIT

# The targets leave out the inputs of open findings too (fuzz-seccomp).
[ $NO_KNOWN = 0 ] || export HUSK_FUZZ_NO_KNOWN=1
# A UBSan report must end the run, or libFuzzer would never record it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

# run_target NAME: fuzzes one target; writes WORK/NAME.result.
run_target() {
	local t=$1 dir=$WORK/$t args=() rc runs artifact kind
	mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/tmp"
	cp -r "tests/fuzz/corpus/$t/." "$dir/corpus/" 2>/dev/null
	[ $NO_KNOWN = 0 ] || rm -f "$dir/corpus"/crash-*
	case $JSON_TARGETS in *" $t "*) args+=("-dict=tests/fuzz/json.dict") ;; esac
	TMPDIR=$dir/tmp "$BUILD/tests/fuzz/fuzz-$t" "${args[@]}" \
		-max_total_time="$SECONDS_PER" -rss_limit_mb=2048 -timeout=25 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
		"$dir/corpus" >"$dir/log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	[ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$dir/log" | tail -1)
	artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$dir/log" | tail -1)
	if [ $rc = 0 ] && [ -z "$artifact" ]; then
		echo "fuzz-$t: ${runs:-0} runs, no crash" >"$WORK/$t.result"
		return
	fi
	# crash-, leak-, timeout-, oom-: what libFuzzer names the input after
	kind=$(basename "${artifact:-crash-}" | sed 's/-.*//' | tr a-z A-Z)
	{
		echo "fuzz-$t: $kind after ${runs:-?} runs (exit $rc): ${artifact:-no input saved}"
		grep -E -m1 -A30 '^==[0-9]+== ?ERROR|runtime error:|invariant broken' "$dir/log" |
			grep -vE 'in fuzzer::|libc_start|in _start|in main ' | sed 's/^/    /'
	} >"$WORK/$t.result"
}

running=0
for t in "${TARGETS[@]}"; do
	run_target "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

PASS=0 FAIL=0
for t in "${TARGETS[@]}"; do
	cat "$WORK/$t.result"
	if grep -q ', no crash$' "$WORK/$t.result"; then
		PASS=$((PASS + 1))
	else
		FAIL=$((FAIL + 1))
	fi
	if [ $MERGE = 1 ]; then
		TMPDIR=$WORK/$t/tmp "$BUILD/tests/fuzz/fuzz-$t" -merge=1 -timeout=25 \
			"tests/fuzz/corpus/$t" "$WORK/$t/corpus" >"$WORK/$t/merge.log" 2>&1
		echo "  merged into tests/fuzz/corpus/$t: $(grep -o 'MERGE-OUTER: [0-9]* new files' \
			"$WORK/$t/merge.log" | tail -1 | sed 's/MERGE-OUTER: //')"
	fi
done
[ $FAIL -gt 0 ] && KEEP=1
[ $KEEP = 1 ] && echo "work directory (kept): $WORK"
echo "fuzz: $PASS passed, $FAIL failed"
[ $FAIL = 0 ]
