#!/usr/bin/env bats
# exec: a new process in a running container joins every namespace and the
# cgroup of its init, with the init's user, capabilities, no_new_privs and
# seccomp unless told otherwise; its options (--env, --cwd, --user, --cap,
# --process, --detach, --pid-file, --tty, --console-socket, --ignore-paused)
# and its errors. Checked from the host through /proc and the cgroup tree.
load helpers
load tools/cg-lib
bats_require_minimum_version 1.5.0

setup() {
	skip_unless_root
	CG=$(cg_layout)
	setup_bundle
	RECV=
	EXEC_PIDS=()
}

teardown() {
	local p
	if [ -n "${RECV:-}" ]; then
		kill "$RECV" 2>/dev/null
		wait "$RECV" 2>/dev/null
	fi
	cleanup_containers
	# detached exec'd processes die with their PID namespace; make sure (a
	# pid still in this test's cgroup is ours, not a reused one)
	for p in "${EXEC_PIDS[@]}"; do
		grep -qF "/$CGROUP_NAME" "/proc/$p/cgroup" 2>/dev/null && kill -9 "$p"
	done
	kill_strays "${HUSK_ROOT:-}"
}

# start_ctr ID: a running container whose init (sleep, PID 1) has written
# /tmp/ready on a tmpfs of its own; $INIT is its pid on the host.
start_ctr() {
	update_config '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}]'
	set_args sh -c 'echo from-init > /tmp/r; mv /tmp/r /tmp/ready; exec sleep 1000'
	hrun_detached -b "$BUNDLE" "$1"
	INIT=$(state_of "$1" pid)
	wait_file "/proc/$INIT/root/tmp/ready"
}

# status_field PID FIELD: a line of /proc/PID/status, without the name.
status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

# --- namespaces and cgroup ------------------------------------------------------

@test "exec: joins every namespace of the init" {
	start_ctr e1
	# the same namespace inodes as the init, seen from the host
	all="pid ipc uts net mnt cgroup user time"
	run husk exec e1 sh -c "for ns in $all; do echo \$ns \$(readlink /proc/self/ns/\$ns); done"
	[ "$status" -eq 0 ]
	for ns in $all; do
		[ -e "/proc/$INIT/ns/$ns" ] || continue
		echo "$ns: exec [$(grep "^$ns " <<<"$output")] init [$(readlink "/proc/$INIT/ns/$ns")]"
		grep -qxF "$ns $(readlink "/proc/$INIT/ns/$ns")" <<<"$output"
	done
	# the init's hostname
	run husk exec e1 hostname
	[ "$status" -eq 0 ]
	[ "$output" = "$(jq -r .hostname "$BUNDLE/config.json")" ]
	# its PID namespace: the init is PID 1 there
	run husk exec e1 ps -o pid,args
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(awk '$1 == 1 { $1 = ""; print }' <<<"$output")" = " sleep 1000" ]
	# its mount view: the file the init wrote in /tmp
	run husk exec e1 cat /tmp/ready
	[ "$status" -eq 0 ]
	[ "$output" = from-init ]
	# and its cgroup namespace: the container's cgroup is the root
	run husk exec e1 cat /proc/self/cgroup
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(grep -v ':/$' <<<"$output")" ]
}

@test "exec --detach --pid-file: a live process in the init's cgroup and namespaces" {
	start_ctr e1
	run hcmd exec --detach --pid-file "$BATS_TEST_TMPDIR/exec.pid" e1 sleep 77
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	grep -qxE '[0-9]+' "$BATS_TEST_TMPDIR/exec.pid"
	pid=$(cat "$BATS_TEST_TMPDIR/exec.pid")
	EXEC_PIDS+=("$pid")
	pid_alive "$pid"
	[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "sleep 77 " ]
	# the same cgroup in every hierarchy, as the host sees it
	diff "/proc/$INIT/cgroup" "/proc/$pid/cgroup"
	grep -qx "$pid" "$(cg_dir "$INIT" pids)/cgroup.procs"
	for ns in pid ipc uts net mnt cgroup; do
		[ "$(readlink "/proc/$pid/ns/$ns")" = "$(readlink "/proc/$INIT/ns/$ns")" ]
	done
	# the same root
	[ "$(stat -L -c %d:%i "/proc/$pid/root")" = "$(stat -L -c %d:%i "/proc/$INIT/root")" ]
}

@test "exec: the init's user, capabilities, no_new_privs and seccomp by default" {
	start_ctr e1
	run husk exec e1 cat /proc/self/status
	[ "$status" -eq 0 ]
	for f in Uid Gid Groups CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp; do
		mine=$(awk -v f="$f:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' <<<"$output")
		echo "$f: exec [$mine] init [$(status_field "$INIT" "$f")]"
		[ "$mine" = "$(status_field "$INIT" "$f")" ]
	done
	# the default spec does restrict: otherwise the comparison proves little
	[ "$(status_field "$INIT" NoNewPrivs)" = 1 ]
	[ "$(status_field "$INIT" Seccomp)" = 2 ]
	[ "$(status_field "$INIT" CapBnd)" != "$(status_field 1 CapBnd)" ]
}

@test "exec --user UID:GID and --cap CAP change only the exec'd process" {
	start_ctr e1
	run husk exec --user 1000:1001 e1 sh -c 'echo $(id -u):$(id -g)'
	[ "$status" -eq 0 ]
	[ "$output" = 1000:1001 ]
	run husk exec --user 1002 e1 id -u
	[ "$status" -eq 0 ]
	[ "$output" = 1002 ]

	# CAP_SYS_ADMIN (bit 21) is not in the default set; --cap adds it
	eff=$(status_field "$INIT" CapEff)
	[ $((0x$eff >> 21 & 1)) -eq 0 ]
	run husk exec --cap CAP_SYS_ADMIN e1 sh -c 'grep ^CapEff: /proc/self/status'
	echo "$output"
	[ "$status" -eq 0 ]
	added=$(awk '{ print $2 }' <<<"$output")
	[ $((0x$added >> 21 & 1)) -eq 1 ]
	# everything else as before
	[ $((0x$added & ~(1 << 21))) -eq $((0x$eff)) ]
	# and the init is untouched
	[ "$(status_field "$INIT" CapEff)" = "$eff" ]
	[ "$(status_field "$INIT" Uid | awk '{ print $1 }')" = 0 ]
}

@test "exec --cap: bounding, effective and permitted only, never inheritable or ambient (CVE-2022-29162)" {
	start_ctr e1
	run husk exec --cap CAP_SYS_ADMIN --user 1000 e1 cat /proc/self/status
	[ "$status" -eq 0 ]
	for f in CapBnd CapPrm CapEff CapInh CapAmb; do
		v=$(awk -v f="$f:" '$1 == f { print $2 }' <<<"$output")
		echo "$f $v"
		case $f in
		CapInh | CapAmb) [ $((0x$v >> 21 & 1)) -eq 0 ] ;;
		CapBnd) [ $((0x$v >> 21 & 1)) -eq 1 ] ;;
		esac
	done
	# as root: effective and permitted too, still nothing inheritable or ambient
	run husk exec --cap CAP_SYS_ADMIN e1 cat /proc/self/status
	[ "$status" -eq 0 ]
	for f in CapPrm CapEff; do
		v=$(awk -v f="$f:" '$1 == f { print $2 }' <<<"$output")
		[ $((0x$v >> 21 & 1)) -eq 1 ]
	done
	[ "$(awk '$1 == "CapInh:" { print $2 }' <<<"$output")" = 0000000000000000 ]
	[ "$(awk '$1 == "CapAmb:" { print $2 }' <<<"$output")" = 0000000000000000 ]
}

@test "exec --cap with an unknown name warns once and runs the process" {
	start_ctr e1
	run husk exec --cap CAP_NO_SUCH_CAP e1 echo ran
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = ran ]
	[ "$(grep -c 'warning: process.capabilities: unknown capability `CAP_NO_SUCH_CAP` ignored' <<<"$output")" -eq 1 ]
}

# --- process options ------------------------------------------------------------

@test "exec --env replaces a variable of the same name; the last one wins" {
	update_config '.process.env = ["PATH=/bin:/usr/bin", "A=from-config"]'
	start_ctr e1
	run husk exec --env PATH=/usr/bin:/bin --env A=1 --env A=2 e1 env
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^PATH=' <<<"$output")" -eq 1 ]
	[ "$(grep '^PATH=' <<<"$output")" = PATH=/usr/bin:/bin ]
	[ "$(grep '^A=' <<<"$output")" = A=2 ]
}

@test "exec: HOME from the container's /etc/passwd for the exec's user, else /" {
	update_config '.process.env = ["PATH=/bin:/usr/bin"]'
	echo 'app:x:1000:1000:app:/home/app:/bin/sh' >>"$BUNDLE/rootfs/etc/passwd"
	start_ctr e1
	run husk exec e1 env
	[ "$(grep ^HOME= <<<"$output")" = HOME=/root ]
	run husk exec --user 1000 e1 env
	[ "$(grep ^HOME= <<<"$output")" = HOME=/home/app ]
	run husk exec --user 4242 e1 env
	[ "$(grep ^HOME= <<<"$output")" = HOME=/ ]
	run husk exec --user 1000 --env HOME=/given e1 env
	[ "$(grep ^HOME= <<<"$output")" = HOME=/given ]
}

@test "exec --env and --cwd; the config's environment is kept" {
	update_config '.process.env += ["FROM_CONFIG=1", "KEEP=yes"]'
	start_ctr e1
	run husk exec --env FOO=bar --env 'SPACED=a b' --cwd /tmp e1 \
		sh -c 'echo "$FOO|$SPACED|$KEEP|$FROM_CONFIG|$PWD"'
	[ "$status" -eq 0 ]
	[ "$output" = "bar|a b|yes|1|/tmp" ]
	# the default cwd is the config's (/)
	run husk exec e1 pwd
	[ "$output" = / ]
	# --env overrides the config, and the environment holds the name once
	run husk exec --env FROM_CONFIG=2 e1 sh -c 'echo $FROM_CONFIG; env | grep -c ^FROM_CONFIG='
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 2 ]
	[ "${lines[1]}" = 1 ]
}

@test "exec: the exit status propagates (code and signal)" {
	start_ctr e1
	run husk exec e1 sh -c 'exit 9'
	[ "$status" -eq 9 ]
	run husk exec e1 true
	[ "$status" -eq 0 ]
	run husk exec e1 sh -c 'kill -9 $$'
	[ "$status" -eq 137 ]
	# stdout and stderr both come back
	run --separate-stderr husk exec e1 sh -c 'echo out; echo err >&2'
	[ "$status" -eq 0 ]
	[ "$output" = out ]
	[ "$stderr" = err ]
}

@test "exec: stdin is passed through" {
	start_ctr e1
	run bash -c "printf 'line1\nline2\n' | timeout -k 1 $HUSK_TIMEOUT $HUSK_RUNTIME --root $HUSK_ROOT exec e1 wc -l"
	[ "$status" -eq 0 ]
	[ "$(tr -d ' ' <<<"$output")" = 2 ]
}

@test "exec --preserve-fds N: fds 3..3+N-1 are passed, the rest are not" {
	start_ctr e1
	echo via-fd-3 >"$BATS_TEST_TMPDIR/fd3"
	echo via-fd-4 >"$BATS_TEST_TMPDIR/fd4"
	run husk exec --preserve-fds 1 e1 sh -c 'cat <&3; cat <&4 || echo no-fd-4' \
		3<"$BATS_TEST_TMPDIR/fd3" 4<"$BATS_TEST_TMPDIR/fd4"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = via-fd-3 ]
	[ "${lines[-1]}" = no-fd-4 ]
	# without the option neither
	run husk exec e1 sh -c 'cat <&3 || echo no-fd-3' 3<"$BATS_TEST_TMPDIR/fd3"
	[ "${lines[-1]}" = no-fd-3 ]
}

@test "exec --process FILE: a runtime-spec process object" {
	start_ctr e1
	cat >"$BATS_TEST_TMPDIR/process.json" <<-'EOF'
		{
		  "terminal": false,
		  "user": {"uid": 1000, "gid": 1000, "additionalGids": [1234]},
		  "args": ["sh", "-c", "echo \"$MYVAR|$PWD|$(id -u):$(id -g)|$(id -G)\"; exit 4"],
		  "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "MYVAR=from-process-json"],
		  "cwd": "/tmp"
		}
	EOF
	run husk exec --process "$BATS_TEST_TMPDIR/process.json" e1
	echo "$output"
	[ "$status" -eq 4 ]
	[ "${output%% *}" = "from-process-json|/tmp|1000:1000|1000" ]
	[[ " $(cut -d'|' -f4 <<<"$output") " == *" 1234 "* ]]
	# an invalid file is an error that names it
	echo '{"args": [' >"$BATS_TEST_TMPDIR/bad.json"
	run husk exec --process "$BATS_TEST_TMPDIR/bad.json" e1
	assert_failed
	[[ "$output" == *bad.json* ]]
}

# --- terminal -------------------------------------------------------------------

tty_lines() { tr -d '\r\0' <"$TTY_OUT" | sed 's/\^[@D]//g'; }
has_line() {
	if ! tty_lines | grep -qxE -- "$1"; then
		echo "no terminal line matches [$1]; got:"
		tty_lines
		return 1
	fi
}

@test "exec --tty --detach --console-socket: the pty master goes to the socket" {
	have_receiver || skip "the console-socket receiver needs python3 (or build/tests/integration/tools/console-recv)"
	start_ctr e1
	SOCK=$BATS_TEST_TMPDIR/console.sock
	TTY_OUT=$BATS_TEST_TMPDIR/tty.out
	"${RECEIVER[@]}" "$SOCK" --timeout 10 --input 'typed\n' >"$TTY_OUT" \
		2>"$BATS_TEST_TMPDIR/tty.err" 3>&- &
	RECV=$!
	wait_file "$SOCK"

	run hcmd exec --tty --detach --console-socket "$SOCK" e1 \
		sh -c 'tty; [ -t 0 ] && echo stdin-tty; [ -t 1 ] && echo stdout-tty; read x; echo "got:$x"'
	echo "$output"
	[ "$status" -eq 0 ]
	rc=0
	wait "$RECV" || rc=$?
	RECV=
	cat "$BATS_TEST_TMPDIR/tty.err"
	[ "$rc" -eq 0 ]
	grep -q '^fd-received .*master=True' "$BATS_TEST_TMPDIR/tty.err"
	has_line '/dev/pts/[0-9]+'
	has_line stdin-tty
	has_line stdout-tty
	has_line got:typed
}

@test "exec --tty in the foreground proxies a pty (under script)" {
	command -v script >/dev/null || skip "script(1) is needed to give exec a tty"
	start_ctr e1
	TTY_OUT=$BATS_TEST_TMPDIR/script.out
	rc=0
	timeout 10 script -qec "$HUSK_RUNTIME --root $HUSK_ROOT exec --tty e1 sh -c 'tty; [ -t 0 ] && echo stdin-tty; [ -t 2 ] && echo stderr-tty; exit 6'" /dev/null \
		</dev/null >"$TTY_OUT" 2>&1 3>&- || rc=$?
	tty_lines
	[ "$rc" -eq 6 ]
	has_line '/dev/pts/[0-9]+'
	has_line stdin-tty
	has_line stderr-tty
}

# A refused exec must not run its command at all. A runtime that detects these
# errors late (after releasing the process) runs it only sometimes: try up to
# 10 times within ~4 s.
@test "exec --tty --detach without --console-socket is refused; the command never runs" {
	setup_out
	start_ctr e1
	t0=$SECONDS
	for ((n = 0; n < 10 && SECONDS - t0 < 4; n++)); do
		run hcmd exec --tty --detach e1 sh -c 'echo ran >> /out/ran'
		assert_failed
		[[ "$output" == *console-socket* ]]
	done
	sleep 0.2
	if [ -e "$OUT/ran" ]; then
		echo "the refused command ran $(wc -l <"$OUT/ran") times out of $n"
		return 1
	fi
	[ "$(husk ps --format json e1)" = "[$INIT]" ]
}

@test "exec --tty --console-socket nobody listens on fails clearly; the command never runs" {
	setup_out
	start_ctr e1
	t0=$SECONDS
	for ((n = 0; n < 10 && SECONDS - t0 < 4; n++)); do
		run hcmd exec --tty --detach --console-socket "$BATS_TEST_TMPDIR/nobody.sock" e1 \
			sh -c 'echo ran >> /out/ran'
		assert_failed
		[[ "$output" == *nobody.sock* ]]
	done
	sleep 0.2
	if [ -e "$OUT/ran" ]; then
		echo "the failed command ran $(wc -l <"$OUT/ran") times out of $n"
		return 1
	fi
	[ "$(husk ps --format json e1)" = "[$INIT]" ]
}

# --- errors ---------------------------------------------------------------------

@test "exec into a container that does not exist fails with does not exist" {
	run husk exec nope true
	echo "$output"
	assert_failed
	[[ "$output" == *nope*"does not exist"* ]]
}

@test "exec into a stopped container fails clearly" {
	set_args true
	hcmd create -b "$BUNDLE" e1
	husk start e1
	wait_status e1 stopped
	run husk exec e1 sh -c 'echo ran'
	echo "$output"
	assert_failed
	[[ "$output" == *e1*stopped* ]]
	[[ "$output" != *ran* ]]
}

@test "exec into a created (not started) container runs the process" {
	setup_out
	set_args sh -c 'touch /out/init-ran'
	hcmd create -b "$BUNDLE" e1
	run husk exec e1 sh -c 'echo exec-ran'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = exec-ran ]
	[ ! -e "$OUT/init-ran" ]
	[ "$(state_of e1 status)" = created ]
}

@test "exec: a command that does not exist gives executable file not found" {
	start_ctr e1
	run husk exec e1 no-such-command
	echo "$output"
	assert_failed
	[[ "$output" == *"executable file not found"* ]]
	run husk exec e1 /bin/no-such-file
	echo "$output"
	assert_failed
	[[ "$output" == */bin/no-such-file* ]]
	# the container lives on
	[ "$(state_of e1 status)" = running ]
}

@test "exec into a paused container fails, unless --ignore-paused" {
	skip_unless_controller freezer
	setup_out
	start_ctr e1
	husk pause e1
	[ "$(state_of e1 status)" = paused ]

	run husk exec e1 sh -c 'echo ran >> /out/log'
	echo "$output"
	assert_failed
	[[ "$output" == *paused* ]]

	# --ignore-paused: accepted; the process runs once the container thaws
	f=$BATS_TEST_TMPDIR/ignore.out
	husk exec --ignore-paused e1 sh -c 'echo ran >> /out/log; echo done' </dev/null >"$f" 2>&1 3>&- &
	ex=$!
	sleep 0.5
	husk resume e1
	rc=0
	wait "$ex" || rc=$?
	cat "$f"
	[ "$rc" -eq 0 ]
	[ "$(cat "$f")" = done ]
	[ "$(cat "$OUT/log")" = ran ]
	[ "$(state_of e1 status)" = running ]
}

# --- ps and cleanup ---------------------------------------------------------------

@test "ps: lists the init and the exec'd process; delete leaves nothing" {
	start_ctr e1
	hcmd exec --detach --pid-file "$BATS_TEST_TMPDIR/exec.pid" e1 sleep 88
	pid=$(cat "$BATS_TEST_TMPDIR/exec.pid")
	EXEC_PIDS+=("$pid")

	run husk ps --format json e1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -c 'sort' <<<"$output")" = "$(jq -nc --argjson a "$INIT" --argjson b "$pid" '[$a, $b] | sort')" ]
	run husk ps e1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *PID* ]]
	[ "${#lines[@]}" -eq 3 ]
	grep -q "sleep 1000" <<<"$output"
	grep -q "sleep 88" <<<"$output"

	husk delete -f e1
	pid_gone "$INIT"
	pid_gone "$pid"
	[ ! -e "$HUSK_ROOT/e1" ]
	[ -z "$(cg_all_dirs "$CGROUP_NAME")" ]
	run husk state e1
	assert_failed
}

@test "exec: many exec'd processes in sequence leave no stray processes" {
	start_ctr e1
	for i in 1 2 3 4 5; do
		run husk exec e1 sh -c "echo $i"
		[ "$status" -eq 0 ]
		[ "$output" = "$i" ]
	done
	# only the init is left in the cgroup
	run husk ps --format json e1
	[ "$(jq -c . <<<"$output")" = "[$INIT]" ]
}
