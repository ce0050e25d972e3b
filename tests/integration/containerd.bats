#!/usr/bin/env bats
# containerd (Debian 12's 1.6, with its runc v2 shim) as a real client of
# husk-runtime, driven with ctr. setup_file starts a containerd of our own:
# private root, state and gRPC socket under one short /tmp directory, the CRI
# plugin off, its own containerd namespace (so the shim's default runtime root
# /run/containerd/runc/NS and the cgroups /NS/ID are ours alone). The image is
# an OCI archive built from busybox-static by tools/ctr-mkimage and imported
# offline.
#
# How husk is selected:
# * ctr run --runtime io.containerd.runc.v2 --runc-binary PATH --runc-root DIR:
#   the runc v2 shim runs PATH with --root DIR/NS (ctr's own per-container
#   runtime options; the default --runtime is io.containerd.runc.v2 already).
# * For Kubernetes (the CRI plugin, not used by ctr), the same options come
#   from a runtime entry in config.toml:
#     [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk]
#       runtime_type = "io.containerd.runc.v2"
#     [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk.options]
#       BinaryName = "/usr/bin/husk-runtime"
#   and a RuntimeClass {apiVersion: node.k8s.io/v1, kind: RuntimeClass,
#   metadata: {name: husk}, handler: husk} selects it: the kubelet passes the
#   handler name, which CRI looks up as runtimes.<handler>; a pod with
#   runtimeClassName: husk then gets the runc v2 shim with BinaryName husk,
#   which makes exactly the calls checked here.
# * With --uidmap, ctr 1.6 replaces the container's runtime options by the
#   task's (only the I/O uid/gid), so --runc-binary and --runc-root are lost
#   and the shim runs `runc` from its PATH with --root /run/containerd/runc/NS.
#   Our containerd's PATH starts with a directory whose `runc` is husk (behind
#   the logging shim), so the user-namespace flow still exercises husk.
#
# Every runtime call is logged (a wrapper script appends its arguments to a
# file, then execs husk-runtime); a failing test prints the calls.
load helpers
bats_require_minimum_version 1.5.0

IMAGE=localhost/husk-busybox:latest

# cctr ARGS...: ctr against our containerd, in our namespace.
cctr() { timeout 60 ctr -a "$CD_SOCK" -n "$CD_NS" "$@"; }

# make_logshim FILE LOG REAL: FILE runs REAL after appending its arguments to LOG.
make_logshim() {
	cat >"$1" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>'$2'
exec '$3' "\$@"
EOF
	chmod 755 "$1"
}

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	command -v containerd >/dev/null && command -v ctr >/dev/null || return 0
	# unix socket paths are limited to 108 bytes: a short directory of our own
	CD_DIR=$(mktemp -d /tmp/husk-ctrd.XXXXXX)
	# the root of a user-namespaced container must reach its rootfs below here
	chmod 711 "$CD_DIR"
	export CD_DIR CD_SOCK=$CD_DIR/c.sock CD_NS=husk-ctrd-$$
	export CD_PATH_LOG=$CD_DIR/path-runc.log
	mkdir -p "$CD_DIR/bin"
	make_logshim "$CD_DIR/bin/runc" "$CD_PATH_LOG" "$HUSK_RUNTIME"
	# /run/containerd is where the shims keep their sockets and fifos, and the
	# default runtime root: removed after if it is new
	CD_RUN_NEW=
	[ -e /run/containerd ] || CD_RUN_NEW=1
	export CD_RUN_NEW
	cat >"$CD_DIR/config.toml" <<EOF
version = 2
root = "$CD_DIR/root"
state = "$CD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.opt",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CD_SOCK"
[ttrpc]
  address = "$CD_SOCK.ttrpc"
EOF
	# fd 3 closed: bats waits for every holder of it before it ends
	PATH=$CD_DIR/bin:$PATH containerd --config "$CD_DIR/config.toml" \
		</dev/null >"$CD_DIR/containerd.log" 2>&1 3>&- &
	export CD_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$CD_SOCK" ] && ctr -a "$CD_SOCK" version >/dev/null 2>&1 && break
		kill -0 "$CD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! ctr -a "$CD_SOCK" version >/dev/null 2>&1; then
		export CD_BROKEN="containerd did not start: $(tail -n 1 "$CD_DIR/containerd.log")"
		return 0
	fi
	# the image archive, built once per test run
	local tar=${BATS_RUN_TMPDIR:-/tmp}/husk-busybox-oci.tar
	[ -s "$tar" ] || "$REPO/tests/integration/tools/ctr-mkimage" "$(shared_rootfs)" "$IMAGE" "$tar" ||
		{ export CD_BROKEN="could not build the OCI image archive"; return 0; }
	local out
	out=$(cctr images import "$tar" 2>&1) ||
		{ export CD_BROKEN="ctr images import failed: $(echo "$out" | tail -n 1)"; return 0; }
	# containerd must work with a reference runtime, or the tests below would
	# blame husk for containerd's problems.
	if command -v runc >/dev/null; then
		out=$(cctr run --rm --runc-binary "$(command -v runc)" --runc-root "$CD_DIR/runc-root" \
			"$IMAGE" ref-probe echo hello 2>&1) || true
		[ "$out" = hello ] || export CD_BROKEN="containerd fails with runc too: $(echo "$out" | tail -n 1)"
	fi
}

# cd_kill_leftovers: every task and container of our namespace, killed and removed.
cd_kill_leftovers() {
	local id
	for id in $(cctr task ls -q 2>/dev/null); do
		# a frozen process does not die of SIGKILL until it is thawed
		cctr task resume "$id" >/dev/null 2>&1
		cctr task kill -a -s KILL "$id" >/dev/null 2>&1
		cctr task rm -f "$id" >/dev/null 2>&1
	done
	for id in $(cctr containers ls -q 2>/dev/null); do
		cctr containers rm "$id" >/dev/null 2>&1
	done
}

# husk_delete_all ROOT: delete -f every container husk keeps under ROOT.
husk_delete_all() {
	local id
	[ -d "$1" ] || return 0
	for id in $(ls "$1"); do
		timeout 20 "$HUSK_RUNTIME" --root "$1" delete -f "$id" >/dev/null 2>&1
	done
}

# rm_cgroups NAME: remove the cgroup directories /NAME (and below) in every
# hierarchy, after thawing and killing what is still in them (NAME is our
# containerd namespace: only our containers live there).
rm_cgroups() {
	local d f p i
	for f in $(find /sys/fs/cgroup/freezer/"$1" -name freezer.state 2>/dev/null); do
		echo THAWED >"$f" 2>/dev/null
	done
	for f in $(find /sys/fs/cgroup/*/"$1" -name cgroup.procs 2>/dev/null); do
		for p in $(cat "$f" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	for d in /sys/fs/cgroup/*/"$1"; do
		[ -d "$d" ] || continue
		for ((i = 0; i < 20; i++)); do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$d" ] || break
			sleep 0.1
		done
	done
}

teardown_file() {
	[ -n "${CD_DIR:-}" ] && [ -d "$CD_DIR" ] || return 0
	local i pid d
	if [ -n "${CD_PID:-}" ] && kill -0 "$CD_PID" 2>/dev/null; then
		cd_kill_leftovers
		kill -TERM "$CD_PID"
		for ((i = 0; i < 100; i++)); do
			kill -0 "$CD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$CD_PID" 2>/dev/null
	fi
	# shims outlive containerd: the ones started for our socket are ours
	for pid in $(pgrep -f -- "-address $CD_SOCK( |\$)"); do
		kill -KILL "$pid" 2>/dev/null
	done
	husk_delete_all "/run/containerd/runc/$CD_NS"
	husk_delete_all "$CD_DIR/runc-root/$CD_NS"
	grep -o " $CD_DIR/[^ ]*" /proc/self/mountinfo | sort -r | while read -r d; do
		umount -l "$d" 2>/dev/null
	done
	rm -rf "$CD_DIR" "/run/containerd/runc/$CD_NS"
	rm_cgroups "$CD_NS"
	if [ -n "${CD_RUN_NEW:-}" ]; then
		rm -rf /run/containerd
	else
		rmdir /run/containerd/runc /run/containerd/fifo /run/containerd/s 2>/dev/null
	fi
	return 0
}

setup() {
	skip_unless_root
	command -v containerd >/dev/null || skip "containerd not installed"
	command -v ctr >/dev/null || skip "ctr not installed"
	[ -z "${CD_BROKEN:-}" ] || skip "$CD_BROKEN"
	CALLS=$BATS_TEST_TMPDIR/runtime-calls.log
	HUSK_SHIM=$BATS_TEST_TMPDIR/husk-shim
	HROOT=$BATS_TEST_TMPDIR/hroot
	make_logshim "$HUSK_SHIM" "$CALLS" "$HUSK_RUNTIME"
	: >"$CALLS"
	: >"$CD_PATH_LOG"
}

teardown() {
	if [ -s "${CALLS:-}" ] || [ -s "${CD_PATH_LOG:-}" ]; then
		echo "# runtime calls:"
		cat "$CALLS" "$CD_PATH_LOG" 2>/dev/null
	fi
	[ -n "${CD_SOCK:-}" ] && cd_kill_leftovers
	[ -n "${HROOT:-}" ] && husk_delete_all "$HROOT/$CD_NS"
	# processes a test started and recorded (`sleep 1001` only), by PID
	local p
	for p in $(cat "$BATS_TEST_TMPDIR/own-pids" 2>/dev/null); do
		is_sleep1001 "$p" && kill -KILL "$p"
	done
	return 0
}

# hrun ARGS...: `ctr run` with husk (behind the logging shim) as the runc binary.
hrun() { cctr run --runc-binary "$HUSK_SHIM" --runc-root "$HROOT" "$@"; }

# assert_clean ID [RUNTIME-ROOT]: nothing of container ID is left: no husk
# state, no mount, no cgroup, no shim, no task or container in containerd.
assert_clean() {
	local id=$1 root=${2:-$HROOT/$CD_NS} i
	for ((i = 0; i < 50; i++)); do
		pgrep -f -- "-id $id -address $CD_SOCK( |\$)" >/dev/null || break
		sleep 0.1
	done
	if pgrep -af -- "-id $id -address $CD_SOCK( |\$)"; then
		echo "shim of $id still running"
		return 1
	fi
	if [ -e "$root/$id" ]; then
		echo "husk state left: $root/$id"
		return 1
	fi
	if grep -F "/$CD_NS/$id/" /proc/self/mountinfo; then
		echo "mounts of $id left"
		return 1
	fi
	local cg
	cg=$(find /sys/fs/cgroup -maxdepth 4 -type d -path "*/$CD_NS/$id" 2>/dev/null)
	if [ -n "$cg" ]; then
		echo "cgroups of $id left: $cg"
		return 1
	fi
	if cctr task ls -q | grep -qx "$id" || cctr containers ls -q | grep -qx "$id"; then
		echo "containerd still has $id"
		return 1
	fi
}

# called NEEDLE: the runtime was invoked with arguments containing NEEDLE.
called() { grep -qF -- "$1" "$CALLS"; }

@test "ctr run --rm: echo hello through husk, create/start/delete with a JSON log" {
	run hrun --rm "$IMAGE" hello echo hello
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	called "--log-format json create --bundle"
	called "start hello"
	called "delete hello"
	# the shim's --log file: containerd reads the runtime's errors from it
	grep -q -- "--root $HROOT/$CD_NS --log $CD_DIR/state/.*/hello/log.json --log-format json" "$CALLS"
	assert_clean hello
}

@test "ctr run --runtime io.containerd.runc.v2 --runc-binary: the runtime entry way" {
	run cctr run --rm --runtime io.containerd.runc.v2 --runc-binary "$HUSK_SHIM" \
		--runc-root "$HROOT" "$IMAGE" rt sh -c 'echo $$; cat /proc/1/comm; true'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[*]}" = "1 sh" ]
	called "create --bundle"
	assert_clean rt
}

@test "ctr run: the exit code of the container process comes back" {
	run hrun --rm "$IMAGE" ex sh -c 'exit 3'
	echo "$output"
	[ "$status" -eq 3 ]
	assert_clean ex
}

# What a -t container runs: it reports its terminal, waits (at most 10 s) for
# the terminal to get a size and prints it. ctr sets no process.consoleSize on
# Linux: it resizes the task's console to its own terminal's size only after
# the task has started, through the shim, which applies TIOCSWINSZ to the pty
# master the runtime handed over on --console-socket; until then the size is
# 0x0. busybox `stty size` prints nothing on stdout (and exits 0) at 0x0.
TTY_PROBE='tty; [ -t 0 ] && echo stdin-tty; i=0; until s=$(stty size 2>/dev/null) && [ -n "$s" ] || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.1; done; echo "size:$s"; exit 5'

@test "ctr run -t: the process gets a terminal with a size, its output and exit code come back" {
	command -v script >/dev/null || skip "script (util-linux) not installed"
	# ctr passes on the size of its own terminal: script's pty, which has
	# none (0x0) when the suite runs without a terminal (CI), so it gets one.
	tty_run "stty rows 33 cols 101 && timeout --foreground -k 10 60 ctr -a $CD_SOCK -n $CD_NS run --rm -t \
		--runc-binary $HUSK_SHIM --runc-root $HROOT $IMAGE tty sh -c '$TTY_PROBE'"
	echo "$output"
	[ "$status" -eq 5 ]
	[[ "$output" == *"/dev/pts/"* ]]
	[[ "$output" == *stdin-tty* ]]
	[[ "$output" == *"size:33 101"* ]]
	called "--console-socket"
	assert_clean tty
}

@test "ctr run -d, task ls/ps/exec/pause/resume/kill/rm and container rm" {
	command -v script >/dev/null || skip "script (util-linux) not installed"
	run hrun -d "$IMAGE" det sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done'
	echo "$output"
	[ "$status" -eq 0 ]
	run cctr task ls
	echo "$output"
	[[ "$output" =~ det[[:space:]]+([0-9]+)[[:space:]]+RUNNING ]]
	local pid=${BASH_REMATCH[1]}
	# ps: through `husk ps --format json`; the task's host PID is listed
	run cctr task ps det
	echo "$output"
	[ "$status" -eq 0 ]
	echo "$output" | grep -qE "^$pid[[:space:]]"
	called "ps --format json det"

	# exec without a terminal: output, exit code, the container's PID namespace
	run cctr task exec --exec-id e1 det sh -c 'cat /proc/1/comm; [ -t 1 ] || echo no-tty; exit 4'
	echo "$output"
	[ "$status" -eq 4 ]
	[ "${lines[*]}" = "sh no-tty" ]
	called "exec --process"
	# exec with a terminal
	tty_run "timeout --foreground -k 10 60 ctr -a $CD_SOCK -n $CD_NS task exec -t --exec-id e2 det sh -c 'tty; exit 6'"
	echo "$output"
	[ "$status" -eq 6 ]
	[[ "$output" == *"/dev/pts/"* ]]
	grep -q -- "exec --process .* --console-socket .* det" "$CALLS"

	# pause freezes the container's cgroup, resume thaws it
	run cctr task pause det
	[ "$status" -eq 0 ]
	run cctr task ls
	[[ "$output" =~ det[[:space:]]+$pid[[:space:]]+PAUSED ]]
	local fz
	fz=$(find /sys/fs/cgroup/freezer -type d -path "*/$CD_NS/det" | head -n 1)
	[ -n "$fz" ]
	wait_frozen "$fz"
	run cctr task resume det
	[ "$status" -eq 0 ]
	run cctr task ls
	[[ "$output" =~ det[[:space:]]+$pid[[:space:]]+RUNNING ]]
	[ "$(cat "$fz/freezer.state")" = THAWED ]

	# kill: SIGTERM by default; the trap makes the process exit 7
	run cctr task kill det
	[ "$status" -eq 0 ]
	called "kill det 15"
	local i
	for ((i = 0; i < 50; i++)); do
		cctr task ls | grep -qE "^det[[:space:]]+$pid[[:space:]]+STOPPED" && break
		sleep 0.1
	done
	cctr task ls | grep -qE "^det[[:space:]]+$pid[[:space:]]+STOPPED"
	run cctr task rm det
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"exit code 7"* ]]
	run cctr containers rm det
	[ "$status" -eq 0 ]
	! kill -0 "$pid" 2>/dev/null
	assert_clean det
}

# wait_frozen DIR: the v1 freezer state in DIR reaches FROZEN (it passes
# through FREEZING while the kernel stops the tasks).
wait_frozen() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(cat "$1/freezer.state")" = FROZEN ] && return 0
		sleep 0.1
	done
	echo "freezer.state of $1: $(cat "$1/freezer.state")"
	return 1
}

@test "ctr task pause returns once the container is frozen" {
	[ -d /sys/fs/cgroup/freezer ] || skip "no cgroup v1 freezer"
	# many processes: freezing them takes the kernel a moment
	run hrun -d "$IMAGE" busy sh -c 'for i in $(seq 100); do sleep 1000 & done; wait'
	[ "$status" -eq 0 ]
	local fz i state
	fz=$(find /sys/fs/cgroup/freezer -type d -path "*/$CD_NS/busy" | head -n 1)
	[ -n "$fz" ]
	for ((i = 0; i < 10; i++)); do
		cctr task pause busy
		# runc and crun return from `pause` only when the state is FROZEN:
		# until then the processes still run
		state=$(cat "$fz/freezer.state")
		echo "round $i: freezer.state right after pause: $state"
		[ "$state" = FROZEN ]
		cctr task resume busy
	done
	cctr task kill -s KILL busy
	for ((i = 0; i < 50; i++)); do
		cctr task ls | grep -qE "^busy[[:space:]]+[0-9]+[[:space:]]+STOPPED" && break
		sleep 0.1
	done
	cctr task rm busy
	cctr containers rm busy
	assert_clean busy
}

@test "ctr task kill --all signals every process of the container" {
	# the init ignores TERM; its two children do not
	run hrun -d "$IMAGE" all sh -c 'trap "" TERM; sleep 1001 & sleep 1002 & while :; do sleep 0.1; done'
	[ "$status" -eq 0 ]
	local i pids= p
	for ((i = 0; i < 50; i++)); do
		pids=
		for p in $(cctr task ps all | awk 'NR > 1 {print $1}'); do
			case $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) in "sleep 100"[12]" ") pids+=" $p" ;; esac
		done
		[ "$(echo $pids | wc -w)" = 2 ] && break
		sleep 0.1
	done
	echo "sleep PIDs:$pids"
	[ "$(echo $pids | wc -w)" = 2 ]
	run cctr task kill -a -s TERM all
	[ "$status" -eq 0 ]
	called "kill --all all 15"
	for ((i = 0; i < 50; i++)); do
		for p in $pids; do kill -0 "$p" 2>/dev/null && continue 2; done
		break
	done
	for p in $pids; do ! kill -0 "$p" 2>/dev/null; done
	# the init ignored it and still runs
	cctr task ls | grep -qE "^all[[:space:]]+[0-9]+[[:space:]]+RUNNING"
	run cctr task kill -a -s KILL all
	[ "$status" -eq 0 ]
	for ((i = 0; i < 50; i++)); do
		cctr task ls | grep -qE "^all[[:space:]]+[0-9]+[[:space:]]+STOPPED" && break
		sleep 0.1
	done
	run cctr task rm all
	echo "$output"
	[[ "$output" == *"exit code 137"* ]]
	cctr containers rm all
	assert_clean all
}

# cd_wait_stopped ID: until `ctr task ls` shows task ID STOPPED (bounded).
cd_wait_stopped() {
	local i
	for ((i = 0; i < 50; i++)); do
		cctr task ls | grep -qE "^$1[[:space:]]+[0-9]+[[:space:]]+STOPPED" && return 0
		sleep 0.1
	done
	echo "task $1 never became STOPPED: $(cctr task ls 2>&1)"
	return 1
}

# runtime_log ID: the --log file the shim passes to the runtime for ID (the
# JSON log it reads husk's errors from; gone once the task is deleted).
runtime_log() {
	sed -n "s/^.* --log \([^ ]*\/$1\/log\.json\) .*\$/\1/p" "$CALLS" | tail -n 1
}

# log_errors FILE: the msg of each error line of the runtime's JSON log FILE
# (nothing when husk never wrote one).
log_errors() {
	[ -e "$1" ] || return 0
	jq -r 'select(.level == "error") | .msg' "$1"
}

# A pod stop (CRI StopContainer) kills the task with its stop signal, then
# SIGKILL; when the process has already exited but the task is not deleted
# yet, the shim's stoppedState.Kill still runs `kill`. The runc v2 shim takes
# the error as "already gone" (not found, which CRI ignores) only when its text
# holds "container not running" (checkKillError); other text is "unknown error
# after kill", and the kubelet retries the stop for ever.
@test "ctr task kill of a task whose process already exited: not found, as a pod stop needs" {
	run hrun -d "$IMAGE" gone true
	echo "$output"
	[ "$status" -eq 0 ]
	cd_wait_stopped gone
	# a PID namespace of its own: the shim made no kill --all at the exit
	run ! called "kill --all gone"

	run cctr task kill -s TERM gone
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "ctr: process already finished: not found" ]
	grep -q -- "--log-format json kill gone 15\$" "$CALLS"
	# husk's error, in the --log file the shim gave it
	local log
	log=$(runtime_log gone)
	[ -n "$log" ]
	run log_errors "$log"
	echo "$output"
	[ "$output" = 'container `gone`: container not running' ]

	run cctr task kill -s KILL gone
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "ctr: process already finished: not found" ]
	grep -q -- "--log-format json kill gone 9\$" "$CALLS"

	run cctr task rm gone
	echo "$output"
	[ "$status" -eq 0 ]
	run cctr containers rm gone
	[ "$status" -eq 0 ]
	assert_clean gone
}

# A container that joins a PID namespace (a host-PID pod) has no init whose
# death ends the rest: when its init exits, the shim runs `kill --all ID 9`
# itself (runc.ShouldKillAllOnExit) before it marks the task stopped, and
# logs "failed to kill init's children" if that fails. /proc/1/ns/pid may
# not be readable in a sandbox; the test shell's is the same one.
@test "ctr run --with-ns pid: the shim's kill --all at the init's exit, then kill -a of the stopped task" {
	local ns=/proc/$$/ns/pid
	run hrun -d --with-ns "pid:$ns" "$IMAGE" hostpid true
	echo "$output"
	[ "$status" -eq 0 ]
	cd_wait_stopped hostpid
	# the bundle joins that PID namespace: what makes the shim kill all
	jq -e >/dev/null --arg p "$ns" '[.linux.namespaces[] | select(.type == "pid")] == [{type: "pid", path: $p}]' \
		"$CD_DIR/state/io.containerd.runtime.v2.task/$CD_NS/hostpid/config.json"
	# STOPPED comes after the kill --all: it was the last call, and it succeeded
	tail -n 1 "$CALLS" | grep -q -- "--log-format json kill --all hostpid 9\$"
	local log
	log=$(runtime_log hostpid)
	[ -n "$log" ]
	run log_errors "$log"
	echo "$output"
	[ -z "$output" ]
	run ! grep -E "failed to kill init's children.* id=hostpid( |\$)" "$CD_DIR/containerd.log"
	echo "$output"

	# kill --all of the stopped task: nothing left to signal is no error
	run cctr task kill -a -s KILL hostpid
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(grep -c -- "--log-format json kill --all hostpid 9\$" "$CALLS")" -eq 2 ]
	run log_errors "$log"
	[ -z "$output" ]

	run cctr task rm hostpid
	echo "$output"
	[ "$status" -eq 0 ]
	run cctr containers rm hostpid
	[ "$status" -eq 0 ]
	assert_clean hostpid
}

# is_sleep1001 PID: PID is a live `sleep 1001` (a zombie's cmdline is empty).
is_sleep1001() { [ "$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline")" = "sleep 1001 " ]; }

# cg_procs ID: the processes in the cgroups of container ID, every hierarchy.
cg_procs() {
	find /sys/fs/cgroup -maxdepth 4 -type d -path "*/$CD_NS/$1" -exec cat {}/cgroup.procs \; 2>/dev/null
}

@test "ctr run --with-ns pid: a child left running when the init exits dies by the shim's kill --all" {
	# TERM makes the init exit 0; its background sleep stays in the cgroup
	run hrun -d --with-ns "pid:/proc/$$/ns/pid" "$IMAGE" leftover \
		sh -c 'trap "exit 0" TERM; sleep 1001 & while :; do sleep 0.1; done'
	echo "$output"
	[ "$status" -eq 0 ]
	local i p pid=
	for ((i = 0; i < 50; i++)); do
		for p in $(cctr task ps leftover | awk 'NR > 1 {print $1}'); do
			is_sleep1001 "$p" && pid=$p
		done
		[ -n "$pid" ] && break
		sleep 0.1
	done
	echo "sleep PID: $pid"
	[ -n "$pid" ]
	# teardown kills it (by PID) if it outlives the test
	echo "$pid" >"$BATS_TEST_TMPDIR/own-pids"
	run cctr task kill -s TERM leftover
	[ "$status" -eq 0 ]
	cd_wait_stopped leftover
	tail -n 1 "$CALLS" | grep -q -- "--log-format json kill --all leftover 9\$"
	# killed: the sleep is gone, nothing is left in the container's cgroups
	for ((i = 0; i < 50; i++)); do
		! is_sleep1001 "$pid" && [ -z "$(cg_procs leftover)" ] && break
		sleep 0.1
	done
	run ! is_sleep1001 "$pid"
	run cg_procs leftover
	echo "left in the cgroups: $output"
	[ -z "$output" ]
	local log
	log=$(runtime_log leftover)
	[ -n "$log" ]
	run log_errors "$log"
	echo "$output"
	[ -z "$output" ]

	run cctr task rm leftover
	echo "$output"
	[ "$status" -eq 0 ]
	run cctr containers rm leftover
	[ "$status" -eq 0 ]
	assert_clean leftover
}

@test "ctr run --uidmap/--gidmap: a user namespace over a remapped snapshot" {
	# ctr 1.6 drops --runc-binary with --uidmap (see the top of this file):
	# husk comes in as the `runc` on containerd's PATH.
	run cctr run -d --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$IMAGE" userns \
		sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u:%g /bin/busybox; touch /new && echo wrote; sleep 1000'
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q -- "--root /run/containerd/runc/$CD_NS .* create --bundle .*/userns/" "$CD_PATH_LOG"
	local pid
	pid=$(cctr task ls | awk '$1 == "userns" {print $2}')
	[ -n "$pid" ]
	# on the host, the container's root is uid/gid 100000
	[ "$(ps -o uid= -p "$pid" | tr -d ' ')" = 100000 ]
	[ "$(ps -o gid= -p "$pid" | tr -d ' ')" = 100000 ]
	run cctr task exec --exec-id x userns sh -c 'cat /proc/self/uid_map; id -u; stat -c %u:%g /bin/busybox /new'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "${lines[0]}" | tr -s ' ' | sed 's/^ //')" = "0 100000 65536" ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = 0:0 ]
	[ "${lines[3]}" = 0:0 ]
	run cctr task kill -s KILL userns
	[ "$status" -eq 0 ]
	local i
	for ((i = 0; i < 50; i++)); do
		cctr task ls | grep -qE "^userns[[:space:]]+[0-9]+[[:space:]]+STOPPED" && break
		sleep 0.1
	done
	cctr task rm userns
	cctr containers rm userns
	assert_clean userns "/run/containerd/runc/$CD_NS"
}

@test "ctr run: a nonexistent entrypoint surfaces husk's error from its JSON log" {
	run -1 hrun --rm "$IMAGE" enoent /does/not/exist
	echo "$output"
	[[ "$output" == *"OCI runtime create failed"* ]]
	[[ "$output" == *"/does/not/exist"* ]]
	[[ "$output" == *"no such file or directory"* ]]
	called "create --bundle"
	assert_clean enoent
	run -1 hrun --rm "$IMAGE" enopath no-such-command
	echo "$output"
	[[ "$output" == *"no-such-command"* ]]
	[[ "$output" == *"executable file not found"* ]]
	assert_clean enopath
}

@test "ctr run: a file that is not executable surfaces permission denied" {
	run -1 hrun --rm "$IMAGE" eacces /etc/passwd
	echo "$output"
	[[ "$output" == *"OCI runtime create failed"* ]]
	[[ "$output" == *"permission denied"* ]]
	assert_clean eacces
}

@test "config.toml: the CRI runtime entry for husk (RuntimeClass handler husk) is accepted" {
	# Only the CRI plugin (Kubernetes) reads this section, and there is no CRI
	# client here (crictl is not packaged in Debian 12): check that containerd
	# parses the documented entry into a runc v2 runtime with husk as BinaryName.
	local cfg=$BATS_TEST_TMPDIR/cri.toml
	cat >"$cfg" <<TOML
version = 2
root = "$BATS_TEST_TMPDIR/cri-root"
state = "$BATS_TEST_TMPDIR/cri-state"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk.options]
  BinaryName = "$HUSK_RUNTIME"
TOML
	run containerd --config "$cfg" config dump
	[ "$status" -eq 0 ]
	local section
	section=$(echo "$output" | sed -n '/runtimes\.husk\]/,/^ *\[plugins.*runtimes\.[a-z]*\]$/p')
	echo "$section"
	echo "$section" | grep -q 'runtime_type = "io.containerd.runc.v2"'
	echo "$output" | grep -qF "BinaryName = \"$HUSK_RUNTIME\""
	[ ! -e "$BATS_TEST_TMPDIR/cri-root" ]
}
