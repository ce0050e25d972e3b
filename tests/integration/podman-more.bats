#!/usr/bin/env bats
# More of podman as a client of husk-runtime (podman.bats has run, exit codes,
# 127, env/user/workdir, -d/logs/stop/rm): terminals, stdin, exec, logs, stop
# with the KILL fallback, kill, pause/unpause, top, restart, rm -f, 126, and
# rootless podman. Same private store as podman.bats; husk is reached through
# a logging wrapper in $BATS_TEST_TMPDIR (its arguments, one call a line, are
# printed when a test fails), and after every flow nothing of the container
# may be left: husk state, mounts, cgroups, conmon.
load helpers
bats_require_minimum_version 1.5.0

IMAGE=localhost/husk-busybox
ULIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

pm_global() {
	PM_ARGS=(podman --root "$PM_DIR/root" --runroot "$PM_DIR/runroot" --tmpdir "$PM_DIR/tmp"
		--network-config-dir "$PM_DIR/net" --storage-driver vfs
		--cgroup-manager cgroupfs --events-backend file)
}

# podman with the private store; cgroupfs and file events need no systemd.
pm() {
	pm_global
	timeout 120 "${PM_ARGS[@]}" "$@"
}

# pm_cmdline ARGS...: the same podman command as one shell-quoted string (for script -c).
pm_cmdline() {
	pm_global
	printf 'timeout --foreground -k 10 120'
	printf ' %q' "${PM_ARGS[@]}" "$@"
}

# pm_run RUNTIME ARGS...: `podman run --rm` with explicit ulimits (the defaults
# need CAP_SYS_RESOURCE, which this machine's root lacks).
pm_run() {
	local rt=$1
	shift
	pm --runtime "$rt" run --rm "${ULIMITS[@]}" "$@"
}

# pm_detach ARGS...: `podman run -d` with husk; the container id on stdout.
pm_detach() { pm --runtime "$PM_RT" run -d "${ULIMITS[@]}" "$@"; }

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	command -v podman >/dev/null || return 0
	export PM_DIR=$BATS_FILE_TMPDIR/podman
	mkdir -p "$PM_DIR/tmp" "$PM_DIR/net"
	PM_CGROUPS_BEFORE=$(find /sys/fs/cgroup -maxdepth 3 -type d -path '*libpod_parent*' 2>/dev/null | sort)
	export PM_CGROUPS_BEFORE
	PM_HOST_DIRS_NEW=
	local d
	for d in /var/lib/containers /var/lib/containers/cache /run/containers /run/libpod /run/husk; do
		[ -e "$d" ] || PM_HOST_DIRS_NEW+=" $d"
	done
	export PM_HOST_DIRS_NEW
	tar -C "$(shared_rootfs)" -c . | pm import - "$IMAGE" >/dev/null 2>"$PM_DIR/import.err" ||
		export PM_BROKEN="podman import failed: $(tail -n 1 "$PM_DIR/import.err")"
	if [ -z "${PM_BROKEN:-}" ] && command -v runc >/dev/null; then
		local out
		out=$(pm_run runc "$IMAGE" echo hello 2>&1) ||
			export PM_BROKEN="podman fails with runc too: $(echo "$out" | tail -n 1)"
	fi
}

teardown_file() {
	[ -n "${PM_DIR:-}" ] && [ -d "$PM_DIR" ] || return 0
	local id d
	for id in $(pm ps -aq 2>/dev/null); do
		pm rm -f "$id" >/dev/null 2>&1
	done
	pm system reset -f >/dev/null 2>&1
	grep -o " ${PM_DIR}[^ ]*" /proc/self/mountinfo | sort -r | while read -r d; do
		umount -l "$d" 2>/dev/null
	done
	rm -rf "$PM_DIR"
	for d in $(find /sys/fs/cgroup -maxdepth 3 -type d -path '*libpod_parent*' 2>/dev/null | sort -r); do
		echo "$PM_CGROUPS_BEFORE" | grep -qx "$d" || rmdir "$d" 2>/dev/null
	done
	for d in ${PM_HOST_DIRS_NEW:-}; do
		# /run/husk only if nothing else keeps state there
		if [ "$d" = /run/husk ]; then rmdir "$d" 2>/dev/null; else rm -rf "$d"; fi
	done
	return 0
}

setup() {
	skip_unless_root
	command -v podman >/dev/null || skip "podman not installed"
	[ -z "${PM_BROKEN:-}" ] || skip "$PM_BROKEN"
	CALLS=$BATS_TEST_TMPDIR/runtime-calls.log
	PM_RT=$BATS_TEST_TMPDIR/husk
	cat >"$PM_RT" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>'$CALLS'
exec '$HUSK_RUNTIME' "\$@"
EOF
	chmod 755 "$PM_RT"
	: >"$CALLS"
}

teardown() {
	if [ -s "${CALLS:-}" ]; then
		echo "# runtime calls:"
		cat "$CALLS"
	fi
	rl_teardown
	[ -n "${PM_DIR:-}" ] || return 0
	local id
	# while the wrapper still exists: podman cleans up with the container's runtime
	for id in $(pm ps -aq 2>/dev/null); do
		pm rm -f -t 0 "$id" >/dev/null 2>&1
	done
	return 0
}

# called NEEDLE: husk was invoked with arguments containing NEEDLE.
called() { grep -qE -- "$1" "$CALLS"; }

# pm_assert_clean ID: podman forgot the container (removed), and nothing of it
# is left: husk state, mounts, cgroups, conmon.
pm_assert_clean() {
	local id=$1 i
	if pm ps -aq --no-trunc | grep -qx "$id"; then
		echo "podman still has $id"
		return 1
	fi
	for ((i = 0; i < 50; i++)); do
		pgrep -f "conmon .*$id" >/dev/null || break
		sleep 0.1
	done
	if pgrep -af "conmon .*$id"; then
		echo "conmon of $id still running"
		return 1
	fi
	# podman (conmon) gives the runtime no --root: husk's default, /run/husk
	if [ -e "/run/husk/$id" ] || "$HUSK_RUNTIME" state "$id" >/dev/null 2>&1; then
		echo "runtime state of $id left"
		return 1
	fi
	if grep -F "$id" /proc/self/mountinfo; then
		echo "mounts of $id left"
		return 1
	fi
	local cg
	cg=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "*$id*" 2>/dev/null)
	if [ -n "$cg" ]; then
		echo "cgroups of $id left: $cg"
		return 1
	fi
}

# pm_wait_log ID TEXT: the container's log has a line TEXT (5 s at most).
pm_wait_log() {
	local i
	for ((i = 0; i < 50; i++)); do
		pm logs "$1" 2>/dev/null | grep -qx "$2" && return 0
		sleep 0.1
	done
	echo "no line '$2' in the log of $1:"
	pm logs "$1"
	return 1
}

pm_status() { pm inspect -f '{{.State.Status}}' "$1"; }

# last_id: the id of the only container podman knows.
last_id() { pm ps -aq --no-trunc | head -n 1; }

# A -t container reports its terminal, waits (at most 10 s) for it to have a
# size and prints it: busybox `stty size` prints nothing (and exits 0) at 0x0.
TTY_PROBE='tty; [ -t 0 ] && echo stdin-tty; i=0; until s=$(stty size 2>/dev/null) && [ -n "$s" ] || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.1; done; echo "size:$s"; exit 5'

@test "podman run -t: the process gets a terminal with a size, its output and exit code come back" {
	command -v script >/dev/null || skip "script (util-linux) not installed"
	# podman passes on the size of its own terminal: script's pty, which
	# has none (0x0) when the suite runs without a terminal, so it gets one.
	tty_run "stty rows 33 cols 101 && $(pm_cmdline --runtime "$PM_RT" run -t --name tty \
		"${ULIMITS[@]}" "$IMAGE" sh -c "$TTY_PROBE")"
	echo "$output"
	[ "$status" -eq 5 ]
	[[ "$output" == *"/dev/pts/0"* ]]
	[[ "$output" == *stdin-tty* ]]
	[[ "$output" == *"size:33 101"* ]]
	called "create .*--console-socket"
	local id
	id=$(pm inspect -f '{{.Id}}' tty)
	pm rm tty
	pm_assert_clean "$id"
}

@test "podman run -i: piped stdin reaches the process, EOF ends it" {
	run pm_run "$PM_RT" -i "$IMAGE" cat <<<hi
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = hi ]
	run pm_run "$PM_RT" -i "$IMAGE" sh -c 'while read -r l; do echo "got $l"; done; echo eof; exit 2' < <(printf 'a\nb\n')
	echo "$output"
	[ "$status" -eq 2 ]
	[ "${lines[*]}" = "got a got b eof" ]
	# without -i, stdin is not connected
	run pm_run "$PM_RT" "$IMAGE" sh -c 'cat; echo done' <<<ignored
	echo "$output"
	[ "$output" = done ]
	[ -z "$(pm ps -aq)" ]
}

@test "podman exec, with and without -t and -i" {
	command -v script >/dev/null || skip "script (util-linux) not installed"
	local id
	id=$(pm_detach "$IMAGE" sleep 1000)
	[ "$(pm_status "$id")" = running ]
	run pm exec "$id" sh -c 'cat /proc/1/comm; [ -t 1 ] || echo no-tty; exit 4'
	echo "$output"
	[ "$status" -eq 4 ]
	[ "${lines[*]}" = "sleep no-tty" ]
	called "^exec .*--process .* $id\$"
	run pm exec -i "$id" sh -c 'read -r l; echo "read $l"' <<<line
	echo "$output"
	[ "$output" = "read line" ]
	run pm exec -e FOO=bar -w /tmp --user 65534 "$id" sh -c 'echo $FOO; pwd; id -u'
	echo "$output"
	[ "${lines[*]}" = "bar /tmp 65534" ]
	tty_run "$(pm_cmdline exec -t "$id" sh -c 'tty; exit 6')"
	echo "$output"
	[ "$status" -eq 6 ]
	[[ "$output" == *"/dev/pts/"* ]]
	called "^exec .*--console-socket"
	# a nonexistent command in exec: 127, and the container keeps running
	run -127 pm exec "$id" /no/such/file
	echo "$output"
	[ "$status" -eq 127 ]
	[ "$(pm_status "$id")" = running ]
	pm rm -f -t 0 "$id"
	pm_assert_clean "$id"
}

@test "podman logs: stdout and stderr of a finished container" {
	local id
	id=$(pm_detach "$IMAGE" sh -c 'echo out1; echo err1 >&2; echo out2')
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(pm_status "$id")" = exited ] && break
		sleep 0.1
	done
	[ "$(pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")" = "exited 0" ]
	run pm logs "$id"
	echo "$output"
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "err1 out1 out2 " ]
	run --separate-stderr pm logs "$id"
	[ "$output" = "$(printf 'out1\nout2')" ]
	[ "$stderr" = err1 ]
	pm rm "$id"
	pm_assert_clean "$id"
}

@test "podman stop: the stop signal first, SIGKILL after the timeout" {
	local id t0 t1
	# ignores TERM: only the KILL after -t 1 ends it
	id=$(pm_detach "$IMAGE" sh -c 'trap "" TERM; echo ready; while :; do sleep 0.1; done')
	pm_wait_log "$id" ready
	t0=${EPOCHREALTIME/./}
	pm stop -t 1 "$id"
	t1=${EPOCHREALTIME/./}
	echo "stop took $(((t1 - t0) / 1000)) ms"
	[ $((t1 - t0)) -ge 1000000 ]
	[ $((t1 - t0)) -lt 10000000 ]
	[ "$(pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")" = "exited 137" ]
	called "^kill $id (15|TERM)\$"
	called "^kill $id (9|KILL)\$"
	pm rm "$id"
	pm_assert_clean "$id"

	# honours TERM: stops at once with its own exit code, no KILL
	: >"$CALLS"
	id=$(pm_detach "$IMAGE" sh -c 'trap "exit 3" TERM; echo ready; while :; do sleep 0.1; done')
	pm_wait_log "$id" ready
	pm stop -t 10 "$id"
	[ "$(pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")" = "exited 3" ]
	! called "^kill $id (9|KILL)\$"
	pm rm "$id"
	pm_assert_clean "$id"
}

@test "podman kill: a signal the process handles, then the default SIGKILL" {
	local id
	id=$(pm_detach "$IMAGE" sh -c 'trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done')
	pm_wait_log "$id" ready
	pm kill -s USR1 "$id"
	called "^kill $id (10|USR1|SIGUSR1)\$"
	pm_wait_log "$id" got-usr1
	[ "$(pm_status "$id")" = running ]
	pm kill "$id"
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(pm_status "$id")" = exited ] && break
		sleep 0.1
	done
	[ "$(pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")" = "exited 137" ]
	pm rm "$id"
	pm_assert_clean "$id"
}

# ctr_count PID: the counter of the pause test's container (empty until its
# first write). It writes a new file and renames it over /tmp/count, so a read
# never sees the file half written: `echo $i >/tmp/count` truncates the file
# before writing, and a read there (or a freeze there) gets an empty value.
ctr_count() { cat "/proc/$1/root/tmp/count" 2>/dev/null || true; }

# ctr_count_wait PID N: the counter is above N (bounded: 30 s; the counter
# waits for nothing but the CPU, and this is only to bound a broken run).
ctr_count_wait() {
	local i c
	for ((i = 0; i < 300; i++)); do
		c=$(ctr_count "$1")
		[[ "$c" =~ ^[0-9]+$ ]] && [ "$c" -gt "$2" ] && return 0
		sleep 0.1
	done
	echo "the counter of pid $1 did not get above $2 (it is '$c')"
	return 1
}

@test "podman pause and unpause freeze and thaw the container" {
	local id pid fz i n0 n1 n2
	id=$(pm_detach "$IMAGE" sh -c \
		'i=0; while :; do i=$((i+1)); echo $i >/tmp/count.new; mv -f /tmp/count.new /tmp/count; sleep 0.05; done')
	pid=$(pm inspect -f '{{.State.Pid}}' "$id")
	[ "$pid" -gt 0 ]
	# running: the counter moves (it was written once, then again)
	ctr_count_wait "$pid" 0
	n0=$(ctr_count "$pid")
	ctr_count_wait "$pid" "$n0"
	pm pause "$id"
	called "^pause $id\$"
	[ "$(pm_status "$id")" = paused ]
	fz=$(find /sys/fs/cgroup/freezer -maxdepth 3 -type d -name "*$id*" | head -n 1)
	[ -n "$fz" ]
	# (that `pause` returns before FROZEN is checked in containerd.bats)
	for ((i = 0; i < 50; i++)); do
		[ "$(cat "$fz/freezer.state")" = FROZEN ] && break
		sleep 0.1
	done
	[ "$(cat "$fz/freezer.state")" = FROZEN ]
	# frozen: the counter stands still (it went up every 0.05 s or so)
	n1=$(ctr_count "$pid")
	[[ "$n1" =~ ^[0-9]+$ ]]
	[ "$n1" -gt "$n0" ]
	sleep 0.5
	n2=$(ctr_count "$pid")
	[ "$n1" = "$n2" ]
	pm unpause "$id"
	called "^resume $id\$"
	[ "$(pm_status "$id")" = running ]
	[ "$(cat "$fz/freezer.state")" = THAWED ]
	# thawed: it moves again, the same process
	ctr_count_wait "$pid" "$n1"
	[ "$(pm inspect -f '{{.State.Pid}}' "$id")" = "$pid" ]
	pm rm -f -t 0 "$id"
	pm_assert_clean "$id"
}

@test "podman top lists the container's processes" {
	local id
	id=$(pm_detach "$IMAGE" sh -c 'sleep 1001 & sleep 1002'  )
	local i
	for ((i = 0; i < 50; i++)); do
		pm top "$id" 2>/dev/null | grep -q "sleep 1001" && break
		sleep 0.1
	done
	run pm top "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == USER*PID*COMMAND* ]]
	[[ "$output" == *"sleep 1001"* ]]
	run pm top "$id" pid comm
	echo "$output"
	[[ "$output" =~ (^|$'\n')[[:space:]]*1[[:space:]]+sleep ]]
	pm rm -f -t 0 "$id"
	pm_assert_clean "$id"
}

@test "podman restart: a new process in the same container" {
	local id pid1 pid2 i
	id=$(pm_detach "$IMAGE" sh -c 'echo started; trap "exit 0" TERM; while :; do sleep 0.1; done')
	pm_wait_log "$id" started
	pid1=$(pm inspect -f '{{.State.Pid}}' "$id")
	pm restart -t 5 "$id"
	[ "$(pm_status "$id")" = running ]
	pid2=$(pm inspect -f '{{.State.Pid}}' "$id")
	[ "$pid2" != "$pid1" ]
	! kill -0 "$pid1" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		[ "$(pm logs "$id" | grep -c started)" = 2 ] && break
		sleep 0.1
	done
	[ "$(pm logs "$id" | grep -c started)" = 2 ]
	# the second run went through create and start again
	[ "$(grep -c "^create " "$CALLS")" = 2 ]
	[ "$(grep -c "^start $id\$" "$CALLS")" = 2 ]
	pm rm -f -t 0 "$id"
	pm_assert_clean "$id"
}

@test "podman rm -f removes a running container and everything of it" {
	local id pid
	id=$(pm_detach "$IMAGE" sh -c 'sleep 1000 & wait')
	pid=$(pm inspect -f '{{.State.Pid}}' "$id")
	"$HUSK_RUNTIME" state "$id" | jq -e '.status == "running"'
	pm rm -f "$id"
	called "^kill $id (9|KILL)\$"
	called "^delete .*$id\$"
	! kill -0 "$pid" 2>/dev/null
	pm_assert_clean "$id"
}

@test "podman run: an entrypoint that is not executable exits 126" {
	run -126 pm_run "$PM_RT" "$IMAGE" /etc/passwd
	echo "$output"
	[[ "$output" == *"/etc/passwd"* ]]
	[[ "$output" == *"ermission denied"* ]]
	# a directory cannot be executed either
	run -126 pm_run "$PM_RT" "$IMAGE" /tmp
	echo "$output"
	[ -z "$(pm ps -aq)" ]
}

# --- rootless podman: a throw-away user with its own /etc/subuid range -------

rl_setup() {
	command -v useradd >/dev/null || skip "useradd not installed"
	command -v runuser >/dev/null || skip "runuser not installed"
	command -v newuidmap >/dev/null || skip "newuidmap not installed (package uidmap)"
	RL_USER=hkpm$$t$BATS_TEST_NUMBER
	RL_DIR=$(mktemp -d /tmp/husk-pmrl.XXXXXX)
	chmod 755 "$RL_DIR"
	useradd -M -U -d "$RL_DIR/home" -s /bin/sh "$RL_USER"
	# a range of our own (useradd may have added one too: teardown removes both)
	local start=$((1200000000 + ($$ % 1000) * 1000000 + BATS_TEST_NUMBER * 65536))
	echo "$RL_USER:$start:65536" >>/etc/subuid
	echo "$RL_USER:$start:65536" >>/etc/subgid
	mkdir -p "$RL_DIR/home" "$RL_DIR/xdg" "$RL_DIR/tmp"
	cp "$PM_RT" "$RL_DIR/husk"
	chmod 755 "$RL_DIR/husk"
	: >"$RL_DIR/calls.log"
	sed -i "s|'$CALLS'|'$RL_DIR/calls.log'|" "$RL_DIR/husk"
	tar -C "$(shared_rootfs)" -cf "$RL_DIR/rootfs.tar" .
	chown -R "$RL_USER:$RL_USER" "$RL_DIR/home" "$RL_DIR/xdg" "$RL_DIR/tmp" "$RL_DIR/rootfs.tar" "$RL_DIR/calls.log"
	chmod 700 "$RL_DIR/xdg"
	rl_pm import "$RL_DIR/rootfs.tar" "$IMAGE" >/dev/null 2>"$RL_DIR/import.err" ||
		skip "rootless podman import failed: $(tail -n 1 "$RL_DIR/import.err")"
	command -v runc >/dev/null || skip "runc not installed (reference runtime)"
	local out
	out=$(rl_pm --runtime runc run --rm --network none "$IMAGE" echo hello 2>&1)
	[ "$out" = hello ] || skip "rootless podman fails with runc too: $(echo "$out" | tail -n 1)"
}

rl_teardown() {
	[ -n "${RL_USER:-}" ] || return 0
	local pid i
	if [ -s "${RL_DIR:-}/calls.log" ]; then
		echo "# rootless runtime calls:"
		cat "$RL_DIR/calls.log"
	fi
	rl_pm ps -aq 2>/dev/null | while read -r i; do rl_pm rm -f -t 0 "$i" >/dev/null 2>&1; done
	# every process of this user (podman's pause process, conmon) is ours
	for pid in $(pgrep -u "$RL_USER"); do
		kill -9 "$pid" 2>/dev/null
	done
	for ((i = 0; i < 50; i++)); do
		pgrep -u "$RL_USER" >/dev/null || break
		sleep 0.1
	done
	# the vfs store holds files of the user's subordinate ids: root removes it
	grep -o " $RL_DIR/[^ ]*" /proc/self/mountinfo | sort -r | while read -r d; do
		umount -l "$d" 2>/dev/null
	done
	rm -rf "$RL_DIR"
	userdel "$RL_USER" 2>/dev/null
	getent group "$RL_USER" >/dev/null && groupdel "$RL_USER" 2>/dev/null
	sed -i "/^$RL_USER:/d" /etc/subuid /etc/subgid
	return 0
}

# rl_pm ARGS...: podman as the test user, with a private store and no network
# (slirp4netns cannot open /dev/net/tun on this VM).
rl_pm() {
	runuser -u "$RL_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$RL_DIR/home" \
		XDG_RUNTIME_DIR="$RL_DIR/xdg" timeout 120 podman --root "$RL_DIR/home/root" \
		--runroot "$RL_DIR/xdg/runroot" --tmpdir "$RL_DIR/tmp" --storage-driver vfs \
		--cgroup-manager cgroupfs --events-backend file "$@"
}

@test "rootless podman run: echo, exit code, the user's subordinate ids" {
	rl_setup
	run rl_pm --runtime "$RL_DIR/husk" run --rm --network none "$IMAGE" sh -c 'echo hello; id -u'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[*]}" = "hello 0" ]
	run rl_pm --runtime "$RL_DIR/husk" run --rm --network none "$IMAGE" sh -c 'exit 3'
	[ "$status" -eq 3 ]
	# root in the container is the user; uid 1 is the first subordinate id.
	# Read back with `logs`: under load podman 4.3's attach can end before
	# conmon has relayed the output of a process that exits at once.
	local id
	id=$(rl_pm --runtime "$RL_DIR/husk" run -d --network none --user 1:1 "$IMAGE" \
		sh -c 'touch /tmp/f && stat -c %u /tmp/f; cat /proc/self/uid_map')
	[ "$(rl_pm wait "$id")" = 0 ]
	run rl_pm logs "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	rl_pm rm "$id" >/dev/null
	[ -z "$(rl_pm ps -aq)" ]
}

@test "rootless podman run -d, exec, stop and rm" {
	rl_setup
	local id
	id=$(rl_pm --runtime "$RL_DIR/husk" run -d --network none "$IMAGE" sh -c 'trap "" TERM; while :; do sleep 0.1; done')
	[ "$(rl_pm inspect -f '{{.State.Status}}' "$id")" = running ]
	run rl_pm exec "$id" sh -c 'echo in; exit 4'
	[ "$status" -eq 4 ]
	[ "$output" = in ]
	rl_pm stop -t 1 "$id"
	[ "$(rl_pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")" = "exited 137" ]
	rl_pm rm "$id"
	[ -z "$(rl_pm ps -aq)" ]
	! pgrep -f "conmon .*$id"
}
