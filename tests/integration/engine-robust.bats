#!/usr/bin/env bats
# A husk killed at any point: `ps -a` tells the truth about what it left
# (running, exited or absent), the next command heals the record, `rm -f`
# and `system prune -f` clean up, and `system check` finds nothing after.
# husk and its monitor are SIGKILLed together in the middle of run, stop
# and rm at increasing delays, and every outcome is checked, whichever step
# the kill hit. Then: monitors killed while the container runs and after it
# exited, 50 containers started at once, and the system verbs (check,
# prune, df, info) with bad input. Private store and run root per file.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

setup_file() { engine_setup_file; }
teardown_file() { engine_teardown_file; }

setup() {
	skip_unless_root
	GROUP=/sys/fs/cgroup/freezer/husk-robust-$$
}

# Everything is removed (prune takes what killed commands left half-made),
# then nothing of this file's containers may be left, system check agrees,
# and the kill group goes.
teardown() {
	[ "$(id -u)" = 0 ] || return 0
	local ids p
	# a test that failed half-way may have left the group frozen
	if [ -d "$GROUP" ]; then
		echo THAWED >"$GROUP/freezer.state"
		for p in $(group_procs); do kill -KILL "$p" 2>/dev/null || true; done
		wait_until 200 group_empty || true
	fi
	note_ids
	ids=$("$HUSK_ENGINE" ps -aq --no-trunc 2>/dev/null || true)
	[ -z "$ids" ] || timeout 60 "$HUSK_ENGINE" rm -f $ids >/dev/null 2>&1 || true
	timeout 60 "$HUSK_ENGINE" system prune -f >/dev/null 2>&1 || true
	nothing_left
	[ ! -d "$GROUP" ] || rmdir "$GROUP"
}

# Notes the ids of this file's containers that there are now, under any
# of their names (nothing_left looks for their cgroups).
note_ids() {
	ls -A "$HUSK_STORAGE_ROOT/containers" "$HUSK_RUN_ROOT/runtime" 2>/dev/null |
		grep -oE '[0-9a-f]{64}' >>"$BATS_FILE_TMPDIR/ids" || true
}

# What husk and its monitor are killed as: a freezer cgroup (v1) of the
# test's own, frozen before the kill so that nothing forks out of reach.
# The containers' cgroups are made below it (husk makes them below its
# own): only the processes of the group itself die, never a container's.
need_group() {
	[ -e /sys/fs/cgroup/freezer/cgroup.procs ] ||
		skip "no cgroup v1 freezer to kill husk and its monitor together"
	mkdir -p "$GROUP"
}

dead() { ! pid_alive "$1"; }
group_procs() { cat "$GROUP/cgroup.procs"; }
group_empty() { [ -z "$(group_procs)" ]; }

# in_group ARGS...: husk ARGS started in the group, in the background
# ($GROUP_HUSK: its pid).
# No fd of bats goes with it: a monitor holding one would keep bats
# waiting for ever.
in_group() {
	bash -c 'echo $$ >"$1/cgroup.procs" || exit 1
		for fd in /proc/$$/fd/*; do
			fd=${fd##*/}
			[ "$fd" -le 2 ] || eval "exec $fd>&-"
		done
		shift
		exec "$@"' sh "$GROUP" "$HUSK_ENGINE" "$@" </dev/null >/dev/null 2>&1 &
	GROUP_HUSK=$!
}

# The v1 freezer can stay FREEZING on a task caught in fork(): thawed and
# tried again a little later (the fork then completes).
freeze_group() {
	local try
	for try in 1 2 3 4 5 6 7 8 9 10; do
		echo FROZEN >"$GROUP/freezer.state"
		wait_until 20 grep -qx FROZEN "$GROUP/freezer.state" && return 0
		echo THAWED >"$GROUP/freezer.state"
		sleep 0.01
	done
	echo "the group never froze"
	return 1
}

# kill_group: every process of the (frozen) group SIGKILLed (husk, its
# monitor, a container init not in its own cgroup yet), thawed, reaped.
# With SPARE_HUSK set, husk itself is spared: it must then end on its own.
kill_group() {
	local p
	for p in $(group_procs); do
		[ -n "${SPARE_HUSK:-}" ] && [ "$p" = "$GROUP_HUSK" ] && continue
		kill -KILL "$p" 2>/dev/null || true
	done
	echo THAWED >"$GROUP/freezer.state"
	wait_until 200 dead "$GROUP_HUSK" || {
		echo "husk still runs: $(tr '\0' ' ' <"/proc/$GROUP_HUSK/cmdline")"
		kill -KILL "$GROUP_HUSK"
		return 1
	}
	wait "$GROUP_HUSK" 2>/dev/null || true
	[ -n "${SPARE_HUSK:-}" ] || wait_until 200 group_empty
	note_ids
}

# killed_after MS ARGS...: husk ARGS in the group, killed MS ms later.
killed_after() {
	local ms=$1
	shift
	in_group "$@"
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	freeze_group
	kill_group
}

# running_ids: the containers whose command (sleep) runs: a live process
# of that name in their cgroup (an init waiting for its start is not one).
running_ids() {
	local root=/sys/fs/cgroup/pids d p
	[ -d "$root" ] || root=/sys/fs/cgroup
	for d in $(find "$root" -maxdepth 4 -type d -name 'husk-*' 2>/dev/null); do
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do
			if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && pid_alive "$p"; then
				echo "${d##*/husk-}"
				break
			fi
		done
	done
}

# ps_tells_truth [MONITORS_KILLED]: every container ps -a lists is running
# exactly when its command runs (and then, with MONITORS_KILLED, says its
# monitor was killed); none of this file's containers runs unlisted.
ps_tells_truth() {
	local out running id state status
	out=$(hk ps -a --no-trunc --format json) || { echo "ps failed: $out"; return 1; }
	running=$(running_ids)
	while IFS=$'\t' read -r id state status; do
		[ -n "$id" ] || continue
		if grep -qx "$id" <<<"$running"; then
			[ "$state" = running ] || { echo "${id:0:12}: $state ($status), but its command runs"; return 1; }
			[ -z "${1:-}" ] || [[ "$status" == "Up "*"(its monitor was killed)" ]] ||
				{ echo "${id:0:12}: \`$status\` with its monitor killed"; return 1; }
		elif [ "$state" = running ] || [ "$state" = restarting ]; then
			echo "${id:0:12}: $state ($status), but its command does not run"
			return 1
		fi
	done < <(jq -r '[.ID, .State, .Status] | @tsv' <<<"$out")
	for id in $running; do
		if [[ "$out" != *"$id"* ]] && grep -qx "$id" "$BATS_FILE_TMPDIR/ids"; then
			echo "${id:0:12} runs its command, but ps -a does not list it"
			return 1
		fi
	done
}

# settled_truth: as ps_tells_truth, once a live monitor had the time to
# record an exit under way (its container's end is no husk's killing).
settled_truth() {
	wait_until 40 ps_tells_truth >/dev/null || ps_tells_truth
}

# check_clean: system check finds nothing, and says nothing.
check_clean() {
	run hk system check
	[ "$status" -eq 0 ] || { echo "system check ($status): $output"; return 1; }
	[ -z "$output" ]
}

@test "robust: husk run -d and its monitor killed at every step: ps tells the truth; rm -f and system prune clean up" {
	need_group
	local ms n=0 ids
	for ms in 0 2 4 6 8 10 12 14 16 18 20 23 26 30 35 40 50 70; do
		n=$((n + 1))
		if [ $((n % 3)) -ne 0 ]; then
			killed_after "$ms" run -d busybox sleep 100
			ps_tells_truth monitors-killed
		else
			# the monitor (or what was to become it) alone
			SPARE_HUSK=1 killed_after "$ms" run -d busybox sleep 100
			settled_truth
		fi
		[ $((n % 6)) -eq 0 ] || continue
		if [ $((n % 12)) -eq 6 ]; then
			# rm -f takes every container ps lists; prune what no
			# command could name (dirs half made, their names, holds)
			ids=$(hk ps -aq)
			[ -z "$ids" ] || hk rm -f $ids
			[ -z "$(hk ps -aq)" ]
		else
			# unmonitored containers stop; prune takes all the rest
			ids=$(hk ps -q)
			[ -z "$ids" ] || hk stop -t 0 $ids
			[ -z "$(hk ps -q)" ]
		fi
		run hk system prune -f
		[ "$status" -eq 0 ]
		[[ "$output" == *"Total reclaimed space: "* ]]
		[ -z "$(hk ps -aq)" ]
		nothing_left
		check_clean
	done
}

@test "robust: the monitor-to-be killed while the core makes the container: created again, with why; it starts" {
	need_group
	local spare end id tick
	# a FIFO nobody writes: read -t on it sleeps 2 ms with no fork
	mkfifo "$BATS_TEST_TMPDIR/tick"
	exec {tick}<>"$BATS_TEST_TMPDIR/tick"
	for spare in "" 1; do
		in_group run -d busybox sleep 100
		# the core's state has its cgroup: the init is being set up
		# (polled with builtins only: the window is short)
		end=$((${EPOCHREALTIME/./} + 5000000))
		until compgen -G "$HUSK_RUN_ROOT/runtime/*/cgroup.json" >/dev/null ||
			[ "${EPOCHREALTIME/./}" -gt "$end" ]; do
			read -r -t 0.002 -u "$tick" || true
		done
		freeze_group
		compgen -G "$HUSK_RUN_ROOT/runtime/*/cgroup.json" >/dev/null
		# with husk spared, it learns its monitor died, and undoes
		SPARE_HUSK=$spare kill_group
		run hk ps -a --format json
		[ "$(jq -r .State <<<"$output")" = created ]
		[ -z "$(ls "$HUSK_RUN_ROOT/runtime" | grep -v '^\.')" ]
		id=$(jq -r .ID <<<"$output")
		run hk inspect "$id"
		if [ -n "$spare" ]; then
			[ "$(jq -r '.[0].State.Error' <<<"$output")" = "the container's monitor failed (signal 9)" ]
		else
			[ "$(jq -r '.[0].State.Error' <<<"$output")" = "its start was interrupted: the process starting it was killed" ]
		fi
		check_clean
		run hk start "$id"
		[ "$status" -eq 0 ]
		ps_tells_truth
		[ "$(hk ps -q)" = "${id:0:12}" ]
		hk rm -f "$id"
		nothing_left
	done
	exec {tick}>&-
}

@test "robust: the monitor-to-be killed as the core makes the container's cgroups: none is left" {
	command -v strace >/dev/null || skip "strace not installed"
	[ -d /sys/fs/cgroup/pids ] && [ -d /sys/fs/cgroup/cpu ] || skip "no cgroup v1 pids hierarchy"
	# its pids cgroup comes after others (cpu first): killed as it is made
	# (LeakSanitizer cannot run under ptrace: off, in a sanitizer build)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		run strace -f -o /dev/null -P /sys/fs/cgroup/pids -e inject=mkdir:signal=KILL:when=1 \
		"$HUSK_ENGINE" run -d --name cg busybox sleep 100
	[ "$status" -eq 125 ] || { echo "$status: $output"; false; }
	[[ "$output" == *"the container's monitor failed (signal 9)"* ]]
	note_ids
	run hk ps -a --format json
	[ "$(jq -r .State <<<"$output")" = created ]
	check_clean
	hk rm cg
	nothing_left
}

@test "robust: husk run killed right after it claimed the name: the name is free again; check names the leftovers; prune takes them" {
	command -v strace >/dev/null || skip "strace not installed"
	# the first unlink(2) is of the name's temp file, once it is linked
	run strace -o /dev/null -e inject=unlink:signal=KILL:when=1 \
		"$HUSK_ENGINE" run -d --name web busybox sleep 100
	[ "$status" -eq 137 ]
	note_ids
	[ -e "$HUSK_STORAGE_ROOT/names/web" ]
	run hk ps -a -q
	[ -z "$output" ]
	run hk system check
	[ "$status" -eq 1 ]
	[[ "$output" == *"creation or removal was killed half-way"* ]]
	[[ "$output" == *"name web: names "*", which is no container"* ]]
	[ "${#lines[@]}" -eq 2 ]
	# nobody is at work on it: the name is taken over
	run hk run -d --name web busybox sleep 100
	[ "$status" -eq 0 ]
	local id=$output
	[ "$(cat "$HUSK_STORAGE_ROOT/names/web")" = "$id" ]
	run hk run -d --name web busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"name \`web\` is already in use"* ]]
	run hk system prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == "Deleted Containers:"* ]]
	[[ "$output" != *"$id"* ]]
	check_clean
	[ "$(hk ps -q --no-trunc)" = "$id" ]
}

@test "robust: husk run killed after the record, before the start: created; prune removes it" {
	command -v strace >/dev/null || skip "strace not installed"
	# the second unlink(2) clears the stop request as the start begins
	run strace -o /dev/null -e inject=unlink:signal=KILL:when=2 \
		"$HUSK_ENGINE" run -d --name made busybox sleep 100
	[ "$status" -eq 137 ]
	note_ids
	run hk ps -a --format json
	[ "$(jq -r .State <<<"$output")" = created ]
	check_clean
	run hk system prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == "Deleted Containers:"$'\n'[0-9a-f]*$'\n\n'"Total reclaimed space: "* ]]
	[ -z "$(hk ps -aq)" ]
}

@test "robust: the monitor killed while the container runs: Up (its monitor was killed); stop and rm -f kill it through the core" {
	local id monitor init
	id=$(hk run -d --name orphan busybox sleep 100)
	monitor=$(jq -r .MonitorPid "$HUSK_STORAGE_ROOT/containers/$id/state.json")
	init=$(jq -r .Pid "$HUSK_STORAGE_ROOT/containers/$id/state.json")
	kill -KILL "$monitor"
	wait_until 100 dead "$monitor"
	run hk ps
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == *"Up "*"(its monitor was killed)"*orphan ]]
	run hk system check
	[ "$status" -eq 1 ]
	[[ "$output" == *"it runs without its monitor (killed)"* ]]
	run hk stop -t 1 orphan
	[ "$status" -eq 0 ]
	run hk ps -a --format json
	[ "$(jq -r .State <<<"$output")" = exited ]
	pid_gone "$init"
	check_clean
	# started again, it has a monitor again
	run hk start orphan
	[ "$status" -eq 0 ]
	run hk ps
	[[ "${lines[1]}" == *"Up "* ]]
	[[ "${lines[1]}" != *"monitor was killed"* ]]
	# and rm -f straight after its monitor is killed
	monitor=$(jq -r .MonitorPid "$HUSK_STORAGE_ROOT/containers/$id/state.json")
	kill -KILL "$monitor"
	run hk rm -f orphan
	[ "$status" -eq 0 ]
	nothing_left
}

@test "robust: the monitor killed after the container exited: ps says exited, the core's state and the overlay are cleaned up" {
	local id monitor init
	id=$(hk run -d busybox sleep 100)
	monitor=$(jq -r .MonitorPid "$HUSK_STORAGE_ROOT/containers/$id/state.json")
	init=$(jq -r .Pid "$HUSK_STORAGE_ROOT/containers/$id/state.json")
	# the init exits while its monitor cannot record it, then the monitor dies
	kill -STOP "$monitor"
	kill -KILL "$init"
	wait_until 100 dead "$init"
	kill -KILL "$monitor"
	wait_until 100 dead "$monitor"
	[ -d "$HUSK_RUN_ROOT/runtime/$id" ]
	run hk ps -a
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == *"Exited (255) "* ]]
	[ ! -d "$HUSK_RUN_ROOT/runtime/$id" ]
	run hk inspect "$id"
	[ "$(jq -r '.[0].State.Error' <<<"$output")" = "its monitor was killed: the exit code is unknown" ]
	check_clean
	run hk rm "$id"
	[ "$status" -eq 0 ]
}

# The attached `husk run` records the exit itself (its monitor hands it
# over); when it is gone, the monitor does it (husk __monitor-exit).
monitor_gone_and_nothing_left() {
	! pid_alive "$1" && nothing_left >/dev/null
}

@test "robust: husk run --rm SIGKILLed as its container runs: the monitor records the exit and removes it all" {
	local out=$BATS_TEST_TMPDIR/out husk_pid id monitor
	hk_bg "$out" run --rm --name gone busybox sh -c 'echo up; sleep 1; exit 3'
	husk_pid=$!
	wait_for 10 grep -q up "$out"
	id=$(cat "$HUSK_STORAGE_ROOT/names/gone")
	note_ids
	monitor=$(jq -r .MonitorPid "$HUSK_STORAGE_ROOT/containers/$id/state.json")
	kill -KILL "$husk_pid"
	wait "$husk_pid" || true
	wait_for 20 monitor_gone_and_nothing_left "$monitor"
	nothing_left
	# the name is free at once
	run hk run --rm --name gone busybox true
	[ "$status" -eq 0 ]
	nothing_left
}

@test "robust: husk run --rm stopped then SIGKILLed after the exit was handed to it: the monitor removes it all" {
	local out=$BATS_TEST_TMPDIR/out husk_pid id monitor
	hk_bg "$out" run --rm --name held busybox sh -c 'echo up; sleep 100'
	husk_pid=$!
	wait_for 10 grep -q up "$out"
	id=$(cat "$HUSK_STORAGE_ROOT/names/held")
	note_ids
	monitor=$(jq -r .MonitorPid "$HUSK_STORAGE_ROOT/containers/$id/state.json")
	# the container is killed while husk cannot take the exit
	kill -STOP "$husk_pid"
	hk kill "$id"
	sleep 0.3
	# the monitor waits for husk, which holds the exit
	pid_alive "$monitor"
	[ -d "$HUSK_STORAGE_ROOT/containers/$id" ]
	kill -KILL "$husk_pid"
	kill -CONT "$husk_pid" 2>/dev/null || true
	wait "$husk_pid" || true
	wait_for 20 monitor_gone_and_nothing_left "$monitor"
	nothing_left
	check_clean
}

@test "robust: husk run --rm killed half-way through the removal it was handed: the monitor finishes it" {
	command -v strace >/dev/null || skip "strace not installed"
	# the second rename(2) moves the container's dir away, its record
	# (container.json) and name gone already
	run strace -o /dev/null -e inject=rename:signal=KILL:when=2 \
		"$HUSK_ENGINE" run --rm --name half busybox true
	[ "$status" -eq 137 ]
	note_ids
	wait_for 20 nothing_left
	check_clean
	run hk run --rm --name half busybox true
	[ "$status" -eq 0 ]
	nothing_left
}

@test "robust: the monitor killed while a container restarts: exited with its last code" {
	local id monitor state
	id=$(hk run -d --restart always busybox sh -c 'exit 3')
	state=$HUSK_STORAGE_ROOT/containers/$id/state.json
	# caught stopped in its back-off (the record cannot change meanwhile)
	for _ in $(seq 100); do
		monitor=$(jq -r .MonitorPid "$state")
		kill -STOP "$monitor" 2>/dev/null || continue
		[ "$(jq -r .Status "$state")" = restarting ] && break
		kill -CONT "$monitor"
		sleep 0.05
	done
	[ "$(jq -r .Status "$state")" = restarting ]
	kill -KILL "$monitor"
	wait_until 100 dead "$monitor"
	run hk ps -a --format json
	[ "$(jq -r .State <<<"$output")" = exited ]
	[ "$(jq -r .ExitCode <<<"$output")" = 3 ]
	check_clean
}

@test "robust: husk stop killed at every step: ps tells the truth; stop again works" {
	need_group
	local ms id
	for ms in 0 20 40 60 80; do
		id=$(hk run -d busybox sh -c 'trap "exit 3" TERM; sleep 100 & wait')
		killed_after "$ms" stop "$id"
		settled_truth
		run hk stop "$id"
		[ "$status" -eq 0 ]
		[ "$(hk inspect "$id" | jq -r '.[0].State.Status')" = exited ]
		run hk rm "$id"
		[ "$status" -eq 0 ]
	done
	nothing_left
	check_clean
}

@test "robust: husk rm -f killed at every step: ps tells the truth; rm -f or prune finishes" {
	need_group
	local ms n=0 id
	for ms in 0 20 40 60 90; do
		id=$(hk run -d busybox sleep 100)
		killed_after "$ms" rm -f "$id"
		settled_truth
		n=$((n + 1))
		if [ -n "$(hk ps -aq)" ] && [ $((n % 2)) -eq 0 ]; then
			hk rm -f "$id"
		elif [ -n "$(hk ps -q)" ]; then
			hk stop -t 0 "$id" # and prune removes it
		fi
		run hk system prune -f
		[ "$status" -eq 0 ]
		[ -z "$(hk ps -aq)" ]
		nothing_left
		check_clean
	done
}

@test "robust: 50 containers started at once by separate husk run -d: 50 running, unique names, check clean, all removed" {
	local i dir=$BATS_TEST_TMPDIR/runs pids=()
	mkdir "$dir"
	for i in $(seq 50); do
		"$HUSK_ENGINE" run -d busybox sleep 300 </dev/null >"$dir/$i" 2>&1 3>&- &
		pids+=($!)
	done
	# only our own: a bare wait would wait for bats' timeout watchdog too
	wait "${pids[@]}"
	note_ids
	for i in $(seq 50); do
		[[ "$(cat "$dir/$i")" =~ ^[0-9a-f]{64}$ ]] || { echo "run $i: $(cat "$dir/$i")"; false; }
	done
	[ "$(hk ps -q | wc -l)" -eq 50 ]
	[ "$(hk ps --format json | jq -r .Names | sort -u | wc -l)" -eq 50 ]
	[ "$(hk ps --format json | jq -r .State | sort -u)" = running ]
	check_clean
	run hk system df
	[[ "${lines[2]}" =~ ^Containers\ +50\ +50\  ]]
	run hk rm -f $(hk ps -q)
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 50 ]
	nothing_left
	check_clean
}

@test "robust: system check names each leftover; system prune -f takes them and keeps what runs" {
	local run_id made_id ghost=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	local ghost_hold=f${ghost:1} ghost_core=e${ghost:1}
	run_id=$(hk run -d --name keeper busybox sleep 100)
	made_id=$(hk create --name made busybox true)
	hk run --name done busybox true
	# what a killed husk could leave: a dir half made, a name and a hold
	# of a container that is no more, the core's state of none, a
	# creation dir whose maker is gone, a name file taken from its owner
	mkdir "$HUSK_STORAGE_ROOT/containers/$ghost"
	touch "$HUSK_STORAGE_ROOT/containers/$ghost/lock"
	printf %s "$ghost" >"$HUSK_STORAGE_ROOT/names/ghostname"
	cp "$HUSK_STORAGE_ROOT/holds/$made_id" "$HUSK_STORAGE_ROOT/holds/$ghost_hold"
	mkdir "$HUSK_RUN_ROOT/runtime/$ghost_core"
	mkdir "$HUSK_STORAGE_ROOT/containers/.creating-${ghost}-999999999-1"
	rm "$HUSK_STORAGE_ROOT/names/made"
	# a rename killed before it released the old name
	printf %s "$run_id" >"$HUSK_STORAGE_ROOT/names/oldname"
	run hk system check
	[ "$status" -eq 1 ]
	[[ "$output" == *"container ${ghost:0:12}: its creation or removal was killed half-way"* ]]
	[[ "$output" == *"name ghostname: names ${ghost:0:12}, which is no container"* ]]
	[[ "$output" == *"image hold ${ghost_hold:0:12}: no such container"* ]]
	[[ "$output" == *"core state ${ghost_core:0:12}: no such container"* ]]
	[[ "$output" == *"containers/.creating-${ghost}-999999999-1: the creation of a container was killed half-way"* ]]
	[[ "$output" == *"container ${made_id:0:12} (made): names/made does not name it"* ]]
	[[ "$output" == *"name oldname: names ${run_id:0:12}, which has another name"* ]]
	[ "${#lines[@]}" -eq 7 ]
	run hk system prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == "Deleted Containers:"* ]]
	[[ "$output" == *"$made_id"* ]]
	[[ "$output" == *"$ghost"* ]]
	[[ "$output" != *"$run_id"* ]]
	[[ "$output" == *"Total reclaimed space: "* ]]
	check_clean
	[ "$(hk ps -aq --no-trunc)" = "$run_id" ]
	[ ! -e "$HUSK_STORAGE_ROOT/names/oldname" ]
	[ "$(cat "$HUSK_STORAGE_ROOT/names/keeper")" = "$run_id" ]
	# a corrupt blob is the store's problem, named
	local blob
	blob=$(ls "$HUSK_STORAGE_ROOT/blobs/sha256" | head -1)
	cp "$HUSK_STORAGE_ROOT/blobs/sha256/$blob" "$BATS_TEST_TMPDIR/blob"
	echo garbage >>"$HUSK_STORAGE_ROOT/blobs/sha256/$blob"
	run hk system check
	cp "$BATS_TEST_TMPDIR/blob" "$HUSK_STORAGE_ROOT/blobs/sha256/$blob"
	[ "$status" -eq 1 ]
	[[ "$output" == "image store: blob sha256:$blob: its content is sha256:"* ]]
}

@test "robust: system df and info tell what there is" {
	hk run -d busybox sleep 100 >/dev/null
	hk run busybox true
	run hk system df
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^TYPE\ +TOTAL\ +ACTIVE\ +SIZE\ +RECLAIMABLE$ ]]
	[[ "${lines[1]}" =~ ^Images\ +1\ +1\ +[0-9.]+[kM]?B\ +0B\ \(0%\)$ ]]
	[[ "${lines[2]}" =~ ^Containers\ +2\ +1\  ]]
	[[ "${lines[3]}" =~ ^Local\ Volumes\ +0\ +0\ +0B\ +0B$ ]]
	run hk info
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n'" Containers: 2"$'\n'"  Running: 1"$'\n'"  Paused: 0"$'\n'"  Stopped: 1"$'\n'* ]]
	[[ "$output" == *$'\n'" Images: 1"$'\n'* ]]
	[[ "$output" == *$'\n'" Storage Root: $HUSK_STORAGE_ROOT"$'\n'* ]]
	[[ "$output" == *$'\n'" Run Root: $HUSK_RUN_ROOT"$'\n'* ]]
	[[ "$output" == *$'\n'" Monitor: /"*"husk-monitor"* ]]
	[[ "$output" == *$'\n'" Kernel Version: $(uname -r)"$'\n'* ]]
	[[ "$output" =~ $'\n'\ Cgroup\ Version:\ (1|2|none) ]]
	[[ "$output" =~ $'\n'\ \ Rootless\ Overlay:\ (supported|not\ supported) ]]
	[[ "$output" =~ $'\n'\ \ fuse-overlayfs:\ (/|not\ installed) ]]
}

@test "robust: the system verbs' bad input: 125 and one line, nothing removed" {
	local id
	id=$(hk create busybox true)
	run hk system
	[ "$status" -eq 125 ]
	[ "$output" = "husk: system: a command is required: check, prune or df" ]
	run hk system nosuch
	[ "$status" -eq 125 ]
	[ "$output" = "husk: system: unknown command \`nosuch\` (see husk system --help)" ]
	# no terminal to ask on: -f is required
	run hk system prune </dev/null
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "husk: system prune: "*"give -f to confirm"* ]]
	run hk system prune -x
	[ "$status" -eq 125 ]
	[ "$output" = "husk: system prune: unknown flag \`-x\`" ]
	run hk system prune --all -f
	[ "$status" -eq 125 ]
	[ "$output" = "husk: system prune: unknown flag \`--all\`" ]
	run hk system prune -f extra
	[ "$status" -eq 125 ]
	[ "$output" = "husk: system prune: takes no arguments (\`extra\`)" ]
	run hk system check extra
	[ "$status" -eq 125 ]
	[ "$output" = "husk: system check: takes no arguments (\`extra\`)" ]
	run hk system df -v
	[ "$status" -eq 125 ]
	[ "$output" = "husk: system df: takes no arguments (\`-v\`)" ]
	run hk info extra
	[ "$status" -eq 125 ]
	[ "$output" = "husk: info: takes no arguments (\`extra\`)" ]
	run hk system --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: husk system COMMAND" ]]
	# nothing was removed
	[ "$(hk ps -aq --no-trunc)" = "$id" ]
}
