#!/usr/bin/env bats
# The core library as an engine uses it (tests/api/test-api.c): 20 containers
# held by one process through handles, with and without a second thread.
load helpers

setup() { skip_unless_root; }

@test "C API: 20 containers held at once through handles and pidfds, the caller left as it was" {
	# from the build the runtime under test comes from (build-asan too)
	local bin=${HUSK_RUNTIME%/src/runtime/husk-runtime}/tests/api/test-api
	[ -x "$bin" ] || skip "$bin is not built"
	command -v busybox >/dev/null || skip "busybox not installed"
	run timeout 600 "$bin"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ 1\.\.[1-9][0-9]* ]]
	! grep -q '^not ok' <<<"$output"
}
