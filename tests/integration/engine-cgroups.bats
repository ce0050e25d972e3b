#!/usr/bin/env bats
# The engine's containers and their cgroups, on whichever hierarchy the
# host has (v1 here, pure v2 in the qemu lane): limits enforced, an OOM
# kill recorded, stats read, and no cgroup left once a container goes.
# Private store and run root per file.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

setup_file() { engine_setup_file; }
teardown_file() { engine_teardown_file; }

setup() { skip_unless_root; }

teardown() {
	[ "$(id -u)" = 0 ] || return 0
	engine_rm_all
	nothing_left
}

# The container's memory cgroup dir, from the host's side (v1: under the
# memory hierarchy, wherever it nests; v2: the unified tree).
memory_cgroup_of() {
	local id=$1
	find /sys/fs/cgroup -maxdepth 6 -type d -name "husk-$id" \
		-exec test -e '{}/memory.max' -o -e '{}/memory.limit_in_bytes' \; -print 2>/dev/null |
		head -1
}

@test "cgroups: a container past its memory limit is OOM-killed: 137, OOMKilled in inspect" {
	run hk run --name oom -m 8m busybox sh -c 'tail /dev/zero'
	[ "$status" -eq 137 ]
	run hk inspect oom
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0].State.OOMKilled' <<<"$output")" = true ]
	[ "$(jq -r '.[0].State.ExitCode' <<<"$output")" = 137 ]
	[ "$(jq -r '.[0].State.Status' <<<"$output")" = exited ]
	hk rm oom
}

@test "cgroups: a container killed otherwise is not marked OOMKilled" {
	hk run -d --name killed -m 64m busybox sleep 300
	hk kill killed
	run hk wait killed
	[ "$output" = 137 ]
	run hk inspect killed
	[ "$(jq -r '.[0].State.OOMKilled' <<<"$output")" = false ]
	hk rm killed
}

@test "cgroups: the limits are in the container's cgroup and the pids limit holds" {
	local id dir
	id=$(hk run -d -m 32m --pids-limit 8 busybox sleep 300)
	dir=$(memory_cgroup_of "$id")
	[ -n "$dir" ]
	if [ -e "$dir/memory.max" ]; then
		[ "$(cat "$dir/memory.max")" = 33554432 ]
		[ "$(cat "$dir/pids.max")" = 8 ]
	else
		[ "$(cat "$dir/memory.limit_in_bytes")" = 33554432 ]
		[ "$(cat /sys/fs/cgroup/pids/husk-"$id"/pids.max)" = 8 ]
	fi
	# sleep and this sh are two: at most 6 more
	run hk exec "$id" sh -c 'n=0; while [ $n -lt 12 ]; do sleep 30 & n=$((n+1)); done; wait'
	[ "$status" -ne 0 ]
	[[ "$output" == *"can't fork"* ]]
	hk rm -f "$id"
	[ -z "$(memory_cgroup_of "$id")" ]
}

@test "cgroups: stats reads memory, its limit and pids from the cgroup" {
	local id
	id=$(hk run -d -m 32m busybox sh -c 'sleep 300 & sleep 300 & wait')
	wait_for 10 sh -c "$HUSK_ENGINE stats --no-stream --format json $id | jq -e '.PIDs == \"3\"'"
	run hk stats --no-stream --format json "$id"
	[ "$status" -eq 0 ]
	[[ "$(jq -r .MemUsage <<<"$output")" =~ ^[0-9.]+[KMG]i?B\ /\ 32MiB$ ]]
	hk rm -f "$id"
}

@test "cgroups: stop and rm -f of running containers leave no cgroup" {
	local a b
	a=$(hk run -d busybox sleep 300)
	b=$(hk run -d busybox sleep 300)
	hk stop -t 1 "$a"
	[ -z "$(memory_cgroup_of "$a")" ]
	[ -n "$(memory_cgroup_of "$b")" ]
	hk rm -f "$b"
	[ -z "$(memory_cgroup_of "$b")" ]
	hk rm "$a"
}
