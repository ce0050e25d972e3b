#!/usr/bin/env bats
# OCI hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"): the six
# kinds run in order with the state on stdin, args and env as given, in the
# right namespaces; failures of the first ones abort create and leave nothing
# behind, failures of poststart/poststop only warn.
#
# Every hook is a shell script that appends its kind to $HD/order and keeps
# what it saw in $HD/KIND.*; $HD is bind-mounted into the container at the same
# path, so the startContainer hook (which runs after pivot_root) writes there too.
load helpers
bats_require_minimum_version 1.5.0

# --- local helpers ----------------------------------------------------------

# Every runtime call is bounded (husk() in helpers.bash): a hung runtime
# fails the test (status 124) instead of hanging the whole run. A hang
# detector, not a speed limit: far above what a call takes on a slow or
# loaded machine, under ASan or in the emulated guest, and far below bats'
# per-test limit (HUSK_TEST_TIMEOUT, 300 s in tests/run.sh).
HUSK_TIMEOUT=${HUSK_TIMEOUT:-60}

# The program: waits for $HD/stop (or exits at once with `quick`).
START_HOOK=/husk-test-start-hook # exists only in the container's rootfs

setup() {
	skip_unless_root
	setup_bundle
	HD=$BATS_TEST_TMPDIR/hooks
	mkdir -p "$HD"
	cat >"$HD/log-hook" <<'EOF'
#!/bin/sh
# log-hook KIND: keeps the state from stdin, the namespaces and (on the host,
# after the start) the container program's command line, then logs KIND.
kind=$1
cat >"$HOOKDIR/$kind.state"
readlink /proc/self/ns/uts >"$HOOKDIR/$kind.uts"
readlink /proc/self/ns/mnt >"$HOOKDIR/$kind.mnt"
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$HOOKDIR/$kind.state")
if [ "$kind" = poststart ] && [ -n "$pid" ]; then
	tr '\0' ' ' <"/proc/$pid/cmdline" >"$HOOKDIR/$kind.cmdline"
	readlink "/proc/$pid/ns/uts" >"$HOOKDIR/ctr.uts"
	readlink "/proc/$pid/ns/mnt" >"$HOOKDIR/ctr.mnt"
fi
[ -n "$HOOK_SLEEP" ] && sleep "$HOOK_SLEEP"
echo "$kind" >>"$HOOKDIR/order"
exit 0
EOF
	chmod 755 "$HD/log-hook"
	cp "$HD/log-hook" "$BUNDLE/rootfs$START_HOOK"
	update_config '.mounts += [{"destination": "'"$HD"'", "type": "none", "source": "'"$HD"'", "options": ["rbind", "rw"]}]'
	set_args sh -c "while [ ! -e $HD/stop ]; do sleep 0.05; done"
}

teardown() {
	[ -n "${HUSK_ROOT:-}" ] && unstick_containers
	cleanup_containers
	kill_strays "${HUSK_ROOT:-}"
}

# hook_json KIND [PATH] [EXTRA-ENV]: a log-hook entry for hooks.KIND.
hook_json() {
	local kind=$1 path=${2:-$HD/log-hook} extra=${3:-}
	jq -nc --arg p "$path" --arg k "$kind" --arg hd "$HD" --arg x "$extra" \
		'{path: $p, args: ["log-hook", $k], env: (["HOOKDIR=" + $hd, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"] + (if $x == "" then [] else [$x] end))}'
}

# all_hooks: a logging hook of each of the six kinds.
all_hooks() {
	update_config ".hooks = {
		\"prestart\": [$(hook_json prestart)],
		\"createRuntime\": [$(hook_json createRuntime)],
		\"createContainer\": [$(hook_json createContainer)],
		\"startContainer\": [$(hook_json startContainer "$START_HOOK")],
		\"poststart\": [$(hook_json poststart)],
		\"poststop\": [$(hook_json poststop)]}"
}

# failing_hook KIND: a hook of KIND that logs "KIND-failed" and exits 3.
failing_hook_json() {
	jq -nc --arg hd "$HD" --arg k "$1" \
		'{path: "/bin/sh", args: ["sh", "-c", "echo " + $k + "-failed >> " + $hd + "/order; exit 3"]}'
}

order_is() {
	local want
	want=$(printf '%s\n' "$@")
	if [ "$(cat "$HD/order" 2>/dev/null)" != "$want" ]; then
		echo "hook order: expected [$(echo $want)], got [$(echo $(cat "$HD/order" 2>/dev/null))]"
		return 1
	fi
}

# check_state KIND STATUS [PID]: the state KIND got on stdin.
check_state() {
	local f=$HD/$1.state
	cat "$f"
	echo
	jq -e . "$f" >/dev/null
	[ "$(jq -r .id "$f")" = "$ID" ]
	[ "$(jq -r .status "$f")" = "$2" ]
	[ "$(jq -r .bundle "$f")" = "$(realpath "$BUNDLE")" ]
	[ "$(jq -r .ociVersion "$f")" = "$(jq -r .ociVersion "$BUNDLE/config.json")" ]
	if [ -n "${3:-}" ]; then
		[ "$(jq -r .pid "$f")" = "$3" ]
	fi
}

# --- order and state --------------------------------------------------------

@test "hooks: create, start, delete run all six in order with the state on stdin" {
	ID=h1
	all_hooks
	hcreate -b "$BUNDLE" $ID
	order_is prestart createRuntime createContainer
	pid=$(state_of $ID pid)
	[ "$pid" -gt 0 ]
	# prestart sees "created", as crun gives it and the runtime-spec conformance
	# suite checks (prestart ran at start in runtime-spec 1.0); the newer
	# hooks of the create operation see "creating", as with runc
	check_state prestart created "$pid"
	for k in createRuntime createContainer; do check_state $k creating "$pid"; done

	husk start $ID
	# (the order of these two, and that poststart sees the program executed,
	# is the next test's business: here both ran, with the right state)
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c . "$HD/order")" -ge 5 ] && break
		sleep 0.05
	done
	[ "$(head -3 "$HD/order" | xargs)" = "prestart createRuntime createContainer" ]
	[ "$(tail -n +4 "$HD/order" | sort | xargs)" = "poststart startContainer" ]
	check_state startContainer created "$pid"
	check_state poststart running "$pid"

	touch "$HD/stop"
	wait_status $ID stopped
	husk delete $ID
	[ "$(grep -c . "$HD/order")" -eq 6 ]
	[ "$(tail -1 "$HD/order")" = poststop ]
	check_state poststop stopped
	assert_gone $ID
}

@test "hooks: startContainer, the program's exec, then poststart, all before start returns" {
	# runtime.md lifecycle steps 7, 8, 9; poststart "MUST be called after the
	# user-specified process is executed but before the start operation
	# returns". A slow startContainer hook makes a race visible.
	ID=h1
	all_hooks
	update_config ".hooks.startContainer = [$(hook_json startContainer "$START_HOOK" HOOK_SLEEP=1)]"
	hcreate -b "$BUNDLE" $ID
	husk start $ID
	order_is prestart createRuntime createContainer startContainer poststart
	[[ "$(cat "$HD/poststart.cmdline")" == "sh -c while "* ]]
}

@test "hooks: run in the foreground runs all six in order" {
	ID=h2
	all_hooks
	set_args sh -c "echo program >> $HD/order; exit 5"
	run husk run -b "$BUNDLE" $ID
	echo "$output"
	[ "$status" -eq 5 ]
	order_is prestart createRuntime createContainer startContainer program poststart poststop
	pid=$(jq -r .pid "$HD/prestart.state")
	[ "$pid" -gt 0 ]
	# prestart sees "created", as crun gives it and the runtime-spec conformance
	# suite checks (prestart ran at start in runtime-spec 1.0); the newer
	# hooks of the create operation see "creating", as with runc
	check_state prestart created "$pid"
	for k in createRuntime createContainer; do check_state $k creating "$pid"; done
	check_state startContainer created "$pid"
	check_state poststart running "$pid"
	check_state poststop stopped
	assert_gone $ID
}

# --- args, env, namespaces --------------------------------------------------------

@test "hooks: args (args[0] is argv[0]) and env are passed exactly as given" {
	ID=h3
	script="cat /proc/\$\$/cmdline > $HD/argv; env > $HD/env; exit 0"
	update_config ".hooks.createRuntime = [{
		\"path\": \"$BUSYBOX\",
		\"args\": [\"sh\", \"-c\", \"$script\", \"zero\", \"one\", \"two words\"],
		\"env\": [\"A=1\", \"B=two words\", \"HOOKDIR=$HD\"]}]"
	set_args true
	run husk run -b "$BUNDLE" $ID
	echo "$output"
	[ "$status" -eq 0 ]
	# busybox picks its applet from argv[0]: "sh" ran, with exactly these args
	diff <(tr '\0' '\n' <"$HD/argv") <(printf '%s\n' sh -c "$script" zero one 'two words')
	# only the given environment (busybox sh adds PWD, SHLVL and a PATH)
	diff <(grep -vE '^(PWD|SHLVL|PATH|_)=' "$HD/env" | sort) <(printf '%s\n' A=1 'B=two words' "HOOKDIR=$HD")
}

@test "hooks: without env a hook gets the runtime's environment; env [] is an empty one" {
	# runc and crun pass theirs; hooks such as the NVIDIA toolkit's read it
	ID=h5
	update_config ".hooks.prestart = [{\"path\": \"$BUSYBOX\", \"args\": [\"sh\", \"-c\", \"env > $HD/noenv\"]}]
		| .hooks.poststart = [{\"path\": \"$BUSYBOX\", \"args\": [\"sh\", \"-c\", \"env > $HD/poststart\"]}]
		| .hooks.createRuntime = [{\"path\": \"$BUSYBOX\", \"args\": [\"sh\", \"-c\", \"env > $HD/empty\"], \"env\": []}]"
	set_args true
	HUSK_HOOK_PROBE='from the runtime' run husk run -b "$BUNDLE" $ID
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx 'HUSK_HOOK_PROBE=from the runtime' "$HD/noenv"
	grep -qx 'HUSK_HOOK_PROBE=from the runtime' "$HD/poststart"
	grep -q '^PATH=' "$HD/noenv"
	# only what busybox sh adds itself
	[ -z "$(grep -vE '^(PWD|SHLVL|PATH|_)=' "$HD/empty")" ]
}

@test "hooks: createContainer and startContainer run in the container's namespaces, the others in the runtime's" {
	ID=h4
	all_hooks
	[ ! -e "$START_HOOK" ] # the startContainer path resolves in the container only
	# alive until the poststart hook has looked at its namespaces
	set_args sh -c "until grep -q poststart $HD/order 2>/dev/null; do sleep 0.05; done"
	run husk run -b "$BUNDLE" $ID
	echo "$output"
	[ "$status" -eq 0 ]
	order_is prestart createRuntime createContainer startContainer poststart poststop
	host_uts=$(readlink /proc/self/ns/uts)
	host_mnt=$(readlink /proc/self/ns/mnt)
	ctr_uts=$(cat "$HD/ctr.uts")
	ctr_mnt=$(cat "$HD/ctr.mnt")
	[ "$ctr_uts" != "$host_uts" ]
	[ "$ctr_mnt" != "$host_mnt" ]
	for k in createContainer startContainer; do
		[ "$(cat "$HD/$k.uts")" = "$ctr_uts" ]
		[ "$(cat "$HD/$k.mnt")" = "$ctr_mnt" ]
	done
	for k in prestart createRuntime poststart poststop; do
		[ "$(cat "$HD/$k.uts")" = "$host_uts" ]
		[ "$(cat "$HD/$k.mnt")" = "$host_mnt" ]
	done
}

# --- failures ------------------------------------------------------------

@test "hooks: a failing prestart, createRuntime or createContainer hook fails create and leaves nothing" {
	set_args sh -c "touch $HD/program-ran"
	for kind in prestart createRuntime createContainer; do
		ID=f-$kind
		rm -f "$HD/order"
		update_config "del(.hooks) | .hooks.$kind = [$(hook_json $kind), $(failing_hook_json $kind), $(hook_json never)]"
		run hcreate -b "$BUNDLE" $ID
		echo "$kind: $output"
		assert_failed
		[[ "$output" == *"hooks.$kind[1]"* ]]
		[ "$(grep -c . <<<"$output")" -eq 1 ]
		order_is $kind $kind-failed
		assert_gone $ID
		run husk state $ID
		[[ "$output" == *"does not exist"* ]]
	done
	[ ! -e "$HD/program-ran" ]
	[ -z "$(state_entries)" ]
}

@test "hooks: after a failing createRuntime hook the poststop hooks still run" {
	# runtime.md: on a failing createRuntime hook the runtime "MUST generate an
	# error, stop the container, and continue the lifecycle at step 12", and
	# step 13 invokes the poststop hooks.
	ID=f1
	update_config ".hooks = {\"createRuntime\": [$(failing_hook_json createRuntime)], \"poststop\": [$(hook_json poststop)]}"
	run hcreate -b "$BUNDLE" $ID
	assert_failed
	order_is createRuntime-failed poststop
	assert_gone $ID
}

@test "hooks: a hook over its timeout is killed and create fails" {
	ID=t1
	update_config ".hooks.createRuntime = [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"echo \$\$ > $HD/hook.pid; exec sleep 30\"], \"timeout\": 1}]"
	start=$(date +%s)
	run hcreate -b "$BUNDLE" $ID
	elapsed=$(($(date +%s) - start))
	echo "$output (after ${elapsed}s)"
	assert_failed
	[ "$elapsed" -lt 20 ]
	[[ "$output" == *"hooks.createRuntime[0]"*"timed out"* ]]
	hookpid=$(cat "$HD/hook.pid")
	pid_gone "$hookpid"
	assert_gone $ID
}

@test "hooks: a failing startContainer hook makes start fail; the program never runs" {
	ID=s1
	set_args sh -c "touch $HD/program-ran"
	update_config ".hooks.startContainer = [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"exit 4\"]}]"
	hcreate -b "$BUNDLE" $ID
	run husk start $ID
	echo "$output"
	assert_failed
	[[ "$output" == *startContainer* ]]
	sleep 0.2
	[ ! -e "$HD/program-ran" ]
	wait_status $ID stopped
}

@test "hooks: failing poststart and poststop hooks only warn; the other hooks still run" {
	ID=w1
	update_config ".hooks = {
		\"poststart\": [$(failing_hook_json poststart), $(hook_json poststart)],
		\"poststop\": [$(failing_hook_json poststop), $(hook_json poststop)]}"
	hcreate -b "$BUNDLE" $ID
	run --separate-stderr husk start $ID
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *warning*"hooks.poststart[0]"* ]]
	[ "$(state_of $ID status)" = running ]
	# "the remaining hooks and lifecycle continue"
	order_is poststart-failed poststart

	touch "$HD/stop"
	wait_status $ID stopped
	run --separate-stderr husk delete $ID
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *warning*"hooks.poststop[0]"* ]]
	order_is poststart-failed poststart poststop-failed poststop
	assert_gone $ID
}

@test "hooks: run in the foreground: failing poststart and poststop hooks only warn" {
	ID=w2
	update_config ".hooks = {
		\"poststart\": [$(failing_hook_json poststart), $(hook_json poststart)],
		\"poststop\": [$(failing_hook_json poststop), $(hook_json poststop)]}"
	set_args sh -c 'exit 6'
	run --separate-stderr husk run -b "$BUNDLE" $ID
	echo "$stderr"
	[ "$status" -eq 6 ]
	[[ "$stderr" == *warning*poststart* ]]
	[[ "$stderr" == *warning*"hooks.poststop[0]"* ]]
	order_is poststart-failed poststart poststop-failed poststop
	assert_gone $ID
}
