#!/usr/bin/env bats
# The engine as an ordinary user with its own /etc/subuid range: every
# command runs as root in the user's own user namespace, joined through the
# pause process that holds it with the mount namespace of the overlays.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	command -v useradd >/dev/null || return 0
	command -v newuidmap >/dev/null || return 0
	rootless_user_make hkeng$$ $((1300000000 + ($$ % 1000) * 1000000))
}

teardown_file() { rootless_user_remove; }

setup() {
	skip_unless_root
	[ -n "${RL_USER:-}" ] || skip "useradd or newuidmap (package uidmap) is not installed"
}

pause_pid() { cut -d' ' -f1 "/tmp/husk-engine-$(id -u "$RL_USER")/pause.pid"; }

@test "rootless engine: run --rm as an ordinary user, root in its own user namespace" {
	run as_user run --rm busybox sh -c 'echo hello; id -u; cat /proc/self/uid_map'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = hello ]
	[ "${lines[1]}" = 0 ]
	# uid 0 is the user, 1.. its subordinate range
	local map
	map=$(echo "$output" | awk 'NF == 3 {print $1, $2, $3}')
	[ "$map" = "$(printf '0 %s 1\n1 %s 65536' "$(id -u "$RL_USER")" "$RL_START")" ]
	# the store is the user's own
	[ -f "$RL_DIR/home/.local/share/husk/images.json" ]
	[ "$(stat -c %U "$RL_DIR/home/.local/share/husk/images.json")" = "$RL_USER" ]
}

@test "rootless engine: run -d, ps, logs, exec, stop, rm, with a non-root user inside" {
	run as_user run -d -u 1000 --name bg busybox sh -c 'trap "exit 3" TERM; echo up; touch /tmp/mine; while true; do sleep 0.1; done'
	[ "$status" -eq 0 ]
	run as_user ps
	[[ "${lines[1]}" == *"Up "*"bg" ]]
	run as_user exec bg id -u
	[ "$output" = 1000 ]
	run as_user logs bg
	[ "$output" = up ]
	# the file the container's uid 1000 made is the subordinate uid's on the host
	local id
	id=$(as_user inspect bg | jq -r '.[0].Id')
	[ "$(stat -c %u "$RL_DIR/home/.local/share/husk/containers/$id/upper/tmp/mine")" = $((RL_START + 999)) ]
	# another command signals it: the same user namespace
	run as_user stop bg
	[ "$status" -eq 0 ]
	[ "$(as_user inspect bg | jq -r '.[0].State.ExitCode')" = 3 ]
	run as_user rm bg
	[ "$status" -eq 0 ]
	[ -z "$(as_user ps -aq)" ]
	[ ! -e "$RL_DIR/home/.local/share/husk/containers/$id" ]
}

@test "rootless engine: one pause process holds the namespaces; overlays live in its mount namespace" {
	as_user run -d --name ov busybox sleep 1000
	local pid id
	pid=$(pause_pid)
	[ "$(ps -o user= -p "$pid")" = "$RL_USER" ]
	[[ "$(ps -o args= -p "$pid")" == *"husk-monitor pause" ]]
	id=$(as_user inspect ov | jq -r '.[0].Id')
	# the overlay is in the user's mount namespace, not the host's
	grep -q "$id" "/proc/$pid/mountinfo"
	! grep -q "$id" /proc/self/mountinfo
	# a second command joins the same one
	as_user run --rm busybox true
	[ "$(pause_pid)" = "$pid" ]
	as_user rm -f ov
	! grep -q "$id" "/proc/$pid/mountinfo"
}

@test "rootless engine: limits without a delegated cgroup: a warning, not a failure" {
	run --separate-stderr as_user run --rm -m 64m busybox true
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"runs without resource limits"* ]]
}
