#!/usr/bin/env bats
# The engine, `husk`, as root: run --rm from the built-in busybox image,
# images, version, exit codes, signals, and nothing left behind after any of
# it. Every test file gets a private store and run root (HUSK_STORAGE_ROOT,
# HUSK_RUN_ROOT): the machine's /var/lib/husk and /run/husk-engine are never touched.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

setup_file() { engine_setup_file; }
teardown_file() { engine_teardown_file; }

setup() { skip_unless_root; }

teardown() {
	[ "$(id -u)" = 0 ] || return 0
	# a fresh store's default network is its own
	[ "$HUSK_STORAGE_ROOT" = "$BATS_FILE_TMPDIR/storage" ] || engine_net_remove
	nothing_left
}

@test "engine: run --rm busybox echo hello (busybox made on first use, offline)" {
	run hk run --rm busybox echo hello
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
}

@test "engine: a fresh store gets the built-in busybox on first run" {
	export HUSK_STORAGE_ROOT="$BATS_TEST_TMPDIR/fresh"
	run hk run --rm busybox true
	[ "$status" -eq 0 ]
	run hk images
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" =~ ^busybox\ +latest\ +[0-9a-f]{12}\  ]]
}

@test "engine: the exit code is the container's" {
	run hk run --rm busybox sh -c 'exit 3'
	[ "$status" -eq 3 ]
	run hk run --rm busybox false
	[ "$status" -eq 1 ]
}

@test "engine: -e, -w and -h reach the container" {
	run hk run --rm -e A=1 -w /tmp -h box busybox sh -c 'echo $A $(pwd) $(hostname)'
	[ "$status" -eq 0 ]
	[ "$output" = "1 /tmp box" ]
}

@test "engine: long options, -e NAME from the host, a working dir made when missing" {
	FROM_HOST=yes run hk run --rm --env B=2 -e FROM_HOST -e UNSET_HERE --workdir /new/dir \
		--hostname h2 busybox sh -c 'echo $B $FROM_HOST ${UNSET_HERE-unset} $(pwd) $(hostname)'
	[ "$status" -eq 0 ]
	[ "$output" = "2 yes unset /new/dir h2" ]
}

@test "engine: the default hostname is the id's first 12 digits, in HOSTNAME too" {
	run hk run --rm busybox sh -c 'echo $(hostname) $HOSTNAME'
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^([0-9a-f]{12})\ ([0-9a-f]{12})$ ]]
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
}

@test "engine: --name; a taken name is refused while the first runs" {
	run hk run --rm --name web busybox true
	[ "$status" -eq 0 ]
	hk_bg "$BATS_TEST_TMPDIR/out" run --rm --name web2 busybox \
		sh -c 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done'
	local pid=$!
	wait_until 400 grep -q ready "$BATS_TEST_TMPDIR/out"
	run hk run --rm --name web2 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"name \`web2\` is already in use"* ]]
	kill -TERM "$pid"
	wait "$pid" || true
	run hk run --rm --name web2 busybox true
	[ "$status" -eq 0 ]
	run hk run --rm --name 'bad/name' busybox true
	[ "$status" -eq 125 ]
}

@test "engine: images lists busybox:latest as docker does" {
	hk run --rm busybox true
	run hk images
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]]
	[[ "${lines[1]}" =~ ^busybox\ +latest\ +[0-9a-f]{12}\ +[0-9]+\ years\ ago\ +[0-9.]+[kMG]?B$ ]]
}

@test "engine: an unknown image: one-line error, 125, nothing left" {
	run hk run --rm nosuchimage true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "husk: "*nosuchimage* ]]
}

@test "engine: a command not found is 127, one that cannot be run 126" {
	run -127 hk run --rm busybox /no/such
	[ "$status" -eq 127 ]
	[ "${#lines[@]}" -eq 1 ]
	run -127 hk run --rm busybox nosuchcommand
	[ "$status" -eq 127 ]
	run hk run --rm busybox /etc/passwd
	[ "$status" -eq 126 ]
	# from the container's own shell: its code, passed through
	run -127 hk run --rm busybox sh -c /no/such
	[ "$status" -eq 127 ]
}

@test "engine: version" {
	run hk version
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^husk\ version\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "engine: unknown flags, a missing value, no image, bad policies: 125 and one line" {
	run hk run --rm --x busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: run: unknown flag \`--x\`" ]
	run hk run --rm -Z busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: run: unknown flag \`-Z\`" ]
	run hk run --rm --name
	[ "$status" -eq 125 ]
	[ "$output" = "husk: run: flag \`--name\` needs a value" ]
	run hk run --rm
	[ "$status" -eq 125 ]
	run hk run --rm --restart always busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: run: --rm and --restart cannot be used together" ]
	run hk run --restart sometimes busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == "husk: run: --restart \`sometimes\`: must be"* ]]
	run hk run --health-interval 5 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == "husk: run: --health-interval \`5\`: not a duration"* ]]
	run hk nosuchverb
	[ "$status" -eq 125 ]
}

@test "engine: the container's arguments are its own (flags after the image untouched)" {
	run hk run --rm busybox echo --rm -e x --name
	[ "$status" -eq 0 ]
	[ "$output" = "--rm -e x --name" ]
}

@test "engine: --entrypoint replaces the image's and drops its Cmd" {
	run hk run --rm --entrypoint echo busybox a b
	[ "$status" -eq 0 ]
	[ "$output" = "a b" ]
	run hk run --rm --entrypoint /bin/hostname -h ep busybox
	[ "$status" -eq 0 ]
	[ "$output" = ep ]
}

@test "engine: -u uid:gid numeric; names from the image's /etc/passwd" {
	run hk run --rm -u 1000:1000 busybox id
	[ "$status" -eq 0 ]
	[ "$output" = "uid=1000 gid=1000" ]
	run hk run --rm --user 4242 busybox id -u
	[ "$status" -eq 0 ]
	[ "$output" = 4242 ]
	run hk run --rm -u nobody busybox id
	[ "$status" -eq 0 ]
	[ "$output" = "uid=65534(nobody) gid=65534(nogroup)" ]
	run hk run --rm -u nosuchuser busybox id
	[ "$status" -eq 125 ]
	[ "$output" = "husk: user \`nosuchuser\`: no user \`nosuchuser\` in the image's /etc/passwd" ]
}

@test "engine: stdin is /dev/null without -i, attached with -i" {
	run bash -c "echo piped | '$HUSK_ENGINE' run --rm busybox cat"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run bash -c "echo piped | '$HUSK_ENGINE' run --rm -i busybox cat"
	[ "$status" -eq 0 ]
	[ "$output" = piped ]
}

@test "engine: -t gives the container a terminal" {
	command -v script >/dev/null || skip "script(1) not installed"
	run timeout 30 script -qec "'$HUSK_ENGINE' run --rm -t busybox sh -c 'tty; echo \$TERM; exit 5'" /dev/null
	[ "$status" -eq 5 ]
	[[ "$output" == *"/dev/pts/0"* ]]
	[[ "$output" == *xterm* ]]
}

@test "engine: the default privileges are the core's (podman's caps, seccomp, masked paths)" {
	run hk run --rm busybox sh -c 'grep -E "^(CapBnd|Seccomp):" /proc/self/status
		grep " /proc/sys " /proc/self/mounts; wc -c </proc/timer_list'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "CapBnd:	00000000800405fb" ] # no NET_RAW, MKNOD, AUDIT_WRITE
	[ "${lines[1]}" = "Seccomp:	2" ]
	[[ "${lines[2]}" == *" ro,"* ]]
	[ "${lines[3]}" = 0 ]
}

@test "engine: network none: an empty network namespace of its own; the default, as root: the bridge network" {
	run hk run --rm --network none busybox sh -c 'ls /sys/class/net; readlink /proc/self/ns/net'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = lo ]
	[ "${lines[1]}" != "$(readlink /proc/self/ns/net)" ]
	run hk run --rm busybox sh -c 'ls /sys/class/net; ip -4 -o addr show eth0'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = eth0 ] && [ "${lines[1]}" = lo ]
	[[ "${lines[2]}" == *"inet 10.89."* ]]
	local id
	id=$(hk create busybox true)
	[ "$(hk inspect "$id" | jq -r '.[0].HostConfig.NetworkMode')" = bridge ]
	hk rm "$id"
}

@test "engine: the rootfs is writable and the image stays as it was" {
	run hk run --rm busybox sh -c 'echo x > /bin/new; rm /bin/ls; test -e /bin/new && ! test -e /bin/ls'
	[ "$status" -eq 0 ]
	run hk run --rm busybox sh -c 'test -e /bin/ls && ! test -e /bin/new'
	[ "$status" -eq 0 ]
}

@test "engine: SIGTERM to husk run reaches the container; its exit code comes back" {
	hk_bg "$BATS_TEST_TMPDIR/out" run --rm busybox \
		sh -c 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done'
	local pid=$! rc=0
	wait_until 400 grep -q ready "$BATS_TEST_TMPDIR/out"
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 7 ]
}

@test "engine: a container killed by a signal: 128 + signal" {
	hk_bg "$BATS_TEST_TMPDIR/out" run --rm busybox sh -c 'echo ready; exec sleep 60'
	local pid=$! rc=0 init
	wait_until 400 grep -q ready "$BATS_TEST_TMPDIR/out"
	# the init's pid, from the core's state (its only container)
	init=$(cat "$HUSK_RUN_ROOT"/runtime/*/state.json | grep -o '"pid": *[0-9]*' | grep -o '[0-9]*$')
	[ -n "$init" ]
	kill -KILL "$init"
	wait "$pid" || rc=$?
	[ "$rc" -eq 137 ]
}

@test "engine: an ordinary user whose store cannot be made: one line, 125, no pause process" {
	command -v setpriv >/dev/null || skip "setpriv not installed"
	run setpriv --reuid 65534 --regid 65534 --clear-groups env -i HOME=/nonexistent \
		PATH=/usr/bin:/bin "$HUSK_ENGINE" run --rm busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: mkdir \`/nonexistent\`: Permission denied" ]
	run setpriv --reuid 65534 --regid 65534 --clear-groups env -i PATH=/usr/bin:/bin \
		"$HUSK_ENGINE" run --rm busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: rootless: HOME is not set: set HUSK_STORAGE_ROOT" ]
	[ ! -e /tmp/husk-engine-65534/pause.pid ]
}

@test "engine: failures at each step leave nothing behind (teardown checks)" {
	# the config (after the image is held)
	run hk run --rm -w relative busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"not an absolute path"* ]]
	# the core's create or start (after the overlay is mounted)
	run hk run --rm -w /etc/passwd busybox true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	# no command at all
	run hk run --rm --entrypoint '' busybox
	[ "$status" -eq 125 ]
	[[ "$output" == *"no command specified"* ]]
}
