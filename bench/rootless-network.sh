#!/bin/bash
# bench/rootless-network.sh - what the rootless default network costs:
# `husk run --rm busybox true` as an ordinary user with its default network
# (pasta, podman 5's default; slirp4netns with HELPER=slirp4netns) vs
# --network none, in paired, interleaved rounds: the median of each, the
# difference and the ratio; and on a user network (its bridge in the
# rootless netns, made before the rounds), with pasta. A user of the bench's own (useradd, with its
# /etc/subuid range) and its store; everything removed after. Asserts
# nothing: exit 0 means the benchmark ran, 2 that setup failed.
#   PAIRS=20 WARMUP=3 [HELPER=slirp4netns] bench/rootless-network.sh
set -u
HB_NAME=rootless-network-bench
. "$(dirname "$0")/lib.sh"
PAIRS=${PAIRS:-20}
WARMUP=${WARMUP:-3}
HELPER=${HELPER:-pasta}
export HUSK_ENGINE=${HUSK_ENGINE:-$HB_REPO/build/src/engine/husk}
[ "$(id -u)" = 0 ] || hb_die "run as root (to make the bench's user)"
[ -x "$HUSK_ENGINE" ] || hb_die "no husk at $HUSK_ENGINE (build first)"
command -v useradd >/dev/null && command -v newuidmap >/dev/null ||
	hb_die "useradd and newuidmap (package uidmap) are needed"
command -v "$HELPER" >/dev/null || hb_die "$HELPER is not installed"

# rootless_user_make, as_user and rootless_user_remove: the tests' own
. "$HB_REPO/tests/integration/engine-helpers.bash"
trap 'rootless_user_remove' EXIT
trap 'exit 130' INT TERM
rootless_user_make hkbrl$$ $((1600000000 + ($$ % 1000) * 1000000))
if [ "$HELPER" != pasta ]; then
	# a PATH with the helper and no pasta
	mkdir "$RL_DIR/path"
	for p in newuidmap newgidmap "$HELPER"; do ln -s "$(command -v "$p")" "$RL_DIR/path/"; done
	export RL_PATH=$RL_DIR/path
fi

median() { tr ' ' '\n' | grep -v '^$' | grep -v NA | hb_stats | awk '{print $2}'; }

run_none() { as_user run --rm --network none busybox true; }
run_default() { as_user run --rm busybox true; }
USERNET=
if [ "$HELPER" = pasta ]; then
	as_user network create benchnet >/dev/null || hb_die "network create failed"
	USERNET=benchnet
fi
run_user() { [ -z "$USERNET" ] || as_user run --rm --network "$USERNET" busybox true; }
run_default || hb_die "a rootless husk run with the default network failed"
run_user || hb_die "a rootless husk run on a user network failed"
for _ in $(seq "$WARMUP"); do run_none; run_default; run_user; done >/dev/null 2>&1
T_NONE= T_DEF= T_USER=
for _ in $(seq "$PAIRS"); do
	T_NONE+="$(hb_timed_ms run_none || echo NA) "
	T_DEF+="$(hb_timed_ms run_default || echo NA) "
	[ -z "$USERNET" ] || T_USER+="$(hb_timed_ms run_user || echo NA) "
done
m_none=$(echo "$T_NONE" | median)
m_def=$(echo "$T_DEF" | median)
printf '%-44s %10s\n' "rootless husk run --rm, --network none" "$m_none ms"
printf '%-44s %10s\n' "rootless husk run --rm, default ($HELPER)" "$m_def ms"
echo "added by the default network: $(awk -v a="$m_def" -v b="$m_none" 'BEGIN{printf "%.2f", a-b}') ms" \
	"(ratio $(awk -v a="$m_def" -v b="$m_none" 'BEGIN{printf "%.3f", a/b}'))"
if [ -n "$USERNET" ]; then
	m_user=$(echo "$T_USER" | median)
	printf '%-44s %10s\n' "rootless husk run --rm, a user network" "$m_user ms"
	echo "added by a user network: $(awk -v a="$m_user" -v b="$m_none" 'BEGIN{printf "%.2f", a-b}') ms" \
		"(ratio $(awk -v a="$m_user" -v b="$m_none" 'BEGIN{printf "%.3f", a/b}'))"
fi
echo "$PAIRS rounds (median), $WARMUP warm-up"
