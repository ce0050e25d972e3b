#!/usr/bin/env bats
# husk-runtime run by an unprivileged user: a throw-away user with its own
# /etc/subuid and /etc/subgid range builds a bundle with `spec --rootless` and
# runs it. Teardown removes the containers, the user's processes, the user and
# its subid lines, whether the test passed or not.
load helpers

setup() {
	skip_unless_root
	command -v useradd >/dev/null || skip "useradd not installed"
	command -v setpriv >/dev/null || skip "setpriv not installed"
	command -v unshare >/dev/null || skip "unshare not installed"
	RL_USER=hkrl$$t$BATS_TEST_NUMBER
	RL_DIR=$(mktemp -d /tmp/husk-rootless.XXXXXX)
	useradd -M -U -d /nonexistent -s /bin/sh "$RL_USER"
	RL_UID=$(id -u "$RL_USER")
	RL_GID=$(id -g "$RL_USER")
	# a range of our own, far from the usual 100000+ ones
	SUB_START=$((1000000000 + ($$ % 1000) * 1000000 + BATS_TEST_NUMBER * 65536))
	echo "$RL_USER:$SUB_START:65536" >>/etc/subuid
	echo "$RL_USER:$SUB_START:65536" >>/etc/subgid
	chmod 755 "$RL_DIR"
	userns_allowed || skip "unprivileged user namespaces are not allowed here: $USERNS_WHY"
	# the user runs a copy of the runtime: the checkout may be below a
	# directory it cannot search (a CI workspace under a 0700 home)
	RL_RUNTIME=$RL_DIR/husk-runtime
	install -m 755 "$HUSK_RUNTIME" "$RL_RUNTIME"
	mkdir -p "$RL_DIR/bundle" "$RL_DIR/xdg" "$RL_DIR/data"
	cp -a "$(shared_rootfs)" "$RL_DIR/bundle/rootfs"
	chown -R "$RL_USER:$RL_USER" "$RL_DIR/bundle" "$RL_DIR/xdg" "$RL_DIR/data"
	chmod 700 "$RL_DIR/xdg"
	BUNDLE=$RL_DIR/bundle
	as_user sh -c "cd '$BUNDLE' && '$RL_RUNTIME' spec --rootless"
	rl_update_config '.process.terminal = false | .process.args = ["/bin/true"]'
}

teardown() {
	[ -n "${RL_USER:-}" ] || return 0
	local id pid
	if [ -d "$RL_DIR/xdg/husk" ]; then
		for id in $(ls "$RL_DIR/xdg/husk"); do
			timeout 20 setpriv --reuid="$RL_UID" --regid="$RL_GID" --clear-groups -- env XDG_RUNTIME_DIR="$RL_DIR/xdg" \
				"$RL_RUNTIME" delete -f "$id" >/dev/null 2>&1
		done
	fi
	# every process of this user is one a test started
	for pid in $(pgrep -u "$RL_USER"); do
		kill -9 "$pid" 2>/dev/null
	done
	for ((i = 0; i < 50; i++)); do
		pgrep -u "$RL_USER" >/dev/null || break
		sleep 0.1
	done
	if [ -n "${DELEG:-}" ] && [ -d "$DELEG" ]; then
		find "$DELEG" -depth -type d -exec rmdir {} \; 2>/dev/null
	fi
	userdel "$RL_USER" 2>/dev/null
	getent group "$RL_USER" >/dev/null && groupdel "$RL_USER" 2>/dev/null
	sed -i "/^$RL_USER:/d" /etc/subuid /etc/subgid
	rm -rf "$RL_DIR"
	return 0
}

# userns_allowed: the test user may create a user namespace and map itself
# into it, as `run` of a rootless bundle does. If not, $USERNS_WHY says what
# the host has: Debian's kernel.unprivileged_userns_clone, user.max_user_namespaces,
# AppArmor's restriction (Ubuntu), and what unshare said.
userns_allowed() {
	local out f v
	out=$(as_user_raw unshare --user --map-root-user true 2>&1) && return 0
	USERNS_WHY="unshare --user --map-root-user as uid $RL_UID: ${out:-failed}"
	for f in /proc/sys/kernel/unprivileged_userns_clone /proc/sys/user/max_user_namespaces \
		/proc/sys/kernel/apparmor_restrict_unprivileged_userns; do
		v=$(cat "$f" 2>/dev/null) && USERNS_WHY+="; ${f#/proc/sys/}=$v"
	done
	return 1
}

# as_user_raw CMD...: CMD with the test user's ids (setpriv: no PAM, which a
# minimal guest lacks).
as_user_raw() { setpriv --reuid="$RL_UID" --regid="$RL_GID" --clear-groups -- "$@"; }

# as_user CMD...: run CMD as the test user with a clean environment.
as_user() {
	as_user_raw env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$RL_DIR" \
		XDG_RUNTIME_DIR="$RL_DIR/xdg" "$@"
}

# rl_husk ARGS...: husk-runtime as the test user, with its default state root.
rl_husk() { as_user timeout 20 "$RL_RUNTIME" "$@"; }

rl_update_config() {
	jq "$1" "$BUNDLE/config.json" >"$BUNDLE/config.json.new" &&
		mv "$BUNDLE/config.json.new" "$BUNDLE/config.json" &&
		chown "$RL_USER:$RL_USER" "$BUNDLE/config.json"
}

rl_set_args() {
	local json='[]' a
	for a in "$@"; do json=$(jq -c --arg a "$a" '. + [$a]' <<<"$json"); done
	rl_update_config ".process.args = $json"
}

# the container's output without the runtime's warning about cgroups
ctr_output() { echo "$output" | grep -v '^husk-runtime: warning:' || true; }

@test "rootless: spec --rootless makes a user namespace that maps only the caller" {
	[ "$(jq -r '.linux.namespaces[] | select(.type == "user") | .type' "$BUNDLE/config.json")" = user ]
	[ "$(jq -c '.linux.uidMappings' "$BUNDLE/config.json")" = "[{\"containerID\":0,\"hostID\":$RL_UID,\"size\":1}]" ]
	[ "$(jq -c '.linux.gidMappings' "$BUNDLE/config.json")" = "[{\"containerID\":0,\"hostID\":$RL_GID,\"size\":1}]" ]
}

@test "rootless: run works; uid 0 inside is the user outside" {
	rl_set_args sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; exit 3'
	run rl_husk run -b "$BUNDLE" rl1
	[ "$status" -eq 3 ]
	run ctr_output
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[ "$(echo ${lines[2]})" = "0 $RL_UID 1" ]
	[ "$(echo ${lines[3]})" = "0 $RL_GID 1" ]
	[ "${#lines[@]}" -eq 4 ]
	[ ! -e "$RL_DIR/xdg/husk/rl1" ]
}

@test "rootless: the state dir defaults to \$XDG_RUNTIME_DIR/husk" {
	local pid
	rl_set_args sleep 60
	as_user timeout 20 "$RL_RUNTIME" run -d -b "$BUNDLE" rl2 </dev/null >/dev/null 2>&1
	[ -f "$RL_DIR/xdg/husk/rl2/state.json" ]
	[ "$(stat -c %U "$RL_DIR/xdg/husk/rl2")" = "$RL_USER" ]
	run rl_husk state rl2
	[ "$status" -eq 0 ]
	run ctr_output
	[ "$(echo "$output" | jq -r .status)" = running ]
	pid=$(echo "$output" | jq -r .pid)
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" = "$RL_UID" ]
	rl_husk delete -f rl2
	[ ! -e "$RL_DIR/xdg/husk/rl2" ]
}

@test "rootless: create, state, start and delete as the user" {
	rl_set_args sleep 60
	as_user timeout 20 "$RL_RUNTIME" create -b "$BUNDLE" rl3 </dev/null >/dev/null 2>&1
	run rl_husk state rl3
	[ "$status" -eq 0 ]
	[ "$(ctr_output | jq -r .status)" = created ]
	rl_husk start rl3
	run rl_husk state rl3
	[ "$(ctr_output | jq -r .status)" = running ]
	rl_husk delete -f rl3
	run rl_husk state rl3
	[ "$status" -ne 0 ]
}

# rl_private_runtime: a copy of the runtime owned by the user, which the
# container's root (the user) could write: what CVE-2019-5736 is after.
rl_private_runtime() {
	cp "$HUSK_RUNTIME" "$RL_DIR/husk-runtime"
	chown "$RL_USER:$RL_USER" "$RL_DIR/husk-runtime"
	HUSK_RUNTIME=$RL_DIR/husk-runtime
}

# no_runtime_ran: the run or exec in $status/$output could not exec the
# entrypoint; had the runtime's code run, it would have printed its version.
no_runtime_ran() {
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Exec format error"* ]]
	[[ "$output" != *"husk-runtime version"* ]]
}

@test "rootless: CVE-2019-5736: /proc/self/exe never runs the user's runtime binary (run, exec), nor leads to it from inside" {
	local before pid args i
	rl_private_runtime
	before=$(sha256sum <"$HUSK_RUNTIME")
	# built by meson (static); compiled here where it is not (cc)
	if [ -x "$REPO/build/tests/integration/tools/sec-5736" ]; then
		cp "$REPO/build/tests/integration/tools/sec-5736" "$BUNDLE/rootfs/bin/sec-5736"
	else
		command -v cc >/dev/null || skip "sec-5736 is not built and there is no compiler"
		cc -static -O2 -o "$BUNDLE/rootfs/bin/sec-5736" "$BATS_TEST_DIRNAME/tools/sec-5736.c"
	fi
	printf '#!/proc/self/exe --version\n' >"$BUNDLE/rootfs/entry"
	chmod 755 "$BUNDLE/rootfs/entry"
	for args in '["/proc/self/exe", "--version"]' '["/entry"]'; do
		rl_update_config ".process.args = $args"
		run rl_husk run -b "$BUNDLE" rl5736
		no_runtime_ran
	done
	rl_set_args sleep 60
	as_user timeout 20 "$HUSK_RUNTIME" create --pid-file "$RL_DIR/data/pid" -b "$BUNDLE" rlw </dev/null >/dev/null 2>&1
	pid=$(cat "$RL_DIR/data/pid")
	# the init waiting for start (from the host: from inside, nothing can
	# open it, not dumpable and its mm owned by the host's user namespace)
	[ "$(readlink "/proc/$pid/exe")" = "/memfd:husk-empty-exe (deleted)" ]
	[ "$(stat -L -c %d:%i "/proc/$pid/exe")" != "$(stat -c %d:%i "$HUSK_RUNTIME")" ]
	rl_husk delete -f rlw
	# exec: while the container hunts exes to reopen for writing
	# it hunts until TERM (120 s at most), so that the execs overlap it
	# however slow the machine (the emulated guest is)
	rl_set_args /bin/sec-5736 hunt 120
	as_user timeout 20 "$HUSK_RUNTIME" run -d --pid-file "$RL_DIR/data/pid" -b "$BUNDLE" rlh \
		</dev/null >"$RL_DIR/data/hunt.out" 2>&1
	pid=$(cat "$RL_DIR/data/pid")
	run rl_husk exec rlh /proc/self/exe --version
	no_runtime_ran
	for ((i = 0; i < 20; i++)); do
		run rl_husk exec rlh /entry
		no_runtime_ran
	done
	kill -TERM "$pid"
	for ((i = 0; i < 200; i++)); do [ -d "/proc/$pid" ] || break; sleep 0.05; done
	cat "$RL_DIR/data/hunt.out"
	grep -q '^grabs:' "$RL_DIR/data/hunt.out"
	[ "$(grep -c '^WRITABLE' "$RL_DIR/data/hunt.out" || true)" = 0 ]
	[ "$(sha256sum <"$HUSK_RUNTIME")" = "$before" ]
}

@test "rootless: a multi-range map through newuidmap/newgidmap" {
	command -v newuidmap >/dev/null && command -v newgidmap >/dev/null ||
		skip "newuidmap/newgidmap not installed (package uidmap)"
	rl_update_config ".linux.uidMappings = [{\"containerID\": 0, \"hostID\": $RL_UID, \"size\": 1},
			{\"containerID\": 1, \"hostID\": $SUB_START, \"size\": 65536}]
		| .linux.gidMappings = [{\"containerID\": 0, \"hostID\": $RL_GID, \"size\": 1},
			{\"containerID\": 1, \"hostID\": $SUB_START, \"size\": 65536}]
		| .mounts += [{\"destination\": \"/data\", \"type\": \"bind\",
			\"source\": \"$RL_DIR/data\", \"options\": [\"rbind\", \"rw\"]}]"
	rl_set_args sh -c 'cat /proc/self/uid_map /proc/self/gid_map;
		touch /data/f && chown 1000:1000 /data/f && stat -c "%u %g" /data/f'
	run rl_husk run -b "$BUNDLE" rl4
	[ "$status" -eq 0 ]
	run ctr_output
	[ "$(echo ${lines[0]})" = "0 $RL_UID 1" ]
	[ "$(echo ${lines[1]})" = "1 $SUB_START 65536" ]
	[ "$(echo ${lines[2]})" = "0 $RL_GID 1" ]
	[ "$(echo ${lines[3]})" = "1 $SUB_START 65536" ]
	[ "${lines[4]}" = "1000 1000" ]
	[ "$(stat -c '%u %g' "$RL_DIR/data/f")" = "$((SUB_START + 999)) $((SUB_START + 999))" ]
}

@test "rootless: a range outside the user's subuids is refused with a clear error" {
	command -v newuidmap >/dev/null || skip "newuidmap not installed (package uidmap)"
	rl_update_config ".linux.uidMappings = [{\"containerID\": 0, \"hostID\": $RL_UID, \"size\": 1},
			{\"containerID\": 1, \"hostID\": 5000, \"size\": 10}]"
	run rl_husk run -b "$BUNDLE" rl5
	[ "$status" -ne 0 ]
	[[ "$output" == *uidMappings* ]]
	[[ "$output" == *newuidmap* ]]
	[ ! -e "$RL_DIR/xdg/husk/rl5" ]
}

@test "rootless: without a user namespace it refuses, naming the fix" {
	rl_update_config '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings, .linux.gidMappings)'
	run rl_husk run -b "$BUNDLE" rl6
	[ "$status" -ne 0 ]
	[[ "$output" == *"user namespace"* ]]
	[ ! -e "$RL_DIR/xdg/husk/rl6" ]
}

@test "rootless: a new network namespace has only lo" {
	rl_update_config '.linux.namespaces += [{"type": "network"}]'
	rl_set_args sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
	run rl_husk run -b "$BUNDLE" rl7
	[ "$status" -eq 0 ]
	[ "$(ctr_output)" = lo ]
}

@test "rootless: without a cgroup of its own the container runs without limits, saying so once" {
	rl_update_config '.linux.resources.pids = {"limit": 50}'
	rl_set_args echo ran
	run rl_husk run -b "$BUNDLE" rl8
	[ "$status" -eq 0 ]
	[ "$(ctr_output)" = ran ]
	[ "$(echo "$output" | grep -c '^husk-runtime: warning:')" -eq 1 ]
	[[ "$output" == *"without resource limits"* ]]
}

@test "rootless: no limit asked for, none lost: no warning (under conmon it would be the container's output)" {
	rl_update_config 'del(.linux.resources)'
	rl_set_args echo ran
	run rl_husk run -b "$BUNDLE" rl8b
	[ "$status" -eq 0 ]
	[ "$output" = ran ]
}

# delegate_cgroup: a cgroup v2 subtree owned by the test user, as systemd
# delegates one (the directory, cgroup.procs, cgroup.subtree_control and
# cgroup.threads chowned), with a "login" leaf where the user's processes run.
delegate_cgroup() {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || skip "no cgroup v2 hierarchy at /sys/fs/cgroup"
	local c
	for c in memory pids; do
		grep -qw $c /sys/fs/cgroup/cgroup.controllers || skip "cgroup v2 without the $c controller"
		grep -qw $c /sys/fs/cgroup/cgroup.subtree_control ||
			echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || skip "cannot enable $c"
	done
	DELEG_NAME=husk-deleg-$$-$BATS_TEST_NUMBER
	DELEG=/sys/fs/cgroup/$DELEG_NAME
	mkdir "$DELEG" "$DELEG/login"
	for c in "$DELEG" "$DELEG/login"; do
		chown "$RL_USER:$RL_USER" "$c" "$c/cgroup.procs" "$c/cgroup.subtree_control" "$c/cgroup.threads"
	done
}

# in_delegation CMD...: CMD as the test user, started inside $DELEG/login.
in_delegation() {
	sh -c 'echo $$ >"$0/login/cgroup.procs" && exec "$@"' "$DELEG" \
		setpriv --reuid="$RL_UID" --regid="$RL_GID" --clear-groups -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$RL_DIR" \
		XDG_RUNTIME_DIR="$RL_DIR/xdg" timeout 30 "$@"
}

@test "rootless: a delegated cgroup v2 subtree gets the container's cgroup and enforces its limits" {
	delegate_cgroup
	rl_update_config ".linux.cgroupsPath = \"/$DELEG_NAME/ctr\"
		| .linux.resources = {\"memory\": {\"limit\": 33554432}, \"pids\": {\"limit\": 20}}"
	rl_set_args sleep 60
	in_delegation "$RL_RUNTIME" run -d -b "$BUNDLE" rl9 </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1
	cat "$BATS_TEST_TMPDIR/out"
	run grep -c '^husk-runtime: warning:' "$BATS_TEST_TMPDIR/out"
	[ "$output" = 0 ]
	[ -d "$DELEG/ctr" ]
	[ "$(cat "$DELEG/ctr/memory.max")" = 33554432 ]
	[ "$(cat "$DELEG/ctr/pids.max")" = 20 ]
	pid=$(rl_husk state rl9 | grep -v '^husk-runtime:' | jq -r .pid)
	grep -qx "$pid" "$DELEG/ctr/cgroup.procs"
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" = "$RL_UID" ]
	in_delegation "$RL_RUNTIME" delete -f rl9
	[ ! -e "$DELEG/ctr" ]
	[ ! -e "$RL_DIR/xdg/husk/rl9" ]
}

@test "rootless: in a delegated subtree a process past the memory limit is OOM-killed and the cgroup removed" {
	delegate_cgroup
	rl_update_config ".linux.cgroupsPath = \"/$DELEG_NAME/ctr\"
		| .linux.resources = {\"memory\": {\"limit\": 33554432, \"swap\": 33554432}}"
	rl_set_args sh -c 'x=a; while :; do x="$x$x"; done'
	run in_delegation "$RL_RUNTIME" run -b "$BUNDLE" rl10
	echo "$output"
	[ "$status" -eq 137 ]
	[ "$(grep '^oom_kill ' "$DELEG/memory.events" | cut -d' ' -f2)" -ge 1 ]
	[ ! -e "$DELEG/ctr" ]
	[ ! -e "$RL_DIR/xdg/husk/rl10" ]
}
