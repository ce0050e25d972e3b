#!/bin/bash
# The test suite under AddressSanitizer, LeakSanitizer and UBSan: builds
# build-asan/ (dynamic: the sanitizer runtimes cannot be linked statically),
# runs the unit tests there, then the integration tests against that
# husk-runtime and that husk (with its husk-monitor). Any sanitizer report fails the run, even from a process whose
# exit status a test ignores (hooks, a container's init, `run` in a test that
# expects failure): reports go to files, counted at the end.
#
#   tests/sanitize.sh [--unit-only] [BATS FILES...]
#
#   CC=clang tests/sanitize.sh     use clang rather than the default compiler
#   HUSK_ASAN_BUILD=DIR            build directory (default build-asan)
#   HUSK_SANITIZE_TIMEOUT=SECONDS  the limit on this whole script (tests/run.sh
#                                  sets it): the integration tests then stop
#                                  120 s short of it, so that their counts and
#                                  the sanitizer reports of what ran get out
#
# Ends with one line "N passed, N failed, N skipped"; exits non-zero on
# failure, keeping the logs and full reports. Leak reports that are not husk's
# fault go in tests/sanitize.supp.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

# The ASan of gcc 12 and clang 14 maps its shadow memory at fixed addresses,
# which a kernel with vm.mmap_rnd_bits above 28 (32 on many newer distribution
# and CI kernels) may give to something else: every sanitized program then
# crashes at start-up or loops printing AddressSanitizer:DEADLYSIGNAL
# (google/sanitizers#1614, fixed in LLVM 17/18). Then the whole run (build,
# unit tests, bats and every runtime it starts) goes on without address
# randomization: setarch -R sets the personality flag ADDR_NO_RANDOMIZE, which
# children inherit and which ends with this run. Lowering the sysctl instead
# would change the machine for every other process, other test runs included,
# and would stay changed if this script were killed before a trap restored it.
rnd_bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)
if [ "$rnd_bits" -gt 28 ] && ! ((0x$(cat /proc/self/personality) & 0x0040000)); then
	echo "== vm.mmap_rnd_bits is $rnd_bits (> 28): running under setarch -R (no address randomization)"
	exec setarch "$(uname -m)" -R "$REPO/tests/sanitize.sh" "$@"
fi
# ASan reserves terabytes of shadow with MAP_NORESERVE, which strict
# overcommit accounts in full: nothing sanitized could start.
if [ "$(cat /proc/sys/vm/overcommit_memory 2>/dev/null)" = 2 ]; then
	echo "not ok - vm.overcommit_memory is 2 (strict): AddressSanitizer cannot reserve its shadow memory"
	echo "0 passed, 1 failed"
	exit 1
fi
BUILD=${HUSK_ASAN_BUILD:-build-asan}
UNIT_ONLY=0
FILES=()
for a in "$@"; do
	case $a in
	--unit-only) UNIT_ONLY=1 ;;
	*) FILES+=("$a") ;;
	esac
done

# Tests that cannot pass with a dynamically linked runtime, which any
# sanitizer build is (say, the container would run the runtime binary, and
# its rootfs has no ld.so or libasan). Their failure counts as a skip; they
# run (and must pass) in tests/run.sh. None now: since the CVE-2019-5736
# guard (src/lib/selfexe.c), /proc/self/exe in a container runs nothing.
STATIC_ONLY=()

START=$(date +%s)
PASS=0 FAIL=0 SKIP=0
LOG=$(mktemp -d /tmp/husk-sanitize.XXXXXX)
chmod 755 "$LOG" # reports from processes that dropped privileges (rootless tests)
mkdir -m 1777 "$LOG/reports"
KEEP_LOG=0
trap '[ $KEEP_LOG = 1 ] || rm -rf "$LOG"' EXIT

elapsed() { echo "$(($(date +%s) - START))s"; }

if [ ! -f "$BUILD/build.ninja" ]; then
	# debugoptimized: symbols for the reports, and assertions stay on.
	meson setup "$BUILD" --buildtype=debugoptimized -Dstatic=false \
		-Db_sanitize=address,undefined -Db_lundef=false >"$LOG/setup" 2>&1 ||
		{ cat "$LOG/setup"; echo "0 passed, 1 failed"; exit 1; }
fi
if ! ninja -C "$BUILD" >"$LOG/build" 2>&1; then
	tail -40 "$LOG/build"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "== built $BUILD ($(elapsed))"

# halt_on_error: UBSan only prints by default, and a test would pass anyway.
# log_path: one file per reporting process (PREFIX.PID), so that no report is
# lost in a stderr that a test does not look at.
SUPP=$REPO/tests/sanitize.supp
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$LOG/reports/asan"
export LSAN_OPTIONS="suppressions=$SUPP:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$LOG/reports/ubsan"

. "$REPO/tests/tap-count.bash"

# reports PHASE: prints and counts (as failures) the reports written so far.
reports() {
	local f n=0
	for f in "$LOG"/reports/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		echo "not ok - $1: sanitizer report $(basename "$f")"
		sed -n '1,40p' "$f" | sed 's/^/#   /'
		mv "$f" "$LOG/$1.$(basename "$f")"
	done
	FAIL=$((FAIL + n))
}

echo "== unit tests"
# The unit programs print TAP; meson's log keeps each program's output.
meson test -C "$BUILD" --suite unit --print-errorlogs >"$LOG/unit" 2>&1
unit_rc=$?
grep -E '^ *[0-9]+/[0-9]+ ' "$LOG/unit" | sed 's/^ *//'
tap=$BUILD/meson-logs/testlog.txt
if [ -f "$tap" ]; then
	count_tap "$tap"
	grep -E '^not ok ' "$tap"
fi
if [ $unit_rc != 0 ] && ! grep -q '^not ok ' "$tap" 2>/dev/null; then
	tail -30 "$LOG/unit"
	echo "not ok - meson test exited $unit_rc"
	FAIL=$((FAIL + 1))
fi
reports unit
echo "unit: done ($(elapsed))"

if [ $UNIT_ONLY = 0 ]; then
	echo "== integration tests against $BUILD/src/runtime/husk-runtime and $BUILD/src/engine/husk"
	[ ${#FILES[@]} -gt 0 ] || FILES=(tests/integration/*.bats)
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: integration tests need root"
		SKIP=$((SKIP + 1))
	else
		limit=() rc=0 t0=$(date +%s)
		if [ -n "${HUSK_SANITIZE_TIMEOUT:-}" ]; then
			left=$((HUSK_SANITIZE_TIMEOUT - (t0 - START) - 120))
			[ $left -ge 60 ] || left=60
			limit=(timeout -k 30 "$left")
		fi
		HUSK_RUNTIME=$REPO/$BUILD/src/runtime/husk-runtime \
			HUSK_ENGINE=$REPO/$BUILD/src/engine/husk "${limit[@]}" \
			bats --tap --timing "${FILES[@]}" >"$LOG/bats" 2>&1 || rc=$?
		if [ ${#limit[@]} -gt 0 ] && { [ $rc = 124 ] || [ $rc = 137 ]; }; then
			echo "not ok - integration tests: stopped after $left s, short of the phase's" \
				"$HUSK_SANITIZE_TIMEOUT s ($(grep -cE '^(ok|not ok) ' "$LOG/bats") of" \
				"$(sed -n 's/^1\.\.//p' "$LOG/bats" | head -1) tests ran)"
			FAIL=$((FAIL + 1))
		fi
		tests_took="the tests took $(($(date +%s) - t0))s${limit[3]:+ of their ${limit[3]}s limit}"
		for name in "${STATIC_ONLY[@]}"; do
			# a literal match of the name, turned into a TAP skip
			awk -v n="$name" 'index($0, "not ok ") == 1 && index($0, n) {
				sub(/^not ok/, "ok"); $0 = $0 " # skip needs a static husk-runtime" } 1' \
				"$LOG/bats" >"$LOG/bats.new" && mv "$LOG/bats.new" "$LOG/bats"
		done
		# each failure with its diagnostics
		awk '/^not ok /{p=1} /^ok /{p=0} p' "$LOG/bats" | head -300
		grep -E '^ok .*# skip' "$LOG/bats" | sed 's/^ok [0-9]* /SKIP: /'
		count_tap "$LOG/bats"
		echo "integration: $(grep -c '^ok' "$LOG/bats") ok, $(grep -c '^not ok' "$LOG/bats") not ok"
		# A report printed to a stderr that a test captured rather than to
		# the file (a process that lost access to $LOG in its container).
		if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG/bats"; then
			echo "not ok - sanitizer output in the bats log:"
			grep -E -m5 -B2 -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG/bats"
			FAIL=$((FAIL + 1))
		fi
		reports integration
	fi
	echo "integration: done ($(elapsed)${tests_took:+; $tests_took})"
fi

echo "sanitize: took $(elapsed)${HUSK_SANITIZE_TIMEOUT:+ of its ${HUSK_SANITIZE_TIMEOUT}s limit}"
if [ $FAIL -gt 0 ]; then
	KEEP_LOG=1
	echo "logs and sanitizer reports kept in $LOG"
fi
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ $FAIL = 0 ]
