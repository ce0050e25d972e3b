#!/usr/bin/env bats
# The container lifecycle of runtime.md (create, start, state, kill, delete)
# and the rest of the runc-compatible CLI (run, list, spec, features, global
# options), checked from the outside: state JSON, /proc, the files a container
# writes into a bind-mounted directory, cgroups and the host's mount table.
load helpers
bats_require_minimum_version 1.5.0

# Every runtime call is bounded (husk() in helpers.bash): a hung runtime
# fails the test (status 124) instead of hanging the whole run. A hang
# detector, not a speed limit: far above what a call takes on a slow or
# loaded machine, under ASan or in the emulated guest, and far below bats'
# per-test limit (HUSK_TEST_TIMEOUT, 300 s in tests/run.sh).
HUSK_TIMEOUT=${HUSK_TIMEOUT:-60}

setup() {
	skip_unless_root
	setup_bundle
	EXTRA_ROOTS=()
	EXTRA_DIRS=()
}

teardown() {
	local r
	for r in "${EXTRA_ROOTS[@]}"; do
		[ -d "$r" ] || continue
		unstick_containers "$r"
		HUSK_ROOT=$r cleanup_containers
	done
	[ "${#EXTRA_DIRS[@]}" -gt 0 ] && rm -rf "${EXTRA_DIRS[@]}"
	[ -n "${HUSK_ROOT:-}" ] && unstick_containers "$HUSK_ROOT"
	cleanup_containers
	# the many-containers test uses cgroups named $CGROUP_NAME-N
	if [ -n "${CGROUP_NAME:-}" ]; then
		find /sys/fs/cgroup -maxdepth 3 -depth -type d -name "$CGROUP_NAME-*" -exec rmdir {} \; 2>/dev/null
	fi
	kill_strays "${HUSK_ROOT:-}" "${EXTRA_ROOTS[@]}"
}

# --- create / start / state -------------------------------------------------

@test "create: the container is created and waits; its state is complete" {
	setup_out
	update_config '.annotations = {"org.example.key": "value", "x": "y"}'
	set_args sh -c 'touch /out/ran'

	hcreate -b "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" c1
	[ ! -s "$BATS_TEST_TMPDIR/create-c1.out" ]

	run husk state c1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .ociVersion <<<"$output")" = "$(jq -r .ociVersion "$BUNDLE/config.json")" ]
	[ "$(jq -r .id <<<"$output")" = c1 ]
	[ "$(jq -r .status <<<"$output")" = created ]
	[ "$(jq -r .bundle <<<"$output")" = "$(realpath "$BUNDLE")" ]
	[ "$(jq -c .annotations <<<"$output")" = '{"org.example.key":"value","x":"y"}' ]
	pid=$(jq -r .pid <<<"$output")
	[ "$pid" -gt 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/pid")" = "$pid" ]

	# waiting, not yet the user's program, which has not run
	pid_alive "$pid"
	[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" != "sh -c touch /out/ran " ]
	[ "$(readlink "/proc/$pid/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]
	sleep 0.3
	[ ! -e "$OUT/ran" ]
}

@test "start: releases the process: running, then stopped after it exits" {
	setup_out
	set_args sh -c 'echo $$ > /out/started; while [ ! -e /out/stop ]; do sleep 0.05; done; echo bye > /out/done'
	hcreate -b "$BUNDLE" c1
	pid=$(state_of c1 pid)

	run husk start c1
	[ "$status" -eq 0 ]
	wait_file "$OUT/started"
	# pid 1 of its own pid namespace, and now the user's program
	[ "$(cat "$OUT/started")" = 1 ]
	[[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == "sh -c "* ]]
	[ "$(state_of c1 status)" = running ]
	[ "$(state_of c1 pid)" = "$pid" ]

	touch "$OUT/stop"
	wait_status c1 stopped
	[ "$(cat "$OUT/done")" = bye ]
	run husk state c1
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = stopped ]
	[ "$(jq -r .id <<<"$output")" = c1 ]
}

@test "start: a second start fails and leaves the container alone" {
	setup_out
	set_args sh -c 'echo x >> /out/runs; while [ ! -e /out/stop ]; do sleep 0.05; done'
	hcreate -b "$BUNDLE" c1
	husk start c1
	wait_file "$OUT/runs"

	run husk start c1
	echo "$output"
	assert_failed
	[[ "$output" == *c1*running* ]]
	[ "$(state_of c1 status)" = running ]
	[ "$(wc -l <"$OUT/runs")" -eq 1 ]

	touch "$OUT/stop"
	wait_status c1 stopped
	run husk start c1
	assert_failed
	[[ "$output" == *stopped* ]]
	[ "$(wc -l <"$OUT/runs")" -eq 1 ]
}

@test "start: of a container that does not exist fails" {
	run husk start nope
	assert_failed
	[[ "$output" == *"nope"*"does not exist"* ]]
}

@test "--pid-file: create and run --detach write the container's pid" {
	set_args sleep 100
	hcreate -b "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/c1.pid" c1
	hrun_detached -b "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/c2.pid" c2
	# no trailing garbage; exactly the pid of the state
	grep -qxE '[0-9]+' "$BATS_TEST_TMPDIR/c1.pid"
	[ "$(cat "$BATS_TEST_TMPDIR/c2.pid")" = "$(state_of c2 pid)" ]
	[ "$(cat "$BATS_TEST_TMPDIR/c1.pid")" = "$(state_of c1 pid)" ]
	# a relative path is relative to the caller's working directory
	mkdir -p "$BATS_TEST_TMPDIR/wd"
	cd "$BATS_TEST_TMPDIR/wd"
	hcreate -b "$BUNDLE" --pid-file rel.pid c3
	[ "$(cat "$BATS_TEST_TMPDIR/wd/rel.pid")" = "$(state_of c3 pid)" ]
}

# --- list -------------------------------------------------------------------

@test "list: table, --format json and -q" {
	run husk list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER ]]
	run husk list --format json
	[ "$status" -eq 0 ]
	[ "$(jq -c . <<<"$output")" = "[]" ]

	set_args sleep 100
	hrun_detached -b "$BUNDLE" bravo
	hcreate -b "$BUNDLE" alpha
	pa=$(state_of alpha pid)
	pb=$(state_of bravo pid)

	run husk list
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" =~ ^alpha\ +$pa\ +created\ +$(realpath "$BUNDLE")\ +[0-9]{4}-[0-9]{2}-[0-9]{2}T ]]
	[[ "${lines[2]}" =~ ^bravo\ +$pb\ +running\ +$(realpath "$BUNDLE")\  ]]

	run husk list --format json
	[ "$status" -eq 0 ]
	[ "$(jq -r 'length' <<<"$output")" -eq 2 ]
	[ "$(jq -r '.[] | select(.id == "alpha") | .status' <<<"$output")" = created ]
	[ "$(jq -r '.[] | select(.id == "bravo") | .status' <<<"$output")" = running ]
	[ "$(jq -r '.[] | select(.id == "bravo") | .pid' <<<"$output")" = "$pb" ]
	[ "$(jq -r '.[] | select(.id == "alpha") | .bundle' <<<"$output")" = "$(realpath "$BUNDLE")" ]

	run husk list -q
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'alpha\nbravo')" ]

	run husk list --format yaml
	assert_failed
	[[ "$output" == *yaml* ]]
}

# --- kill -------------------------------------------------------------------

# A container whose init traps TERM and USR1 and logs them to /out/log.
trapping_container() {
	setup_out
	set_args sh -c 'trap "echo TERM >> /out/log" TERM; trap "echo USR1 >> /out/log" USR1; touch /out/ready; while [ ! -e /out/stop ]; do sleep 0.05; done'
	hcreate -b "$BUNDLE" "$1"
	husk start "$1"
	wait_file "$OUT/ready"
}

# expect_log LINE...: /out/log is exactly these lines (waits for them).
expect_log() {
	local want i
	want=$(printf '%s\n' "$@")
	for ((i = 0; i < 100; i++)); do
		[ "$(cat "$OUT/log" 2>/dev/null)" = "$want" ] && return 0
		sleep 0.05
	done
	echo "log: expected [$want], got [$(cat "$OUT/log" 2>/dev/null)]"
	return 1
}

@test "kill: signals by name, SIG name, number; default TERM" {
	trapping_container k1
	husk kill k1 TERM
	expect_log TERM
	husk kill k1 SIGTERM
	expect_log TERM TERM
	husk kill k1 USR1
	expect_log TERM TERM USR1
	husk kill k1 10 # SIGUSR1 on x86 and arm
	expect_log TERM TERM USR1 USR1
	husk kill k1
	expect_log TERM TERM USR1 USR1 TERM
	[ "$(state_of k1 status)" = running ]

	husk kill k1 KILL
	wait_status k1 stopped
}

@test "kill: 9 stops the container" {
	trapping_container k1
	pid=$(state_of k1 pid)
	husk kill k1 9
	wait_status k1 stopped
	pid_gone "$pid"
	[ ! -e "$OUT/log" ]
}

@test "kill --all: signals every process of the container" {
	setup_out
	# The init traps TERM and survives it; its two sleeps do not trap it.
	set_args sh -c 'trap "echo TERM >> /out/log" TERM; sleep 1000 & sleep 1000 & touch /out/ready; while [ ! -e /out/stop ]; do sleep 0.05; done'
	hcreate -b "$BUNDLE" k1
	husk start k1
	wait_file "$OUT/ready"
	pid=$(state_of k1 pid)
	procs=$(cgroup_dirs | head -1)/cgroup.procs
	[ -f "$procs" ]
	long_sleeps() { # the "sleep 1000" processes of the container's cgroup
		local p
		for p in $(cat "$procs"); do
			[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")" = "sleep 1000 " ] && echo "$p"
		done
		return 0
	}
	# both forked before /out/ready, but a child shows "sleep 1000" only
	# once it has exec'd, which on a loaded machine may come later
	wait_until 200 eval '[ "$(long_sleeps | wc -l)" -eq 2 ]' ||
		{ echo "long sleeps: $(long_sleeps | xargs), cgroup: $(cat "$procs" | xargs)"; false; }

	husk kill --all k1 TERM
	expect_log TERM
	for ((i = 0; i < 100; i++)); do
		[ "$(long_sleeps | wc -l)" -eq 0 ] && break
		sleep 0.05
	done
	[ "$(long_sleeps | wc -l)" -eq 0 ]
	[ "$(state_of k1 status)" = running ]
	husk kill --all k1 KILL
	wait_status k1 stopped
}

@test "kill: a stopped container cannot be signalled" {
	set_args true
	hcreate -b "$BUNDLE" k1
	husk start k1
	wait_status k1 stopped
	run husk kill k1 KILL
	echo "$output"
	assert_failed
	[ "${#lines[@]}" -eq 1 ]
	# runc's words: containerd's shim takes only "container not running"
	# (or "no such process") as "already gone"; any other text fails a
	# Kubernetes pod stop, which is then retried for ever
	[[ "$output" == *"k1"*"container not running"* ]]
	[ "$(state_of k1 status)" = stopped ]
	# --all of a stopped container whose cgroup is empty: nothing to do
	husk kill --all k1 KILL
	husk kill --all k1 TERM
}

@test "kill --all: a stopped container's processes left in its cgroup are signalled (host PID namespace)" {
	# Without a PID namespace the init's children outlive it, in its cgroup:
	# containerd's shim sends kill --all to such a stopped container.
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	setup_out
	set_args sh -c 'sleep 1001 & echo $! > /out/child; exit 0'
	hcreate -b "$BUNDLE" k3
	husk start k3
	wait_status k3 stopped
	wait_nonempty "$OUT/child"
	procs=$(cgroup_dirs | head -1)/cgroup.procs
	sleep_1001() { # the "sleep 1001" process of the container's cgroup
		local p
		for p in $(cat "$procs"); do
			[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")" = "sleep 1001 " ] && echo "$p"
		done
		return 0
	}
	# the child shows "sleep 1001" once it has exec'd, maybe after its
	# parent wrote its pid and exited
	wait_until 200 eval '[ -n "$(sleep_1001)" ]' || { echo "cgroup: $(cat "$procs" | xargs)"; false; }
	child=$(sleep_1001)
	[ "$child" = "$(cat "$OUT/child")" ]
	run husk kill k3 KILL
	assert_failed
	[[ "$output" == *"container not running"* ]]
	pid_alive "$child"
	husk kill --all k3 KILL
	wait_until 100 pid_gone "$child"
	[ "$(state_of k3 status)" = stopped ]
	husk delete k3
	assert_gone k3
}

@test "--config FILE: a relative root.path resolves against the bundle, not the caller's directory" {
	local cfgdir=$BATS_TEST_TMPDIR/elsewhere
	mkdir -p "$cfgdir/rootfs"
	EXTRA_DIRS+=("$cfgdir")
	update_config '.root.path = "rootfs"'
	set_args cat /etc/passwd
	mv "$BUNDLE/config.json" "$cfgdir/config.json"
	# from a directory that has an empty rootfs/ of its own
	cd "$cfgdir"
	run husk run -b "$BUNDLE" --config "$cfgdir/config.json" cfg1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == root:x:0:0:* ]]
	hcreate -b "$BUNDLE" --config config.json cfg2
	[ "$(state_of cfg2 bundle)" = "$(realpath "$BUNDLE")" ]
	husk delete -f cfg2
	# an error names the file it came from
	echo '{' >"$cfgdir/bad.json"
	run husk run -b "$BUNDLE" --config "$cfgdir/bad.json" cfg3
	assert_failed
	[[ "$output" == *"bad.json"* ]]
	cd - >/dev/null
}

@test "kill: a created container can be signalled; the program never runs" {
	setup_out
	set_args sh -c 'touch /out/ran'
	hcreate -b "$BUNDLE" k1
	pid=$(state_of k1 pid)
	husk kill k1 KILL
	wait_status k1 stopped
	pid_gone "$pid"
	[ ! -e "$OUT/ran" ]
	husk delete k1
	assert_gone k1
}

# --- delete -----------------------------------------------------------------

@test "delete: refuses a running container without --force, works with it" {
	set_args sleep 100
	hcreate -b "$BUNDLE" d1
	husk start d1
	pid=$(state_of d1 pid)

	run husk delete d1
	echo "$output"
	assert_failed
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *d1*running*--force* ]]
	[ "$(state_of d1 status)" = running ]
	pid_alive "$pid"
	[ -n "$(cgroup_dirs)" ]

	run husk delete --force d1
	[ "$status" -eq 0 ]
	pid_gone "$pid"
	assert_gone d1
	run husk state d1
	assert_failed
	[[ "$output" == *"does not exist"* ]]
}

@test "delete: of a stopped container removes state, cgroup and mounts" {
	setup_out
	set_args sh -c 'while [ ! -e /out/stop ]; do sleep 0.05; done'
	hcreate -b "$BUNDLE" d1
	[ -d "$HUSK_ROOT/d1" ]
	[ -n "$(cgroup_dirs)" ]
	husk start d1
	# the container runs in its cgroup
	grep -q "/$CGROUP_NAME\$" "/proc/$(state_of d1 pid)/cgroup"
	touch "$OUT/stop"
	wait_status d1 stopped

	run husk delete d1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	assert_gone d1
	[ -z "$(state_entries)" ]
	run husk list -q
	[ -z "$output" ]
}

@test "delete: of a created, never started container kills it" {
	setup_out
	set_args sh -c 'touch /out/ran'
	hcreate -b "$BUNDLE" d1
	pid=$(state_of d1 pid)
	run husk delete d1
	[ "$status" -eq 0 ]
	pid_gone "$pid"
	assert_gone d1
	[ ! -e "$OUT/ran" ]
}

@test "delete: a container that does not exist: fails, but --force succeeds" {
	run husk delete nope
	assert_failed
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"nope"*"does not exist"* ]]

	# runc: delete --force of a missing container is not an error
	run husk delete --force nope
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(state_entries)" ]
}

# --- run --------------------------------------------------------------------

@test "run: returns the container's exit code" {
	run_ctr r0 true
	[ "$status" -eq 0 ]
	run_ctr r7 sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run_ctr r3 sh -c 'echo out; echo err >&2; exit 3'
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = out ]
	[ "${lines[1]}" = err ]
	[ -z "$(state_entries)" ]
	[ -z "$(cgroup_dirs)" ]
}

@test "run: 128+9 when the container is killed by husk kill KILL" {
	setup_out
	set_args sh -c 'touch /out/ready; sleep 100'
	husk run -b "$BUNDLE" r1 </dev/null >"$BATS_TEST_TMPDIR/run.out" 2>&1 3>&- &
	runner=$!
	wait_file "$OUT/ready"
	[ "$(state_of r1 status)" = running ]
	husk kill r1 KILL
	rc=0
	wait "$runner" || rc=$?
	cat "$BATS_TEST_TMPDIR/run.out"
	[ "$rc" -eq 137 ]
	assert_gone r1
}

@test "run: signals sent to the runtime reach the container" {
	setup_out
	set_args sh -c 'trap "echo TERM > /out/sig; exit 42" TERM; trap "echo INT > /out/sig; exit 43" INT; touch /out/ready; while :; do sleep 0.05; done'
	for sig in TERM INT; do
		rm -f "$OUT/ready" "$OUT/sig"
		husk run -b "$BUNDLE" "s$sig" </dev/null >"$BATS_TEST_TMPDIR/run.out" 2>&1 3>&- &
		waiter=$!
		wait_file "$OUT/ready"
		# $waiter is timeout(1); the runtime is its child
		runtime_pid=$(pgrep -P "$waiter" -f husk-runtime)
		[ -n "$runtime_pid" ]
		kill -s "$sig" "$runtime_pid"
		rc=0
		wait "$waiter" || rc=$?
		cat "$BATS_TEST_TMPDIR/run.out"
		[ "$(cat "$OUT/sig")" = "$sig" ]
		[ "$rc" -eq $([ "$sig" = TERM ] && echo 42 || echo 43) ]
		assert_gone "s$sig"
	done
}

@test "run --detach: returns at once, the container running" {
	setup_out
	set_args sh -c 'touch /out/ready; while [ ! -e /out/stop ]; do sleep 0.05; done'
	# the container runs until told to stop: a run -d that waited for it
	# would hit HUSK_TIMEOUT (status 124); the bound below is far from any
	# real start, however slow the machine, and names that failure
	start=$(date +%s%N)
	hrun_detached -b "$BUNDLE" r1
	elapsed=$((($(date +%s%N) - start) / 1000000))
	echo "run --detach returned after ${elapsed} ms"
	[ ! -s "$BATS_TEST_TMPDIR/run-r1.out" ]
	[ "$elapsed" -lt 30000 ]
	wait_file "$OUT/ready"
	[ "$(state_of r1 status)" = running ]
	touch "$OUT/stop"
	wait_status r1 stopped
	husk delete r1
	assert_gone r1
}

# --- many and concurrent --------------------------------------------------------

@test "20 containers created at once: all created, started, stopped, deleted" {
	local n=20 i ids=()
	mkdir -p "$BATS_TEST_TMPDIR/go"
	update_config '.mounts += [{"destination": "/go", "type": "none", "source": "'"$BATS_TEST_TMPDIR/go"'", "options": ["rbind"]}]'
	set_args sh -c 'while [ ! -e /go/now ]; do sleep 0.05; done'
	for ((i = 0; i < n; i++)); do
		mkdir -p "$BATS_TEST_TMPDIR/b$i"
		jq ".root.path = \"$BUNDLE/rootfs\" | .linux.cgroupsPath = \"/$CGROUP_NAME-$i\"" \
			"$BUNDLE/config.json" >"$BATS_TEST_TMPDIR/b$i/config.json"
		ids+=("m$i")
	done
	for ((i = 0; i < n; i++)); do
		hcreate -b "$BATS_TEST_TMPDIR/b$i" "m$i" >"$BATS_TEST_TMPDIR/create$i.log" 2>&1 3>&- &
	done
	fails=0
	for ((i = 0; i < n; i++)); do wait -n || fails=$((fails + 1)); done
	cat "$BATS_TEST_TMPDIR"/create*.log
	[ "$fails" -eq 0 ]

	run husk list --format json
	[ "$(jq '[.[] | select(.status == "created")] | length' <<<"$output")" -eq $n ]
	pids=$(jq -r '.[].pid' <<<"$output" | sort -u | wc -l)
	[ "$pids" -eq $n ]

	for i in "${ids[@]}"; do husk start "$i" 3>&- & done
	fails=0
	for ((i = 0; i < n; i++)); do wait -n || fails=$((fails + 1)); done
	[ "$fails" -eq 0 ]
	run husk list --format json
	[ "$(jq '[.[] | select(.status == "running")] | length' <<<"$output")" -eq $n ]

	touch "$BATS_TEST_TMPDIR/go/now"
	# (20 inits leaving at once on 2 CPUs: room for a slow machine)
	for i in "${ids[@]}"; do wait_status "$i" stopped 600; done

	for i in "${ids[@]}"; do husk delete "$i" 3>&- & done
	fails=0
	for ((i = 0; i < n; i++)); do wait -n || fails=$((fails + 1)); done
	[ "$fails" -eq 0 ]
	[ -z "$(state_entries)" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -type d -name "$CGROUP_NAME-*")" ]
	if grep -F "$BUNDLE" /proc/self/mountinfo; then
		echo "mounts of the bundle left on the host"
		return 1
	fi
}

@test "concurrent start and delete of one container leave a consistent state" {
	local round
	setup_out
	set_args sh -c 'while [ ! -e /out/stop ]; do sleep 0.05; done'
	for round in 1 2 3 4 5; do
		hcreate -b "$BUNDLE" cc
		pid=$(state_of cc pid)
		rs=0 rd=0
		husk start cc >"$BATS_TEST_TMPDIR/start.log" 2>&1 3>&- &
		sp=$!
		husk delete cc >"$BATS_TEST_TMPDIR/delete.log" 2>&1 3>&- &
		dp=$!
		wait "$sp" || rs=$?
		wait "$dp" || rd=$?
		echo "round $round: start=$rs delete=$rd"
		cat "$BATS_TEST_TMPDIR/start.log" "$BATS_TEST_TMPDIR/delete.log"
		[ "$rs" -ne 124 ]
		[ "$rd" -ne 124 ]
		if [ "$rd" -eq 0 ]; then
			# deleted (before or after a start): gone for good
			assert_gone cc
			for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.05; done
			pid_gone "$pid"
			[ "$rs" -eq 0 ] || grep -q 'does not exist' "$BATS_TEST_TMPDIR/start.log"
		else
			# started first: the delete refused a running container
			[ "$rs" -eq 0 ]
			grep -q running "$BATS_TEST_TMPDIR/delete.log"
			[ "$(state_of cc status)" = running ]
			husk delete -f cc
			assert_gone cc
		fi
	done
}

# --- ids and roots ------------------------------------------------------------

@test "create: invalid ids are rejected with a clear error" {
	for id in '' '../x' 'a/b' '..' '.hidden' 'a b' "$(printf 'x%.0s' {1..1100})"; do
		run hcreate -b "$BUNDLE" "$id"
		echo "id [${id:0:40}]: $output"
		assert_failed
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"container id"* ]]
	done
	[ -z "$(state_entries)" ]
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
	[ -z "$(cgroup_dirs)" ]
}

@test "create: a duplicate id is rejected; the first container is unaffected" {
	setup_out
	set_args sh -c 'touch /out/ran'
	hcreate -b "$BUNDLE" dup
	pid=$(state_of dup pid)
	before=$(cat "$HUSK_ROOT/dup/state.json")

	run hcreate -b "$BUNDLE" dup
	echo "$output"
	assert_failed
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *dup*"already exists"* ]]

	[ "$(cat "$HUSK_ROOT/dup/state.json")" = "$before" ]
	[ "$(state_of dup status)" = created ]
	[ "$(state_of dup pid)" = "$pid" ]
	[ -n "$(cgroup_dirs)" ]
	husk start dup
	wait_file "$OUT/ran"
	wait_status dup stopped
}

@test "--root: state lives under the given directory only" {
	other=$BATS_TEST_TMPDIR/other-root
	EXTRA_ROOTS+=("$other")
	set_args sleep 100
	HUSK_ROOT=$other hrun_detached -b "$BUNDLE" rooted
	[ -f "$other/rooted/state.json" ]
	[ -z "$(state_entries)" ]
	[ ! -e /run/husk/rooted ]
	run timeout 10 "$HUSK_RUNTIME" --root "$other" list -q
	[ "$output" = rooted ]
	run husk list -q
	[ -z "$output" ]
	run husk state rooted
	assert_failed
	run timeout 10 "$HUSK_RUNTIME" --root "$other" delete -f rooted
	[ "$status" -eq 0 ]
	[ ! -e "$other/rooted" ]
}

# --- global options, spec, features, version ------------------------------------

@test "--log FILE --log-format json: a failing command logs one JSON line" {
	log=$BATS_TEST_TMPDIR/log.json
	run husk --log "$log" --log-format json state nope
	assert_failed
	[[ "$output" == *"nope"*"does not exist"* ]]
	[ "$(wc -l <"$log")" -eq 1 ]
	jq -e . "$log" >/dev/null
	[ "$(jq -r .level "$log")" = error ]
	[[ "$(jq -r .msg "$log")" == *"nope"*"does not exist"* ]]
	# RFC 3339 time
	[[ "$(jq -r .time "$log")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$ ]]
	date -d "$(jq -r .time "$log")" >/dev/null

	# appended, not truncated
	run husk --log "$log" --log-format json delete nope2
	[ "$(wc -l <"$log")" -eq 2 ]
	[[ "$(jq -r -s '.[1].msg' "$log")" == *nope2* ]]

	# a successful command logs no error
	run husk --log "$log" --log-format json list
	[ "$status" -eq 0 ]
	[ "$(wc -l <"$log")" -eq 2 ]

	run husk --log-format xml list
	assert_failed
	[[ "$output" == *xml* ]]
}

@test "features: valid JSON with the version range and all 8 namespaces" {
	run husk features
	[ "$status" -eq 0 ]
	jq -e . <<<"$output" >/dev/null
	[[ "$(jq -r .ociVersionMin <<<"$output")" =~ ^1\.[0-9]+\.[0-9]+$ ]]
	[[ "$(jq -r .ociVersionMax <<<"$output")" =~ ^1\.[0-9]+\.[0-9]+$ ]]
	[ "$(jq -r '.linux.namespaces | sort | join(",")' <<<"$output")" = \
		"cgroup,ipc,mount,network,pid,time,user,uts" ]
	[ "$(jq -r '.hooks | sort | join(",")' <<<"$output")" = \
		"createContainer,createRuntime,poststart,poststop,prestart,startContainer" ]
	# what spec writes is within the range
	[ "$(printf '%s\n' "$(jq -r .ociVersionMin <<<"$output")" "$(jq -r .ociVersion "$BUNDLE/config.json")" |
		sort -V | head -1)" = "$(jq -r .ociVersionMin <<<"$output")" ]
}

@test "spec: writes a config.json that runs, and refuses to overwrite one" {
	d=$BATS_TEST_TMPDIR/spec
	mkdir -p "$d"
	run husk spec --bundle "$d"
	[ "$status" -eq 0 ]
	jq -e '.ociVersion and .process.args and .root.path == "rootfs"' "$d/config.json"
	[ "$(jq -r '.linux.namespaces | map(.type) | sort | join(",")' "$d/config.json")" = \
		"cgroup,ipc,mount,network,pid,uts" ]

	echo '{"mine": true}' >"$d/config.json"
	run husk spec --bundle "$d"
	assert_failed
	[[ "$output" == *config.json*"already exists"* ]]
	[ "$(cat "$d/config.json")" = '{"mine": true}' ]

	# in the current directory by default
	mkdir -p "$BATS_TEST_TMPDIR/cwd"
	cd "$BATS_TEST_TMPDIR/cwd"
	husk spec
	jq -e .ociVersion config.json
}

@test "spec --rootless: a user namespace mapped to the current user, no network namespace" {
	check() { # FILE UID GID
		[ "$(jq -r '.linux.namespaces | map(.type) | index("user") != null' "$1")" = true ]
		[ "$(jq -r '.linux.namespaces | map(.type) | index("network") != null' "$1")" = false ]
		[ "$(jq -c .linux.uidMappings "$1")" = "[{\"containerID\":0,\"hostID\":$2,\"size\":1}]" ]
		[ "$(jq -c .linux.gidMappings "$1")" = "[{\"containerID\":0,\"hostID\":$3,\"size\":1}]" ]
	}
	d=$BATS_TEST_TMPDIR/rl
	mkdir -p "$d"
	husk spec --rootless --bundle "$d"
	check "$d/config.json" 0 0

	command -v setpriv >/dev/null || skip "setpriv is missing: cannot run as another user"
	# bats' temporary directories are private to root
	d=$(mktemp -d /tmp/husk-rootless-spec.XXXXXX)
	EXTRA_DIRS+=("$d")
	mkdir -p "$d/u"
	chown 12345:23456 "$d/u"
	chmod 755 "$d"
	# a copy the user can reach: the checkout may be under a private dir
	cp "$HUSK_RUNTIME" "$d/husk-runtime"
	chmod 755 "$d/husk-runtime"
	run setpriv --reuid 12345 --regid 23456 --clear-groups \
		"$d/husk-runtime" --root "$d/u/state" spec --rootless --bundle "$d/u"
	echo "$output"
	[ "$status" -eq 0 ]
	check "$d/u/config.json" 12345 23456
}

@test "--version and --help" {
	run "$HUSK_RUNTIME" --version
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^husk-runtime\ version\ [0-9]+\.[0-9]+\.[0-9]+ ]]
	[[ "$output" =~ spec:\ 1\.[0-9]+\.[0-9]+ ]]
	spec_version=$(sed -n 's/^spec: //p' <<<"$output")
	[ "$(husk features | jq -r .ociVersionMax)" = "$spec_version" ]

	run "$HUSK_RUNTIME" --help
	[ "$status" -eq 0 ]
	for verb in create run start state list kill delete spec features; do
		grep -qE "^  $verb( |$)" <<<"$output"
	done
}
