#!/usr/bin/env bats
# The engine's containers under their monitor, as root: run -d, ps, logs,
# stop, kill, wait, start, restart, rm, rename, exec, inspect, restart
# policies and healthchecks. Private store and run root per file.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

setup_file() { engine_setup_file; }
teardown_file() { engine_teardown_file; }

setup() { skip_unless_root; }

# Every container of the test is removed, then nothing of them may be left.
teardown() {
	[ "$(id -u)" = 0 ] || return 0
	remove_all_and_check
}

state_of() { hk inspect "$1" | jq -r '.[0].State.Status'; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }

@test "containers: run -d prints the id; ps lists it running; the monitor outlives husk" {
	run hk run -d --name web busybox sleep 1000
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	local id=$output
	run hk ps
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "CONTAINER ID"*"NAMES" ]]
	[[ "${lines[1]}" == "${id:0:12}  busybox"*"\"sleep 1000\""*"Up "*"web" ]]
	run hk ps -q
	[ "$output" = "${id:0:12}" ]
	run hk ps --format json
	[ "$(echo "$output" | jq -r .State)" = running ]
	[ "$(echo "$output" | jq -r .Names)" = web ]
	# the monitor is the init's parent, in a session of its own
	local pid ppid
	pid=$(hk inspect web | jq -r '.[0].State.Pid')
	ppid=$(awk '{print $4}' /proc/$pid/stat)
	[ "$(basename "$(readlink /proc/$ppid/exe)")" = husk-monitor ]
	[ "$(ps -o sid= -p $ppid | tr -d ' ')" = "$ppid" ]
}

@test "containers: a container that exits is kept, exited, with its code; ps -a shows it" {
	run hk run --name ex busybox sh -c 'echo bye; exit 4'
	[ "$status" -eq 4 ]
	[ "$output" = bye ]
	run hk ps -q
	[ -z "$output" ]
	run hk ps -a
	[[ "${lines[1]}" == *"Exited (4) "*" ago"*"ex" ]]
	run hk inspect ex
	[ "$(echo "$output" | jq -r '.[0].State.ExitCode')" = 4 ]
	[ "$(echo "$output" | jq -r '.[0].State.Running')" = false ]
	[ "$(echo "$output" | jq -r '.[0].Name')" = /ex ]
	# exited: its overlay is unmounted and its cgroup gone
	local id
	id=$(echo "$output" | jq -r '.[0].Id')
	! grep -q "$id" /proc/self/mountinfo
	[ -z "$(find /sys/fs/cgroup -maxdepth 4 -name "husk-$id")" ]
}

@test "containers: logs keep stdout and stderr apart, with --tail, -t, --since" {
	hk run --name lg busybox sh -c 'echo one; echo two >&2; echo three; printf partial'
	run --separate-stderr hk logs lg
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'one\nthree\npartial')" ]
	[ "$stderr" = two ]
	hk run --name tl busybox sh -c 'echo one; echo two; echo three; printf partial'
	run hk logs --tail 2 tl
	[ "$output" = "$(printf 'three\npartial')" ]
	run hk logs -t --tail 1 tl
	[[ "$output" =~ ^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]{8}\.[0-9]{9}Z\ partial$ ]]
	run hk logs --since 1h tl
	[ "${#lines[@]}" -eq 4 ]
	run hk logs --until 2000-01-01T00:00:00Z tl
	[ -z "$output" ]
	# the log is Docker's json-file format
	local id
	id=$(hk inspect lg | jq -r '.[0].Id')
	jq -e 'select(.stream == "stderr") | .log == "two\n"' \
		"$HUSK_STORAGE_ROOT/containers/$id/ctr.log"
}

@test "containers: logs escape what is not UTF-8 and keep a character split across reads" {
	hk run --name bin busybox sh -c 'printf "\377ok\n"; printf "\303"; sleep 0.3; printf "\251\n"'
	run hk logs bin
	[ "${lines[0]}" = "$(printf '\357\277\275ok')" ]
	[ "${lines[1]}" = "é" ]
}

@test "containers: logs -f follows until the container exits" {
	hk run -d --name fl busybox sh -c 'for i in 1 2 3; do echo n$i; sleep 0.3; done'
	run hk logs -f fl
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'n1\nn2\nn3')" ]
}

@test "containers: the log rotates at --log-opt max-size, logs reads both files" {
	hk run --name big --log-opt max-size=2k busybox sh -c 'i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done'
	local id
	id=$(hk inspect big | jq -r '.[0].Id')
	[ -f "$HUSK_STORAGE_ROOT/containers/$id/ctr.log.1" ]
	[ "$(stat -c %s "$HUSK_STORAGE_ROOT/containers/$id/ctr.log")" -le 2048 ]
	run hk logs --tail 1 big
	[ "$output" = line-199 ]
}

@test "containers: stop sends the stop signal, then KILL after -t" {
	hk run -d --name t1 busybox sh -c 'trap "exit 7" TERM; while true; do sleep 0.1; done'
	run hk stop t1
	[ "$status" -eq 0 ]
	[ "$output" = t1 ]
	[ "$(hk inspect t1 | jq -r '.[0].State.ExitCode')" = 7 ]
	# sh as PID 1 without a trap ignores TERM: killed after 1 s
	hk run -d --name t2 busybox sleep 1000
	run hk stop -t 1 t2
	[ "$status" -eq 0 ]
	[ "$(hk inspect t2 | jq -r '.[0].State.ExitCode')" = 137 ]
	# --stop-signal
	hk run -d --name t3 --stop-signal USR1 busybox sh -c 'trap "exit 9" USR1; while true; do sleep 0.1; done'
	hk stop t3
	[ "$(hk inspect t3 | jq -r '.[0].State.ExitCode')" = 9 ]
	[ "$(hk inspect t3 | jq -r '.[0].Config.StopSignal')" = SIGUSR1 ]
}

@test "containers: kill -s sends a signal; wait prints the exit code" {
	hk run -d --name k1 busybox sh -c 'trap "exit 3" USR2; while true; do sleep 0.1; done'
	run hk kill -s USR2 k1
	[ "$status" -eq 0 ]
	run hk wait k1
	[ "$output" = 3 ]
	run hk kill k1
	[ "$status" -eq 125 ]
	[ "$output" = "husk: container k1 is not running" ]
	run hk kill -s NOPE k1
	[ "$status" -eq 125 ]
	[ "$output" = "husk: kill: \`NOPE\` is not a signal" ]
}

@test "containers: start runs it again with its writable layer; start -a attaches" {
	hk run --name st busybox sh -c 'echo x >> /count; wc -l < /count'
	run hk start -a st
	[ "$status" -eq 0 ]
	[ "$output" = 2 ]
	run hk start st
	[ "$output" = st ]
	hk wait st
	run hk logs st
	[ "$output" = "$(printf '1\n2\n3')" ]
}

@test "containers: create then start" {
	run hk create --name cr busybox echo made
	[ "$status" -eq 0 ]
	[ "$(state_of cr)" = created ]
	run hk ps -a
	[[ "${lines[1]}" == *"Created"*"cr" ]]
	run hk start -a cr
	[ "$output" = made ]
}

@test "containers: restart on-failure:N gives up after N, always until stopped" {
	hk run -d --name of --restart on-failure:2 busybox sh -c 'echo try; exit 1'
	wait_for 20 is_state of exited
	run hk inspect of
	[ "$(echo "$output" | jq -r '.[0].RestartCount')" = 2 ]
	[ "$(echo "$output" | jq -r '.[0].State.ExitCode')" = 1 ]
	[ "$(hk logs of | grep -c try)" = 3 ]
	# on-failure leaves a success be
	hk run -d --name ok --restart on-failure busybox true
	wait_for 20 is_state ok exited
	[ "$(hk inspect ok | jq -r '.[0].RestartCount')" = 0 ]
	# always: restarts after a success too, until stop
	hk run -d --name al --restart always busybox sh -c 'echo up; sleep 0.2'
	wait_for 20 sh -c "[ \$($HUSK_ENGINE inspect al | jq -r '.[0].RestartCount') -ge 2 ]"
	hk stop -t 1 al
	[ "$(state_of al)" = exited ]
	local n
	n=$(hk inspect al | jq -r '.[0].RestartCount')
	sleep 0.5
	[ "$(hk inspect al | jq -r '.[0].RestartCount')" = "$n" ]
	[ "$(state_of al)" = exited ]
}

@test "containers: the healthcheck runs with no daemon: starting, unhealthy, healthy" {
	hk run -d --name hc --health-cmd 'test -e /tmp/ok' --health-interval 200ms \
		--health-retries 2 busybox sleep 1000
	run hk ps
	[[ "$output" == *"(starting)"* || "$output" == *"(unhealthy)"* ]]
	wait_for 20 sh -c "$HUSK_ENGINE ps | grep -q '(unhealthy)'"
	[ "$(hk inspect hc | jq -r '.[0].State.Health.FailingStreak')" -ge 2 ]
	hk exec hc touch /tmp/ok
	wait_for 20 sh -c "$HUSK_ENGINE ps | grep -q '(healthy)'"
	run hk inspect hc
	[ "$(echo "$output" | jq -r '.[0].State.Health.Status')" = healthy ]
	[ "$(echo "$output" | jq -r '.[0].State.Health.Log[-1].ExitCode')" = 0 ]
}

@test "containers: a healthcheck that hangs is cut at its timeout" {
	hk run -d --name slow --health-cmd 'sleep 100' --health-interval 300ms \
		--health-timeout 200ms --health-retries 1 busybox sleep 1000
	wait_for 20 sh -c "$HUSK_ENGINE ps | grep -q '(unhealthy)'"
	[[ "$(hk inspect slow | jq -r '.[0].State.Health.Log[0].Output')" == *"exceeded timeout"* ]]
}

@test "containers: rm refuses a running one without -f; rm -f removes it" {
	hk run -d --name r busybox sleep 1000
	run hk rm r
	[ "$status" -eq 125 ]
	[ "$output" = "husk: container r is running: stop it first, or use rm -f" ]
	run hk rm -f r
	[ "$status" -eq 0 ]
	[ "$output" = r ]
	run hk ps -aq
	[ -z "$output" ]
	run hk rm r
	[ "$status" -eq 125 ]
	[ "$output" = "husk: no such container: r" ]
}

@test "containers: --rm -d is removed by its monitor when it exits" {
	hk run -d --rm --name gone busybox sh -c 'sleep 0.3'
	wait_for 20 sh -c "[ -z \"\$($HUSK_ENGINE ps -aq)\" ]"
	nothing_left
}

@test "containers: rm -f of a running --rm container: its name, 0, and it is gone" {
	hk run -d --rm --name rmf busybox sleep 1000
	run hk rm -f rmf
	[ "$status" -eq 0 ]
	[ "$output" = rmf ]
	[ -z "$(hk ps -aq)" ]
	nothing_left
}

@test "containers: an --rm container's overlay is volatile (nothing to sync at its end), a kept one's is not" {
	hk info | grep -qx " Storage Driver: overlay" || skip "the store uses fuse-overlayfs"
	local gone kept
	gone=$(hk run -d --rm busybox sleep 1000)
	kept=$(hk run -d busybox sleep 1000)
	grep -F "$gone/rootfs" /proc/self/mountinfo | grep -Eq '(,|fsync=)volatile(,|$)'
	run grep -F "$kept/rootfs" /proc/self/mountinfo
	[ "$status" -eq 0 ]
	[[ "$output" != *volatile* ]]
	hk rm -f "$gone" "$kept" >/dev/null
}

@test "containers: names are unique, ids found by unique prefix, rename" {
	local a b
	a=$(hk create --name one busybox true)
	run hk create --name one busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: the container name \`one\` is already in use" ]
	b=$(hk create busybox true)
	# a made-up name, Docker's way
	[[ "$(hk inspect "$b" | jq -r '.[0].Name')" =~ ^/[a-z]+_[a-z]+$ ]]
	[ "$(hk inspect "${a:0:10}" | jq -r '.[0].Id')" = "$a" ]
	run hk inspect "$(echo "$a" | cut -c1)$(echo "$b" | cut -c1 | tr -d -c '')"
	run hk rename one two
	[ "$status" -eq 0 ]
	[ "$(hk inspect two | jq -r '.[0].Id')" = "$a" ]
	run hk inspect one
	[ "$status" -ne 0 ]
	run hk rename two "bad name"
	[ "$status" -eq 125 ]
	[[ "$output" == "husk: invalid container name \`bad name\`"* ]]
}

@test "containers: exec runs in the container: output, exit code, -e, -w, -u" {
	hk run -d --name x -e A=1 busybox sleep 1000
	run hk exec x sh -c 'echo $A $B $(pwd) $(id -u)'
	[ "$output" = "1 / 0" ]
	run hk exec -e B=2 -w /tmp -u 1000 x sh -c 'echo $A $B $(pwd) $(id -u)'
	[ "$output" = "1 2 /tmp 1000" ]
	run hk exec x sh -c 'exit 5'
	[ "$status" -eq 5 ]
	run -127 hk exec x /nonexistent
	[ "$status" -eq 127 ]
	# the same pid namespace as the init
	run hk exec x ps -o pid,comm
	[[ "$output" == *"1 sleep"* ]]
	hk stop -t 1 x
	run hk exec x true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: container x is not running" ]
}

@test "containers: -i keeps stdin open for a detached container; the foreground gets stdin" {
	run bash -c "echo piped | $HUSK_ENGINE run -i --rm busybox cat"
	[ "$output" = piped ]
	run bash -c "echo piped | $HUSK_ENGINE run --rm busybox cat"
	[ -z "$output" ]
}

@test "containers: unknown containers and flags: one line, 125" {
	for verb in stop kill wait start rm logs inspect "exec nosuch true"; do
		run hk $verb nosuch
		[ "$status" -ne 0 ]
		[[ "$output" == *"no such container"*": nosuch"* ]]
	done
	run hk ps --bogus
	[ "$status" -eq 125 ]
	[ "$output" = "husk: ps: unknown flag \`--bogus\`" ]
	run hk logs --tail x nosuch
	[ "$output" = "husk: logs: --tail \`x\`: must be a number or all" ]
}

@test "containers: attach joins a running container: its output, our stdin, its exit code" {
	hk run -d -i --name at busybox sh -c 'while read l; do echo got:$l; done; echo eof; exit 6'
	run bash -c "printf 'a\nb\n' | timeout 20 $HUSK_ENGINE attach at"
	[ "$status" -eq 6 ]
	[ "$output" = "$(printf 'got:a\ngot:b\neof')" ]
	run hk attach at
	[ "$status" -eq 125 ]
	[ "$output" = "husk: container at is not running" ]
}

@test "containers: -t through the monitor: a terminal, its size, ctrl-p ctrl-q detaches" {
	command -v script >/dev/null || skip "script(1) is not installed"
	# script gives husk a pty; stty size in the container reads the size set
	run timeout 20 script -qec "stty rows 33 cols 101; $HUSK_ENGINE run -t --name tt busybox sh -c 'sleep 0.3; stty size; tty'" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"33 101"* ]]
	[[ "$output" == *"/dev/pts/0"* ]]
	# detach keys leave it running
	hk run -d -t -i --name dk busybox sh
	run timeout 20 script -qec "$HUSK_ENGINE attach dk" /dev/null < <(sleep 0.5; printf '\020\021')
	[ "$status" -eq 0 ]
	[ "$(hk inspect dk | jq -r '.[0].State.Status')" = running ]
}

@test "containers: a foreground run whose monitor is killed says so; ps tells; rm -f cleans" {
	local rc=0 out=$BATS_TEST_TMPDIR/out
	hk_bg "$out" run --name fg busybox sleep 1000
	local bg=$!
	wait_for 20 is_state fg running
	kill -9 "$(hk inspect fg | jq -r '.[0].State.MonitorPid')"
	wait $bg || rc=$?
	[ "$rc" = 125 ]
	grep -q "its monitor went away" "$out"
	run hk ps
	[[ "$output" == *"Up "*"(its monitor was killed)"*"fg"* ]]
	run hk rm -f fg
	[ "$status" -eq 0 ]
}
