#!/bin/bash
# The whole test suite: build, unit tests, integration tests on this host,
# and the same integration tests in a qemu guest on a pure cgroup v2 kernel.
#
#   tests/run.sh                 everything (as root)
#   tests/run.sh --no-vm         skip the cgroup v2 guest lane
#   tests/run.sh --integration-only [FILES...]   (used inside the guest)
#
# Ends with one line "N passed, N failed, N skipped"; exits non-zero on failure.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
VM=1
ONLY_INTEGRATION=0
FILES=()
for a in "$@"; do
	case $a in
	--no-vm) VM=0 ;;
	--integration-only) ONLY_INTEGRATION=1 VM=0 ;;
	*) FILES+=("$a") ;;
	esac
done
[ "${HUSK_VM_LANE:-1}" = 0 ] && VM=0

PASS=0 FAIL=0 SKIP=0
# bats' per-test timeout finds a test's children with procps' ps.
if ps --version 2>/dev/null | grep -q procps; then
	export BATS_TEST_TIMEOUT=${HUSK_TEST_TIMEOUT:-300}
fi

# Phase limits, in seconds. A hang is caught by the per-test limit above
# (and, in most files, the per-call HUSK_TIMEOUT): these only keep a phase
# that is far slower than it should be from eating the whole CI budget,
# 90 min on 2 cores. The whole run takes ~30 min on the 2-core dev VM
# (roughly 8 min for the host's tests, 7 for the guest's, twice that on a
# loaded host, 11 for the sanitizer pass): each limit is ~3x its phase's
# share, and with the build, unit tests and fuzzing (~5 min) they stay
# within the budget. The time taken prints beside the limit after every
# phase, so the margin shows in every log. In the guest, the limit is what
# is left of the lane's (HUSK_VM_TIMEOUT, see below).
INTEGRATION_LIMIT=${HUSK_INTEGRATION_TIMEOUT:-1500}
VM_LIMIT=${HUSK_VM_TIMEOUT:-1800}
SANITIZE_LIMIT=${HUSK_SANITIZE_TIMEOUT:-1800}
if [ "${HUSK_VM:-0}" = 1 ] && [ -n "${HUSK_VM_TIMEOUT:-}" ]; then
	# Inside the guest, whose command tests/vm/run-lane.sh tells how long
	# the host gives it from the boot: the tests stop 90 s before the host
	# kills the guest, so that the counts and the failures still get out
	# (a smaller HUSK_INTEGRATION_TIMEOUT passed in applies as such).
	left=$((HUSK_VM_TIMEOUT - $(cut -d. -f1 /proc/uptime) - 90))
	[ $left -ge 60 ] || left=60
	if [ -z "${HUSK_INTEGRATION_TIMEOUT:-}" ] || [ "$HUSK_INTEGRATION_TIMEOUT" -gt $left ]; then
		INTEGRATION_LIMIT=$left
	fi
fi
LOG=$(mktemp -d /tmp/husk-tests.XXXXXX)
trap 'rm -rf "$LOG"' EXIT

. "$REPO/tests/tap-count.bash"

# detached LOGFILE CMD...: runs CMD in a session of its own, without a
# controlling terminal and with stdin from /dev/null, its output in LOGFILE,
# and echoes the failures in it ("not ok" and their comments) as they come.
# A test suite run from a terminal, or by a CI whose stdin is one, would
# otherwise have clients such as ctr stopped by SIGTTIN/SIGTTOU for ever.
detached() {
	local log=$1 pid rc
	shift
	setsid -w "$@" </dev/null >"$log" 2>&1 &
	pid=$!
	trap 'kill -TERM -- -'$pid' 2>/dev/null; exit 130' INT TERM
	tail -n +1 -f --pid=$pid "$log" 2>/dev/null |
		awk '/^not ok /{p=1} /^ok /{p=0} p {print; fflush()}' &
	wait $pid
	rc=$?
	trap - INT TERM
	wait
	return $rc
}

# took START [LIMIT]: "took N s" since START ($SECONDS), "of its LIMIT s
# limit" when there is one.
took() { echo "took $((SECONDS - $1)) s${2:+ of its $2 s limit}"; }

# timed_out RC: RC is the status of `timeout -k ...` that hit its limit
# (124; 137 when the command ignored TERM and was killed).
timed_out() { [ "$1" = 124 ] || [ "$1" = 137 ]; }

if [ $ONLY_INTEGRATION = 0 ]; then
	scripts/install-deps.sh --test || { echo "dependency installation failed"; exit 1; }
	t0=$SECONDS
	[ -d build ] || meson setup build >/dev/null || exit 1
	ninja -C build >"$LOG/build" 2>&1 || { cat "$LOG/build"; echo "0 passed, 1 failed"; exit 1; }
	echo "build: $(took $t0)"
	t0=$SECONDS
	echo "== unit tests"
	for t in build/tests/unit/test-*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		"$t" >"$LOG/unit" 2>&1
		rc=$?
		count_tap "$LOG/unit" >/dev/null
		grep -E '^not ok' -A3 "$LOG/unit"
		if [ $rc != 0 ] && ! grep -q '^not ok' "$LOG/unit"; then
			echo "not ok - $t exited $rc"; FAIL=$((FAIL + 1))
		fi
		echo "$(basename "$t"): $(grep -c '^ok' "$LOG/unit") ok, $(grep -c '^not ok' "$LOG/unit") not ok"
	done
	echo "unit: $(took $t0)"
fi

echo "== integration tests ($(uname -r), cgroup $(stat -f -c %T /sys/fs/cgroup))"
[ ${#FILES[@]} -gt 0 ] || FILES=(tests/integration/*.bats)
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: integration tests need root"
	SKIP=$((SKIP + 1))
else
	# A hung test must not hang the suite: bats kills a test after
	# HUSK_TEST_TIMEOUT seconds, and the whole phase has its own limit.
	# Failures print as they happen, so a cut-off log still names them.
	# (A file, not a pipe: a stray process holding a pipe open would hang it.)
	rc=0 t0=$SECONDS
	detached "$LOG/bats" timeout -k 30 "$INTEGRATION_LIMIT" \
		bats --tap --timing "${FILES[@]}" || rc=$?
	if timed_out $rc; then
		echo "not ok - integration tests: the phase timed out after $INTEGRATION_LIMIT s" \
			"($(grep -cE '^(ok|not ok) ' "$LOG/bats") of $(sed -n 's/^1\.\.//p' "$LOG/bats" | head -1) tests ran)"
		FAIL=$((FAIL + 1))
	fi
	grep -E '^ok .*# skip' "$LOG/bats" | sed 's/^ok [0-9]* /SKIP: /'
	count_tap "$LOG/bats" >/dev/null
	echo "integration: $(grep -c '^ok' "$LOG/bats") ok, $(grep -c '^not ok' "$LOG/bats") not ok;" \
		"$(took $t0 "$INTEGRATION_LIMIT")"
fi

# summarize STEP LOGFILE RC: adds a sub-run's closing "N passed, N failed"
# line to the totals; a failing run without one counts as one failure.
summarize() {
	local line p f s
	line=$(grep -E '^(fuzz: )?[0-9]+ passed, [0-9]+ failed' "$2" | tail -1)
	if [ -n "$line" ]; then
		read -r p _ f _ s _ <<<"$(echo "${line#fuzz: }" | tr -d ,)"
		PASS=$((PASS + p)) FAIL=$((FAIL + f)) SKIP=$((SKIP + ${s:-0}))
		echo "$1: $line"
	fi
	if [ "$3" != 0 ] && { [ -z "$line" ] || [ "${f:-0}" = 0 ]; }; then
		tail -30 "$2"
		echo "not ok - $1 exited $3"
		FAIL=$((FAIL + 1))
	fi
}

if [ $VM = 1 ] && [ ! -x tests/vm/run-lane.sh ]; then
	echo "SKIP: cgroup v2 lane: tests/vm/run-lane.sh is missing"
	SKIP=$((SKIP + 1))
elif [ $VM = 1 ]; then
	echo "== cgroup v2 lane (qemu guest)"
	# The guest runs under emulation (slow): the files that exercise what
	# this host cannot, cgroup v2.
	vm_files=()
	for f in ${HUSK_VM_FILES:-smoke cgroups exec rootless api engine-cgroups}; do
		[ -f "tests/integration/$f.bats" ] && vm_files+=("tests/integration/$f.bats")
	done
	# the engine opens libarchive and libnftables only when it needs them (dlopen): ldd
	# does not see it, so it goes in by name
	vm_paths=${HUSK_VM_EXTRA_PATHS:-}
	for lib in /usr/lib/x86_64-linux-gnu/libarchive.so.13 /usr/lib/x86_64-linux-gnu/libnftables.so.1; do
		[ -e "$lib" ] && vm_paths+=" $(readlink -f "$lib") $lib"
	done
	# the engine's default bridge network: nftables' modules, as a host
	# loads them on demand
	vm_modules=${HUSK_VM_MODULES:-virtio_pci virtio_blk loop overlay veth bridge dummy nfnetlink
		nf_tables nft_chain_nat nft_masq nft_nat nft_ct nft_reject_inet nft_fib_ipv4
		nf_conntrack_netlink}
	rc=0 t0=$SECONDS
	HUSK_VM_MODULES=$vm_modules HUSK_VM_EXTRA_PATHS=$vm_paths HUSK_VM_TIMEOUT=$VM_LIMIT tests/vm/run-lane.sh -- tests/run.sh --integration-only \
		"${vm_files[@]}" >"$LOG/vm" 2>&1 || rc=$?
	grep -E '^(not ok|SKIP:|integration:|== )' "$LOG/vm"
	[ $rc = 124 ] && echo "not ok - vm lane: the guest was killed at its $VM_LIMIT s limit"
	summarize "vm lane" "$LOG/vm" $rc
	echo "vm lane: $(took $t0 "$VM_LIMIT")"
fi

if [ $ONLY_INTEGRATION = 0 ] && [ "${HUSK_FUZZ_SECONDS:-20}" != 0 ]; then
	echo "== fuzzing (${HUSK_FUZZ_SECONDS:-20} s per target; known open findings excluded)"
	rc=0 t0=$SECONDS
	tests/fuzz/run.sh --no-known "${HUSK_FUZZ_SECONDS:-20}" >"$LOG/fuzz" 2>&1 || rc=$?
	grep -E '^(fuzz-|SKIP)' "$LOG/fuzz"
	summarize fuzz "$LOG/fuzz" $rc
	echo "fuzz: $(took $t0)"
fi

if [ $ONLY_INTEGRATION = 0 ] && [ "${HUSK_SANITIZE:-1}" = 1 ] && [ "$(id -u)" = 0 ]; then
	echo "== the suite under ASan+UBSan"
	rc=0 t0=$SECONDS
	# sanitize.sh stops its integration tests short of the limit, so that
	# its counts and sanitizer reports get out: it is told the limit.
	# (Its failures print as they come; then its step times.)
	HUSK_SANITIZE_TIMEOUT=$SANITIZE_LIMIT detached "$LOG/sanitize" \
		timeout -k 30 "$SANITIZE_LIMIT" tests/sanitize.sh || rc=$?
	grep -E '^(SKIP|== |[a-z]+: (done|took))' "$LOG/sanitize"
	timed_out $rc && echo "not ok - sanitize: the phase timed out after $SANITIZE_LIMIT s"
	summarize sanitize "$LOG/sanitize" $rc
	echo "sanitize: $(took $t0 "$SANITIZE_LIMIT")"
fi

echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ $FAIL = 0 ]
