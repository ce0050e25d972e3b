#!/usr/bin/env bats
load helpers

setup() { skip_unless_root; setup_bundle; }

@test "run: exit code and output of the container process come back" {
	run_ctr smoke sh -c 'echo hello; exit 7'
	[ "$status" -eq 7 ]
	[ "$output" = hello ]
	[ ! -e "$HUSK_ROOT/smoke" ]
	[ -z "$(cgroup_dirs)" ]
}
