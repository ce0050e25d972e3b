# Shared helpers for the bats integration tests.
#
# Each test gets a private state root ($HUSK_ROOT) and bundle dir ($BUNDLE)
# under $BATS_TEST_TMPDIR; teardown deletes every container left in that root
# so nothing leaks onto the machine (mounts, cgroups, state).

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HUSK_RUNTIME=${HUSK_RUNTIME:-$REPO/build/src/runtime/husk-runtime}
BUSYBOX=${BUSYBOX:-$(command -v busybox || echo /bin/busybox)}
# A read-only busybox rootfs shared by all tests of a run (built once).
ROOTFS_CACHE=${ROOTFS_CACHE:-${BATS_RUN_TMPDIR:-/tmp}/husk-rootfs}

skip_unless_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }

# build_rootfs DIR: a busybox-static rootfs with an applet link per command.
build_rootfs() {
	local d=$1 a
	mkdir -p "$d"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,root,home,var/tmp}
	cp "$BUSYBOX" "$d/bin/busybox"
	for a in $("$BUSYBOX" --list-full); do
		[ -e "$d/$a" ] || ln -s /bin/busybox "$d/$a"
	done
	chmod 1777 "$d/tmp"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$d/etc/passwd"
	printf 'root:x:0:\nnobody:x:65534:\n' >"$d/etc/group"
}

shared_rootfs() {
	if [ ! -x "$ROOTFS_CACHE/bin/busybox" ]; then
		local tmp
		tmp=$(mktemp -d "${ROOTFS_CACHE}.XXXXXX")
		build_rootfs "$tmp"
		chmod 755 "$tmp"
		mv -T "$tmp" "$ROOTFS_CACHE" 2>/dev/null || rm -rf "$tmp"
	fi
	echo "$ROOTFS_CACHE"
}

# husk ARGS...: the runtime on this test's state root. A file that sets
# HUSK_TIMEOUT (seconds) has every call bounded: a hung runtime then fails the
# test with status 124 instead of hanging the run. Without it there is no
# limit (slow tests, podman, containerd, OOM, ... need more than a few seconds).
husk() {
	if [ -n "${HUSK_TIMEOUT:-}" ]; then
		timeout -k 1 "$HUSK_TIMEOUT" "$HUSK_RUNTIME" --root "$HUSK_ROOT" "$@"
	else
		"$HUSK_RUNTIME" --root "$HUSK_ROOT" "$@"
	fi
}

# husk_timed_out RC: RC is the status of a husk call cut off by $HUSK_TIMEOUT.
husk_timed_out() { [ -n "${HUSK_TIMEOUT:-}" ] && [ "$1" -eq 124 ]; }

# husk_to_file FILE ARGS...: husk ARGS with stdin from /dev/null, stdout and
# stderr on FILE and bats' fd 3 closed (a container started so inherits them:
# a pipe would keep `run` waiting until it exits); prints what it printed.
husk_to_file() {
	local rc=0 f=$1
	shift
	husk "$@" </dev/null >"$f" 2>&1 3>&- || rc=$?
	cat "$f"
	return $rc
}

# hcmd ARGS...: husk ARGS that way, on $BATS_TEST_TMPDIR/cmd.out.
hcmd() { husk_to_file "$BATS_TEST_TMPDIR/cmd.out" "$@"; }

# hcreate ARGS... ID, hrun_detached ARGS... ID: create, run --detach that way,
# on a file per container ($BATS_TEST_TMPDIR/create-ID.out, run-ID.out): its
# processes may still write there when a later command runs.
hcreate() { husk_to_file "$(ctr_out_file create "${!#}")" create "$@"; }
hrun_detached() { husk_to_file "$(ctr_out_file run "${!#}")" run --detach "$@"; }

# ctr_out_file CMD ID: $BATS_TEST_TMPDIR/CMD-ID.out, with ID cut to 64
# characters and anything but [A-Za-z0-9_.-] made "_".
ctr_out_file() {
	local id=${2:0:64}
	echo "$BATS_TEST_TMPDIR/$1-${id//[^A-Za-z0-9_.-]/_}.out"
}

# setup_bundle [--rootless]: $BUNDLE/config.json from `husk-runtime spec`, with
# a private copy of the rootfs (tests may write into it), terminal off, and a
# unique cgroupsPath so tests can find their cgroup.
setup_bundle() {
	HUSK_ROOT=$BATS_TEST_TMPDIR/state
	BUNDLE=$BATS_TEST_TMPDIR/bundle
	mkdir -p "$BUNDLE" "$HUSK_ROOT"
	cp -a "$(shared_rootfs)" "$BUNDLE/rootfs"
	(cd "$BUNDLE" && "$HUSK_RUNTIME" spec "$@") || return 1
	CGROUP_NAME=husk-test-$$-$BATS_TEST_NUMBER
	update_config '.process.terminal = false | .process.args = ["/bin/true"]'
	if [ "$(id -u)" = 0 ]; then
		update_config ".linux.cgroupsPath = \"/$CGROUP_NAME\""
	fi
}

# update_config JQ-FILTER: edit $BUNDLE/config.json in place.
update_config() {
	jq "$1" "$BUNDLE/config.json" >"$BUNDLE/config.json.new" && mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# set_args ARG...: process.args
set_args() {
	local json='[]' a
	# one --arg per element: jq 1.6 mis-parses option-like positional args
	# and stops raw input at a NUL byte
	for a in "$@"; do json=$(jq -c --arg a "$a" '. + [$a]' <<<"$json"); done
	update_config ".process.args = $json"
}

# run_ctr ID ARG...: run the bundle in the foreground with the given args.
run_ctr() {
	local id=$1
	shift
	set_args "$@"
	run husk run -b "$BUNDLE" "$id"
}

# wait_status ID STATUS [TRIES]: until `husk state ID` says STATUS (every
# 0.05 s, 100 tries by default). Fails with a message when it never does, and
# at once when `state` itself times out.
wait_status() {
	local i s="" rc=0
	for ((i = 0; i < ${3:-100}; i++)); do
		rc=0
		s=$(husk state "$1" 2>/dev/null) || rc=$?
		if husk_timed_out "$rc"; then
			echo "husk state $1: timed out after ${HUSK_TIMEOUT}s"
			return 1
		fi
		[ "$rc" -eq 0 ] && [ "$(jq -r .status <<<"$s")" = "$2" ] && return 0
		sleep 0.05
	done
	[ "$rc" -eq 0 ] || s="status $rc: $(husk state "$1" 2>&1)"
	echo "container $1 never became $2; last state: $s"
	return 1
}

# state_of ID FIELD: one field of `husk state ID`; fails when state fails.
state_of() {
	local s rc=0
	s=$(husk state "$1") || rc=$?
	if [ "$rc" -ne 0 ]; then
		husk_timed_out "$rc" && echo "husk state $1: timed out after ${HUSK_TIMEOUT}s"
		echo "husk state $1 failed (status $rc)"
		return 1
	fi
	jq -r ".$2" <<<"$s"
}

# setup_out: the container can write into $OUT, mounted at /out.
setup_out() {
	OUT=$BATS_TEST_TMPDIR/out
	mkdir -p "$OUT"
	update_config '.mounts += [{"destination": "/out", "type": "none", "source": "'"$OUT"'", "options": ["rbind", "rw"]}]'
}

# wait_until TRIES CMD...: run CMD every 0.05 s until it succeeds; fails
# after TRIES tries.
wait_until() {
	local i n=$1
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# wait_file PATH [TRIES]: until PATH exists.
wait_file() {
	wait_until "${2:-100}" test -e "$1" && return 0
	echo "$1 never appeared"
	return 1
}

# wait_nonempty FILE [TRIES]: until FILE has something in it.
wait_nonempty() {
	wait_until "${2:-100}" test -s "$1" && return 0
	echo "$1 stayed empty (or never appeared)"
	return 1
}

# pid_alive PID: PID exists and is not a zombie.
pid_alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# pid_gone PID: PID is gone now (no waiting). Not `! pid_alive`: bash's
# errexit ignores a negated command, so it could never fail a test; the same
# goes for the first command of an && list.
pid_gone() {
	if pid_alive "$1"; then
		echo "process $1 is still alive"
		return 1
	fi
}

# wait_pid_gone PID [TRIES]: until no process PID exists, not even a zombie
# (kill -0 fails: a zombie nobody reaps is a leak too), every 0.05 s, 100
# tries by default; fails with a message. A test asserts with this, not with
# `! kill -0 PID`, which errexit ignores.
wait_pid_gone() {
	local i
	for ((i = 0; i < ${2:-100}; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	echo "process $1 still exists: $(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" \
		"$(grep '^State:' "/proc/$1/status" 2>/dev/null)"
	return 1
}

# assert_failed: the last `run` failed, and not by a timeout (status 124).
assert_failed() {
	if [ "$status" -eq 0 ] || [ "$status" -eq 124 ]; then
		echo "expected a failure, got status $status"
		return 1
	fi
}

# tty_run CMDLINE: CMDLINE with a pseudo-terminal as stdin/stdout (script -e
# returns its exit status); output without carriage returns and NULs.
# script runs CMDLINE through $SHELL, /bin/sh where it is unset (as under
# CI): dash forks the command, so a `timeout` in CMDLINE must be
# `timeout --foreground`, or it moves the client to a background process
# group of the terminal, where SIGTTOU/SIGTTIN stop it for ever. SHELL is
# pinned to dash so that every run behaves the same; the outer timeout
# bounds the whole, terminal included.
tty_run() {
	run env SHELL=/bin/sh timeout --foreground -k 10 "${TTY_RUN_TIMEOUT:-180}" script -eqc "$1" /dev/null
	output=$(printf '%s' "$output" | tr -d '\r\0')
}

# The console-socket receiver: tools/console-recv.c as the build made it
# (the cgroup v2 guest lane has no python3), else tools/console_recv.py.
RECEIVER=("$REPO/build/tests/integration/tools/console-recv")
[ -x "${RECEIVER[0]}" ] || RECEIVER=(python3 "$BATS_TEST_DIRNAME/tools/console_recv.py")
# have_receiver: the built receiver or python3 for the script is there.
have_receiver() { [ "${RECEIVER[0]}" != python3 ] || command -v python3 >/dev/null; }

# state_entries: what the state root holds besides the cache of compiled
# seccomp filters (.seccomp-cache), which outlives containers by design.
state_entries() { ls -A "$HUSK_ROOT" 2>/dev/null | grep -vx '.seccomp-cache' || true; }

# assert_gone [ID]: container ID's state dir is gone (no ID: the state root is
# empty), and no cgroup and no mount of the bundle is left on the host.
assert_gone() {
	if [ $# -gt 0 ] && [ -e "$HUSK_ROOT/$1" ]; then
		echo "state dir $HUSK_ROOT/$1 left behind"
		return 1
	fi
	if [ $# -eq 0 ] && [ -n "$(state_entries)" ]; then
		echo "state left behind: $(state_entries)"
		return 1
	fi
	if [ -n "$(cgroup_dirs)" ]; then
		echo "cgroup dirs left behind: $(cgroup_dirs)"
		return 1
	fi
	if grep -F "$BUNDLE" /proc/self/mountinfo; then
		echo "mounts of the bundle left on the host"
		return 1
	fi
}

cleanup_containers() {
	[ -n "${HUSK_ROOT:-}" ] && [ -d "$HUSK_ROOT" ] || return 0
	local id
	for id in $(ls "$HUSK_ROOT" 2>/dev/null); do
		"$HUSK_RUNTIME" --root "$HUSK_ROOT" delete -f "$id" >/dev/null 2>&1
	done
	if [ -n "${CGROUP_NAME:-}" ]; then
		local d
		for d in /sys/fs/cgroup/*/"$CGROUP_NAME" /sys/fs/cgroup/"$CGROUP_NAME"; do
			[ -d "$d" ] && rmdir "$d" 2>/dev/null
		done
	fi
	return 0
}

# cgroup_dirs: every cgroup directory named $CGROUP_NAME on this machine.
cgroup_dirs() {
	find /sys/fs/cgroup -maxdepth 3 -type d -name "$CGROUP_NAME" 2>/dev/null
}

# unstick_containers [ROOT]: a container init that still holds its locked
# state directory (the bug fixed in 04b2b50) makes every later command, delete
# -f included, hang; kill such inits in ROOT (default $HUSK_ROOT; ours: pid
# and start time from state.json) so that cleanup can go on.
unstick_containers() {
	local root=${1:-$HUSK_ROOT} d pid start now
	for d in "$root"/*/; do
		[ -f "$d/state.json" ] || continue
		flock -n -x "$d" true 2>/dev/null && continue
		pid=$(jq -r .pid "$d/state.json")
		start=$(jq -r .pidStartTime "$d/state.json")
		now=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f20)
		[ -n "$now" ] && [ "$now" = "$start" ] && kill -9 "$pid"
		flock -w 5 -x "$d" true 2>/dev/null || true
	done
}

# kill_strays ROOT...: after cleanup, no runtime process may be left on our
# state roots (a container init waiting for start still has the create
# command line). Kills any (ours: the roots are this test's) and fails.
kill_strays() {
	local f p r strays=""
	for r; do
		[ -n "$r" ] || continue
		for f in $(grep -laF -- "$r" /proc/[0-9]*/cmdline 2>/dev/null); do
			p=${f#/proc/}
			p=${p%/cmdline}
			[[ "$(tr '\0' '\n' <"$f" 2>/dev/null | head -1)" == *husk-runtime* ]] || continue
			strays+=" $p"
			kill -9 "$p" 2>/dev/null
		done
	done
	if [ -n "$strays" ]; then
		echo "stray runtime processes left behind (killed):$strays"
		return 1
	fi
}

teardown() { cleanup_containers; }
