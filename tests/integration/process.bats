#!/usr/bin/env bats
# config.md "process": args, env, cwd, user, umask, rlimits, capabilities,
# noNewPrivileges, oomScoreAdj; annotations; --preserve-fds and the fds the
# container starts with. Everything is read back from inside the container.
load helpers

setup() {
	skip_unless_root
	setup_bundle
}

husk_t() { timeout 20 "$HUSK_RUNTIME" --root "$HUSK_ROOT" "$@"; }

# cap_mask NAME...: the 64-bit hex mask /proc/PID/status prints for NAMEs.
cap_mask() {
	local -A num=(
		[CAP_CHOWN]=0 [CAP_DAC_OVERRIDE]=1 [CAP_DAC_READ_SEARCH]=2 [CAP_FOWNER]=3
		[CAP_FSETID]=4 [CAP_KILL]=5 [CAP_SETGID]=6 [CAP_SETUID]=7 [CAP_SETPCAP]=8
		[CAP_LINUX_IMMUTABLE]=9 [CAP_NET_BIND_SERVICE]=10 [CAP_NET_BROADCAST]=11
		[CAP_NET_ADMIN]=12 [CAP_NET_RAW]=13 [CAP_IPC_LOCK]=14 [CAP_IPC_OWNER]=15
		[CAP_SYS_MODULE]=16 [CAP_SYS_RAWIO]=17 [CAP_SYS_CHROOT]=18 [CAP_SYS_PTRACE]=19
		[CAP_SYS_PACCT]=20 [CAP_SYS_ADMIN]=21 [CAP_SYS_BOOT]=22 [CAP_SYS_NICE]=23
		[CAP_SYS_RESOURCE]=24 [CAP_SYS_TIME]=25 [CAP_SYS_TTY_CONFIG]=26 [CAP_MKNOD]=27
		[CAP_LEASE]=28 [CAP_AUDIT_WRITE]=29 [CAP_AUDIT_CONTROL]=30 [CAP_SETFCAP]=31
		[CAP_MAC_OVERRIDE]=32 [CAP_MAC_ADMIN]=33 [CAP_SYSLOG]=34 [CAP_WAKE_ALARM]=35
		[CAP_BLOCK_SUSPEND]=36 [CAP_AUDIT_READ]=37 [CAP_PERFMON]=38 [CAP_BPF]=39
		[CAP_CHECKPOINT_RESTORE]=40
	)
	local m=0 c
	for c in "$@"; do
		m=$((m | (1 << ${num[$c]})))
	done
	printf '%016x\n' "$m"
}

# caps_of SET: the names in process.capabilities.SET of config.json.
caps_of() { jq -r ".process.capabilities.$1 // [] | .[]" "$BUNDLE/config.json"; }

# status_field NAME: NAME's value from a /proc/self/status dump in $output.
status_field() { echo "$output" | awk -v k="$1:" '$1 == k {print $2}'; }

@test "args: passed to execve exactly, with spaces, quotes and empty strings" {
	run_ctr args printf '[%s]\n' 'a b' '$HOME' '' "it's" '-n' '*'
	[ "$status" -eq 0 ]
	[ "${lines[*]}" = "[a b] [\$HOME] [] [it's] [-n] [*]" ]
}

@test "args: the exit status and a missing executable" {
	run_ctr missing /bin/does-not-exist
	[ "$status" -ne 0 ]
	[[ "$output" == *does-not-exist* ]]
	run_ctr notinpath no-such-command
	[ "$status" -ne 0 ]
	[[ "$output" == *no-such-command* ]]
}

@test "env: the process gets exactly the configured environment" {
	update_config '.process.env = ["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY=", "HOME=/root"]'
	HUSK_LEAK=from-caller run_ctr env env
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | sort)" = "$(printf '%s\n' 'EMPTY=' 'FOO=bar baz' 'HOME=/root' 'PATH=/bin:/usr/bin')" ]
}

@test "env: a shell adds only its own variables" {
	update_config '.process.env = ["PATH=/bin", "ONLY=me"]'
	HUSK_LEAK=from-caller run_ctr shenv sh -c env
	[ "$status" -eq 0 ]
	[[ "$output" == *ONLY=me* ]]
	[[ "$output" != *HUSK_LEAK* ]]
	# busybox sh adds at most PWD and SHLVL; the runtime adds HOME (below)
	[ "$(echo "$output" | grep -v -e '^PATH=/bin$' -e '^ONLY=me$' -e '^HOME=/root$' -e '^PWD=' -e '^SHLVL=' | wc -l)" -eq 0 ]
}

@test "env: HOME, when not given, is the user's home in the container's /etc/passwd, else /" {
	update_config '.process.env = ["PATH=/bin:/usr/bin"]'
	echo 'app:x:1000:1000:app:/home/app:/bin/sh' >>"$BUNDLE/rootfs/etc/passwd"
	# programs that read HOME crash without it: it is there for every user
	run_ctr home0 env
	[ "$status" -eq 0 ]
	[ "$(grep ^HOME= <<<"$output")" = HOME=/root ]
	update_config '.process.user = {"uid": 1000, "gid": 1000}'
	run_ctr home1000 env
	[ "$status" -eq 0 ]
	[ "$(grep ^HOME= <<<"$output")" = HOME=/home/app ]
	# a uid the image does not list
	update_config '.process.user = {"uid": 4242, "gid": 4242}'
	run_ctr home4242 env
	[ "$status" -eq 0 ]
	[ "$(grep ^HOME= <<<"$output")" = HOME=/ ]
	# an entry with an empty home field
	echo 'nohome:x:4243:4243:::/bin/sh' >>"$BUNDLE/rootfs/etc/passwd"
	update_config '.process.user = {"uid": 4243, "gid": 4243}'
	run_ctr home4243 env
	[ "$status" -eq 0 ]
	[ "$(grep ^HOME= <<<"$output")" = HOME=/ ]
	# a HOME given in process.env is kept
	update_config '.process.user = {"uid": 1000, "gid": 1000} | .process.env += ["HOME=/given"]'
	run_ctr homegiven env
	[ "$status" -eq 0 ]
	[ "$(grep ^HOME= <<<"$output")" = HOME=/given ]
}

@test "env: HOME without /etc/passwd, or with a fifo there, is /" {
	update_config '.process.env = ["PATH=/bin:/usr/bin"]'
	rm "$BUNDLE/rootfs/etc/passwd"
	run_ctr nopasswd env
	[ "$status" -eq 0 ]
	[ "$(grep ^HOME= <<<"$output")" = HOME=/ ]
	# a hostile image: reading a fifo would block the start for ever
	mkfifo "$BUNDLE/rootfs/etc/passwd"
	set_args env
	run timeout 20 "$HUSK_RUNTIME" --root "$HUSK_ROOT" run -b "$BUNDLE" fifopasswd </dev/null
	[ "$status" -eq 0 ]
	[ "$(grep ^HOME= <<<"$output")" = HOME=/ ]
}

@test "env: a later value of a name replaces the earlier one" {
	update_config '.process.env = ["PATH=/nowhere", "A=1", "HOME=/h1", "A=2", "PATH=/bin:/usr/bin", "HOME=/h2"]'
	run_ctr envdup env
	[ "$status" -eq 0 ]
	# one of each, the last value, in the first one's place
	[ "$output" = "$(printf '%s\n' PATH=/bin:/usr/bin A=2 HOME=/h2)" ]
}

@test "capabilities: an unknown name is warned about and left out; the container runs" {
	update_config '.process.capabilities.bounding += ["CAP_NO_SUCH_CAP"] | .process.capabilities.effective += ["CAP_NO_SUCH_CAP"]'
	run_ctr unknowncap sh -c 'grep ^CapEff /proc/self/status'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'warning: process.capabilities: unknown capability `CAP_NO_SUCH_CAP` ignored' <<<"$output")" -eq 1 ]
	[[ "$output" == *"CapEff:"* ]]
}

@test "cwd: the process starts in process.cwd" {
	update_config '.process.cwd = "/etc"'
	run_ctr cwd pwd
	[ "$status" -eq 0 ]
	[ "$output" = /etc ]
}

@test "cwd: a cwd that does not exist is created (rootfs writable)" {
	update_config '.root.readonly = false | .process.cwd = "/work/a/b"'
	run_ctr cwdnew sh -c 'pwd; stat -c %F .'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = /work/a/b ]
	[ "${lines[1]}" = directory ]
	[ -d "$BUNDLE/rootfs/work/a/b" ]
}

@test "cwd: a cwd that does not exist is created even with root.readonly (as runc does)" {
	update_config '.root.readonly = true | .process.cwd = "/work/a/b"'
	run_ctr cwdro pwd
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = /work/a/b ]
}

@test "user: uid, gid and additionalGids" {
	update_config '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20, 30]}'
	run_ctr user sh -c 'id -u; id -g; id -G; grep -E "^(Uid|Gid|Groups):" /proc/self/status'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000 ]
	[ "${lines[1]}" = 1001 ]
	[ "$(echo "${lines[2]}" | tr ' ' '\n' | sort -n | xargs)" = "10 20 30 1001" ]
	[ "$(echo ${lines[3]})" = "Uid: 1000 1000 1000 1000" ]
	[ "$(echo ${lines[4]})" = "Gid: 1001 1001 1001 1001" ]
	[ "$(echo ${lines[5]})" = "Groups: 10 20 30" ]
}

@test "user: without additionalGids the supplementary groups are empty" {
	update_config '.process.user = {"uid": 0, "gid": 0}'
	run_ctr nogroups grep Groups: /proc/self/status
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "Groups:" ]
}

@test "umask: process.user.umask is applied; 0022 by default" {
	update_config '.process.user.umask = 63'
	run_ctr umask sh -c umask
	[ "$status" -eq 0 ]
	[ "$output" = 0077 ]
	update_config 'del(.process.user.umask)'
	run_ctr umask2 sh -c umask
	[ "$output" = 0022 ]
}

@test "rlimits: soft and hard limits at or below the current hard limit" {
	local hard
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || hard=4096
	update_config ".process.rlimits = [
		{\"type\": \"RLIMIT_NOFILE\", \"soft\": $((hard / 2)), \"hard\": $hard},
		{\"type\": \"RLIMIT_CORE\", \"soft\": 0, \"hard\": 0}]"
	run_ctr rlimits sh -c 'ulimit -n; ulimit -Hn; ulimit -c; ulimit -Hc'
	[ "$status" -eq 0 ]
	[ "${lines[*]}" = "$((hard / 2)) $hard 0 0" ]
}

@test "rlimits: raising a hard limit needs CAP_SYS_RESOURCE and the error says so" {
	grep -q '^CapEff:.*' /proc/self/status
	local eff hard
	eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
	[ $(((0x$eff >> 24) & 1)) -eq 0 ] || skip "this machine has CAP_SYS_RESOURCE"
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || skip "the hard limit is unlimited"
	update_config ".process.rlimits = [{\"type\": \"RLIMIT_NOFILE\", \"soft\": $((hard + 1)), \"hard\": $((hard + 1))}]"
	run_ctr rlimitup true
	[ "$status" -ne 0 ]
	[[ "$output" == *RLIMIT_NOFILE* ]]
	[[ "$output" == *CAP_SYS_RESOURCE* ]]
	[ -z "$(state_entries)" ]
}

@test "capabilities: the default set from husk-runtime spec, in each of the five sets" {
	run_ctr caps grep ^Cap /proc/self/status
	[ "$status" -eq 0 ]
	local set field
	for set in bounding effective permitted inheritable ambient; do
		case $set in
		bounding) field=CapBnd ;; effective) field=CapEff ;; permitted) field=CapPrm ;;
		inheritable) field=CapInh ;; ambient) field=CapAmb ;;
		esac
		# shellcheck disable=SC2046
		[ "$(status_field $field)" = "$(cap_mask $(caps_of $set))" ] || {
			echo "$field: got $(status_field $field), want $(cap_mask $(caps_of $set))"
			return 1
		}
	done
}

@test "capabilities: only CAP_NET_BIND_SERVICE, in all five sets, for root" {
	update_config '.process.capabilities = {
		"bounding": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"],
		"permitted": ["CAP_NET_BIND_SERVICE"], "inheritable": ["CAP_NET_BIND_SERVICE"],
		"ambient": ["CAP_NET_BIND_SERVICE"]}'
	run_ctr onecap grep ^Cap /proc/self/status
	[ "$status" -eq 0 ]
	[ "$(status_field CapBnd)" = 0000000000000400 ]
	[ "$(status_field CapEff)" = 0000000000000400 ]
	[ "$(status_field CapPrm)" = 0000000000000400 ]
	[ "$(status_field CapInh)" = 0000000000000400 ]
	[ "$(status_field CapAmb)" = 0000000000000400 ]
}

@test "capabilities: a non-root user keeps ambient capabilities across exec" {
	update_config '.process.user = {"uid": 1000, "gid": 1000}
		| .process.capabilities = {
		"bounding": ["CAP_NET_BIND_SERVICE", "CAP_KILL"], "effective": ["CAP_NET_BIND_SERVICE"],
		"permitted": ["CAP_NET_BIND_SERVICE"], "inheritable": ["CAP_NET_BIND_SERVICE"],
		"ambient": ["CAP_NET_BIND_SERVICE"]}'
	run_ctr ambient grep ^Cap /proc/self/status
	[ "$status" -eq 0 ]
	[ "$(status_field CapBnd)" = "$(cap_mask CAP_NET_BIND_SERVICE CAP_KILL)" ]
	[ "$(status_field CapEff)" = 0000000000000400 ]
	[ "$(status_field CapPrm)" = 0000000000000400 ]
	[ "$(status_field CapInh)" = 0000000000000400 ]
	[ "$(status_field CapAmb)" = 0000000000000400 ]
}

@test "capabilities: a non-root user without ambient ones ends with none effective" {
	update_config '.process.user = {"uid": 1000, "gid": 1000}
		| .process.capabilities = {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"],
		"permitted": ["CAP_CHOWN"]}'
	run_ctr noamb grep ^Cap /proc/self/status
	[ "$status" -eq 0 ]
	[ "$(status_field CapBnd)" = 0000000000000001 ]
	[ "$(status_field CapEff)" = 0000000000000000 ]
	[ "$(status_field CapPrm)" = 0000000000000000 ]
	[ "$(status_field CapAmb)" = 0000000000000000 ]
}

@test "noNewPrivileges: true and false show in /proc/self/status" {
	update_config '.process.noNewPrivileges = true'
	run_ctr nnp1 grep NoNewPrivs /proc/self/status
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "NoNewPrivs: 1" ]
	update_config '.process.noNewPrivileges = false'
	run_ctr nnp0 grep NoNewPrivs /proc/self/status
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "NoNewPrivs: 0" ]
}

@test "oomScoreAdj: raised to 500" {
	update_config '.process.oomScoreAdj = 500'
	run_ctr oom cat /proc/self/oom_score_adj
	[ "$status" -eq 0 ]
	[ "$output" = 500 ]
}

@test "oomScoreAdj: lowering it without CAP_SYS_RESOURCE fails, naming the field" {
	local eff
	eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
	[ $(((0x$eff >> 24) & 1)) -eq 0 ] || skip "this machine has CAP_SYS_RESOURCE"
	[ "$(cat /proc/self/oom_score_adj)" -gt -1000 ] || skip "already at -1000"
	update_config ".process.oomScoreAdj = $(($(cat /proc/self/oom_score_adj) - 1))"
	run_ctr oomlow cat /proc/self/oom_score_adj
	[ "$status" -ne 0 ]
	[[ "$output" == *oomScoreAdj* ]]
	[ -z "$(state_entries)" ]
}

@test "annotations: kept in state" {
	update_config '.annotations = {"org.example.key": "value", "com.example/other": "a b"}'
	set_args sleep 60
	husk_t create -b "$BUNDLE" ann </dev/null >/dev/null 2>&1
	run husk_t state ann
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.annotations["org.example.key"]')" = value ]
	[ "$(echo "$output" | jq -r '.annotations["com.example/other"]')" = "a b" ]
	husk_t delete -f ann
}

@test "create: state reports created with the init's pid; start runs the process" {
	set_args sleep 60
	husk_t create -b "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" lc </dev/null >/dev/null 2>&1
	run husk_t state lc
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .status)" = created ]
	[ "$(echo "$output" | jq -r .pid)" = "$(cat "$BATS_TEST_TMPDIR/pid")" ]
	husk_t start lc
	wait_status lc running
	[ "$(cat "/proc/$(cat "$BATS_TEST_TMPDIR/pid")/comm")" = sleep ]
	husk_t delete -f lc
}

@test "--preserve-fds 1: fd 3 of the caller is open inside" {
	echo passed-in >"$BATS_TEST_TMPDIR/fd3"
	set_args sh -c 'cat <&3; ls /proc/$$/fd; true'
	run husk run --preserve-fds 1 -b "$BUNDLE" pfd 3<"$BATS_TEST_TMPDIR/fd3"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = passed-in ]
	[ "${lines[*]:1}" = "0 1 2 3" ]
}

@test "--preserve-fds 2: fds 3 and 4 are open inside, 5 is not" {
	echo three >"$BATS_TEST_TMPDIR/a"
	echo four >"$BATS_TEST_TMPDIR/b"
	set_args sh -c 'cat <&3; cat <&4; ls /proc/$$/fd; true'
	run husk run --preserve-fds 2 -b "$BUNDLE" pfd2 3<"$BATS_TEST_TMPDIR/a" 4<"$BATS_TEST_TMPDIR/b" 5</etc/hostname
	[ "$status" -eq 0 ]
	[ "${lines[0]} ${lines[1]}" = "three four" ]
	[ "$(echo "$output" | tail -n 5 | xargs)" = "0 1 2 3 4" ]
}

@test "fds: without --preserve-fds only 0, 1 and 2 are open inside" {
	set_args sh -c 'ls /proc/$$/fd; true'
	run husk run -b "$BUNDLE" nofd 3</etc/hostname 4</etc/passwd 7</dev/null
	[ "$status" -eq 0 ]
	[ "${lines[*]}" = "0 1 2" ]
}

@test "fds: nothing of the runtime leaks into a created-then-started container" {
	# The init's own fds, read from the host: a shell inside would show the
	# fds it saves while redirecting (busybox ash keeps them at 10 and up).
	set_args sleep 60
	husk_t create -b "$BUNDLE" leak </dev/null >/dev/null 2>&1 3</etc/hostname
	husk_t start leak
	local pid fds
	pid=$(husk_t state leak | jq -r .pid)
	fds=$(ls /proc/"$pid"/fd | sort -n | xargs)
	ls -l /proc/"$pid"/fd
	husk_t delete -f leak
	[ "$fds" = "0 1 2" ]
}

@test "process.terminal false: stdio are the caller's pipes, not a tty" {
	set_args sh -c 'readlink /proc/self/fd/0; readlink /proc/self/fd/1; [ -t 1 ] && echo tty || echo notty'
	run husk run -b "$BUNDLE" stdio </dev/null
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == pipe:* ]]
	[ "${lines[2]}" = notty ]
}

# with_signals CMD...: CMD with SIGPIPE ignored and SIGTERM blocked, as a
# server that launches containers often has them.
with_signals() {
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

@test "signals: the caller's ignored and blocked signals do not reach the process (run and exec)" {
	command -v python3 >/dev/null || skip "python3 not installed"
	set_args cat /proc/self/status
	run with_signals "$HUSK_RUNTIME" --root "$HUSK_ROOT" run -b "$BUNDLE" sig1
	[ "$status" -eq 0 ]
	echo "run: SigIgn $(status_field SigIgn) SigBlk $(status_field SigBlk)"
	[ "$(status_field SigIgn)" = 0000000000000000 ]
	[ "$(status_field SigBlk)" = 0000000000000000 ]

	set_args sleep 1000
	hrun_detached -b "$BUNDLE" sig2
	run with_signals "$HUSK_RUNTIME" --root "$HUSK_ROOT" exec sig2 cat /proc/self/status
	[ "$status" -eq 0 ]
	echo "exec: SigIgn $(status_field SigIgn) SigBlk $(status_field SigBlk)"
	[ "$(status_field SigIgn)" = 0000000000000000 ]
	[ "$(status_field SigBlk)" = 0000000000000000 ]
}
