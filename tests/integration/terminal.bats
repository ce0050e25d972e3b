#!/usr/bin/env bats
# process.terminal: the pty master goes to --console-socket (create, run -d)
# or is proxied by a foreground run; the container's stdio is the pty slave,
# sized by process.consoleSize. tools/console-recv (or console_recv.py) plays
# the part of the console-socket receiver (containerd's shim, podman's conmon).
load helpers
bats_require_minimum_version 1.5.0

# --- local helpers ----------------------------------------------------------

# Every runtime call is bounded (husk() in helpers.bash): a hung runtime
# fails the test (status 124) instead of hanging the whole run. A hang
# detector, not a speed limit: far above what a call takes on a slow or
# loaded machine, under ASan or in the emulated guest, and far below bats'
# per-test limit (HUSK_TEST_TIMEOUT, 300 s in tests/run.sh).
HUSK_TIMEOUT=${HUSK_TIMEOUT:-60}

# start_receiver [ARGS...]: the receiver on $SOCK in the background
# ($RECV), its terminal output in $TTY_OUT, its diagnostics in $TTY_ERR; it
# gives up (status 4) after HUSK_TIMEOUT, a hang detector as well.
start_receiver() {
	local i
	SOCK=$BATS_TEST_TMPDIR/console.sock
	TTY_OUT=$BATS_TEST_TMPDIR/tty.out
	TTY_ERR=$BATS_TEST_TMPDIR/tty.err
	"${RECEIVER[@]}" "$SOCK" --timeout "$HUSK_TIMEOUT" "$@" >"$TTY_OUT" 2>"$TTY_ERR" 3>&- &
	RECV=$!
	for ((i = 0; i < 100; i++)); do
		[ -S "$SOCK" ] && return 0
		sleep 0.05
	done
	echo "the receiver did not listen on $SOCK"
	return 1
}

# wait_receiver: its exit status (0: the terminal hung up).
wait_receiver() {
	local rc=0
	wait "$RECV" || rc=$?
	RECV=
	echo "receiver exited with $rc; stderr: $(cat "$TTY_ERR")"
	return $rc
}

# tty_lines: what the container wrote to its terminal, without CR, NUL and
# the echo of control characters (script(1) sends ^@/^D at the end of its
# stdin, which the pty echoes).
tty_lines() { tr -d '\r\0' <"$TTY_OUT" | sed 's/\^[@D]//g'; }

# has_line REGEX: a whole line of the terminal output matches.
has_line() {
	if ! tty_lines | grep -qxE -- "$1"; then
		echo "no terminal line matches [$1]; got:"
		tty_lines
		return 1
	fi
}

# The program: where its stdio goes, the window size, one line of input.
PROBE='tty; stty size; [ -t 0 ] && echo stdin-tty; [ -t 1 ] && echo stdout-tty; [ -t 2 ] && echo stderr-tty; read x; echo "got:$x"; exit 3'

setup() {
	skip_unless_root
	have_receiver || skip "the console-socket receiver needs python3 (or build/tests/integration/tools/console-recv)"
	setup_bundle
	RECV=
	update_config '.process.terminal = true | .process.consoleSize = {"height": 33, "width": 101}'
}

teardown() {
	if [ -n "${RECV:-}" ]; then
		kill "$RECV" 2>/dev/null
		wait "$RECV" 2>/dev/null
	fi
	cleanup_containers
	kill_strays "${HUSK_ROOT:-}"
}

# --- console socket -------------------------------------------------------------

@test "terminal: create --console-socket hands over the pty; start runs the program on it" {
	set_args sh -c "$PROBE"
	start_receiver --input 'hello\n'

	run hcmd create --console-socket "$SOCK" -b "$BUNDLE" t1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# the master is handed over before create returns; the program has not
	# run (the terminal shows only the echo of the input)
	grep -q '^fd-received .*master=True' "$TTY_ERR"
	[ "$(husk state t1 | jq -r .status)" = created ]
	sleep 0.2
	[ -z "$(tty_lines | grep -vx hello)" ]

	run husk start t1
	[ "$status" -eq 0 ]
	wait_receiver
	wait_status t1 stopped
	has_line '/dev/(console|pts/[0-9]+)'
	has_line '33 101'
	has_line stdin-tty
	has_line stdout-tty
	has_line stderr-tty
	has_line got:hello

	husk delete t1
	assert_gone
}

@test "terminal: run --detach --console-socket" {
	set_args sh -c "$PROBE"
	start_receiver --input 'from the socket\n'
	run hcmd run -d --console-socket "$SOCK" -b "$BUNDLE" t2
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_receiver
	has_line '/dev/(console|pts/[0-9]+)'
	has_line '33 101'
	has_line stdin-tty
	has_line 'got:from the socket'
	wait_status t2 stopped
	husk delete t2
	assert_gone
}

@test "terminal: the container's terminal is its controlling tty and it leads the session" {
	set_args sh -c 'read -r _ _ _ _ _ sid tty _ </proc/$$/stat; echo "sid=$sid pid=$$"; echo "ctty=$tty"'
	start_receiver
	run hcmd run -d --console-socket "$SOCK" -b "$BUNDLE" t3
	[ "$status" -eq 0 ]
	wait_receiver
	tty_lines
	# sh is pid 1 and leads its session
	has_line 'sid=1 pid=1'
	# tty_nr of a pty slave is never 0
	has_line 'ctty=[1-9][0-9]*'
}

# --- foreground run ---------------------------------------------------------------

@test "terminal: run in the foreground proxies the pty (stdin a tty)" {
	command -v script >/dev/null || skip "script(1) is needed to give run a tty"
	set_args sh -c 'tty; [ -t 0 ] && echo stdin-tty; [ -t 1 ] && echo stdout-tty; exit 5'
	TTY_OUT=$BATS_TEST_TMPDIR/script.out
	rc=0
	timeout "$HUSK_TIMEOUT" script -qec "$HUSK_RUNTIME --root $HUSK_ROOT run -b $BUNDLE fg1" /dev/null \
		</dev/null >"$TTY_OUT" 2>&1 3>&- || rc=$?
	tty_lines
	[ "$rc" -eq 5 ]
	has_line '/dev/(console|pts/[0-9]+)'
	has_line stdin-tty
	has_line stdout-tty
	assert_gone
}

@test "terminal: run in the foreground proxies the pty (stdin not a tty)" {
	set_args sh -c 'tty; stty size; [ -t 0 ] && echo stdin-tty; exit 4'
	run husk run -b "$BUNDLE" fg2 </dev/null
	echo "$output"
	[ "$status" -eq 4 ]
	TTY_OUT=$BATS_TEST_TMPDIR/out
	printf '%s\n' "$output" >"$TTY_OUT"
	has_line '/dev/(console|pts/[0-9]+)'
	has_line '33 101'
	has_line stdin-tty
	assert_gone
}

# --- errors ---------------------------------------------------------------------

@test "terminal: create without --console-socket fails clearly and leaves nothing" {
	set_args sh -c 'touch /ran'
	for cmd in create "run -d"; do
		run hcmd $cmd -b "$BUNDLE" e1
		echo "$cmd: $output"
		assert_failed
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *terminal*console-socket* ]]
		assert_gone
	done
	[ ! -e "$BUNDLE/rootfs/ran" ]
}

@test "terminal: a console socket nobody listens on fails clearly and leaves nothing" {
	run hcmd create --console-socket "$BATS_TEST_TMPDIR/nobody.sock" -b "$BUNDLE" e2
	echo "$output"
	assert_failed
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *console-socket*nobody.sock* ]]
	assert_gone
}

@test "terminal: --console-socket without process.terminal is refused (runc)" {
	update_config '.process.terminal = false'
	set_args true
	start_receiver
	run hcmd create --console-socket "$SOCK" -b "$BUNDLE" e3
	echo "$output"
	assert_failed
	[[ "$output" == *console*terminal* ]]
	assert_gone
}
