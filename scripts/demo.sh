#!/bin/bash
# Builds a busybox bundle and runs it with husk-runtime: the README's demo.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
RT=$REPO/build/src/runtime/husk-runtime
B=$(mktemp -d /tmp/husk-demo.XXXXXX)
trap 'grep -F "$B/" /proc/self/mountinfo | awk "{print \$5}" | xargs -r -n1 umount -l; rm -rf "$B"' EXIT
. "$REPO/tests/integration/helpers.bash"
build_rootfs "$B/rootfs"
cd "$B"
"$RT" spec
script='echo "hello from $(hostname): PID $$, uid $(id -u), $(ls /proc | grep -c "^[0-9]") process(es) in sight"'
jq --arg s "$script" '.process.terminal = false | .process.args = ["sh", "-c", $s]' config.json >c && mv c config.json
"$RT" run -b "$B" "demo-$$" </dev/null
# and the engine, from its built-in busybox image (a private store, removed after)
export HUSK_STORAGE_ROOT=$B/store HUSK_RUN_ROOT=$B/run
"$REPO/build/src/engine/husk" run --rm busybox sh -c "$script"
