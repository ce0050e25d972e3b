#!/usr/bin/env bats
# --userns auto as root: each container in a user namespace of its own, its
# ids a range of the `containers` entry of /etc/subuid and /etc/subgid that
# no other container has, the image's layers seen as its root's through
# idmapped mounts, and commit, export and cp writing the ids it sees.
# Private store (in a dir others may search: the container's root mounts
# its rootfs) and run root per file.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

# Our own `containers` range when the machine has none, removed after.
OUR_RANGE=containers:1000000000:131072

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	engine_setup_file # ip_forward noted; the roots are set below
	export UNS_DIR
	UNS_DIR=$(mktemp -d /tmp/husk-userns.XXXXXX)
	chmod 711 "$UNS_DIR"
	export HUSK_STORAGE_ROOT="$UNS_DIR/storage" HUSK_RUN_ROOT="$UNS_DIR/run"
	export UNS_ADDED=
	if ! grep -q '^containers:' /etc/subuid || ! grep -q '^containers:' /etc/subgid; then
		sed -i '/^containers:/d' /etc/subuid /etc/subgid
		echo "$OUR_RANGE" >>/etc/subuid
		echo "$OUR_RANGE" >>/etc/subgid
		UNS_ADDED=1
	fi
	export UNS_BASE UNS_COUNT
	UNS_BASE=$(awk -F: '$1 == "containers" { print $2; exit }' /etc/subuid)
	UNS_COUNT=$(awk -F: '$1 == "containers" { print $3; exit }' /etc/subuid)
	# idmapped mounts need the store's filesystem to have them
	export UNS_SKIP= out
	if ! out=$(timeout 60 "$HUSK_ENGINE" run --rm --userns auto busybox true 2>&1) &&
		[[ "$out" == *"support idmapped mounts"* ]]; then
		UNS_SKIP="the store's filesystem has no idmapped mounts: $out"
	fi
}

teardown_file() {
	[ "$(id -u)" = 0 ] || return 0
	[ -z "${UNS_ADDED:-}" ] || sed -i "/^$OUR_RANGE\$/d" /etc/subuid /etc/subgid
	engine_teardown_file # the root's default bridge and chains
	rm -rf "$UNS_DIR"
}

setup() {
	skip_unless_root
	[ -z "$UNS_SKIP" ] || skip "$UNS_SKIP"
}

teardown() {
	[ "$(id -u)" = 0 ] || return 0
	engine_rm_all
	"$HUSK_ENGINE" rmi uns-commit >/dev/null 2>&1 || true
	nothing_left
}

# The host uid of a running container's init.
host_uid_of() {
	local pid
	pid=$(hk inspect "$1" | jq -r '.[0].State.Pid')
	awk '/^Uid:/ { print $2 }' "/proc/$pid/status"
}

@test "userns: root in the container is a host id of the containers range; the image's files are its root's" {
	run hk run --rm --userns auto busybox sh -c \
		'id -u; cat /proc/self/uid_map; stat -c %u:%g /bin/busybox /etc; touch /new && stat -c %u /new'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "$(echo ${lines[1]})" = "0 $UNS_BASE 65536" ]
	[ "${lines[2]}" = 0:0 ]
	[ "${lines[3]}" = 0:0 ]
	[ "${lines[4]}" = 0 ]
	hk run -d --name seen --userns auto busybox sleep 300
	[ "$(host_uid_of seen)" = "$UNS_BASE" ]
	run hk inspect seen
	[ "$(jq -r '.[0].HostConfig.UsernsMode' <<<"$output")" = auto ]
	# a container without it is the host's root
	hk run -d --name plain busybox sleep 300
	[ "$(host_uid_of plain)" = 0 ]
}

@test "userns: two containers get ranges that do not overlap; a removed one's range is taken again" {
	hk run -d --name a --userns auto busybox sleep 300
	hk run -d --name b --userns auto:size=1000 busybox sleep 300
	[ "$(host_uid_of a)" = "$UNS_BASE" ]
	[ "$(host_uid_of b)" = "$((UNS_BASE + 65536))" ]
	run hk exec b cat /proc/self/uid_map
	[ "$(echo $output)" = "0 $((UNS_BASE + 65536)) 1000" ]
	# a signal from one to the other's processes is refused
	run hk exec a kill -0 1
	[ "$status" -eq 0 ]
	hk rm -f a
	hk run -d --name c --userns auto busybox sleep 300
	[ "$(host_uid_of c)" = "$UNS_BASE" ]
}

@test "userns: when the range is used up, run fails with one line and leaves nothing" {
	[ -n "$UNS_ADDED" ] || skip "the machine's own containers range is not the test's"
	hk run -d --name a --userns auto busybox sleep 300
	hk run -d --name b --userns auto busybox sleep 300
	run hk run -d --name c --userns auto busybox true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no free range of 65536 ids"* ]]
	run hk ps -a -q
	[ "${#lines[@]}" -eq 2 ]
	run hk ps -a --format json
	[[ "$output" != *'"c"'* ]]
}

@test "userns: exec, stop and start keep the range; /etc/hosts, a new volume and a tmpfs are its root's" {
	hk run -d --name k --userns auto -v unsvol:/data --tmpfs /scratch busybox sleep 300
	run hk exec k sh -c 'echo 10.1.1.1 x >>/etc/hosts && touch /data/f /scratch/f && stat -c %u /data/f /scratch/f'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '0\n0')" ]
	hk stop -t 1 k
	hk start k
	[ "$(host_uid_of k)" = "$UNS_BASE" ]
	# the volume's file is there; /etc/hosts, made again at the start (as
	# Docker's), is still its root's
	run hk exec k stat -c %u /data/f /etc/hosts
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '0\n0')" ]
	hk rm -f k
	hk volume rm unsvol
}

@test "userns: commit, export and cp see the container's own ids, not the host's" {
	hk run -d --name w --userns auto busybox sleep 300
	hk exec w sh -c 'echo x >/tmp/made && chown 1000:1001 /tmp/made && rm /bin/arch'
	hk commit w uns-commit
	run hk run --rm uns-commit sh -c 'stat -c %u:%g /tmp/made /bin/busybox; test ! -e /bin/arch'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1000:1001\n0:0')" ]
	run bash -c "'$HUSK_ENGINE' export w | tar -tvf - | grep -E ' (tmp/made|bin/busybox)$'"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *" 0/0 "* ]]
	[[ "${lines[1]}" == *" 1000/1001 "* ]]
	echo hi >"$BATS_TEST_TMPDIR/in"
	hk cp "$BATS_TEST_TMPDIR/in" w:/tmp/in
	run hk exec w stat -c %u:%g /tmp/in
	[ "$output" = 0:0 ]
	hk cp -a w:/tmp/made "$BATS_TEST_TMPDIR/out"
	[ "$(stat -c %u:%g "$BATS_TEST_TMPDIR/out")" = 1000:1001 ]
	run hk diff w
	[[ "$output" == *"D /bin/arch"* ]]
	[[ "$output" == *"A /tmp/made"* ]]
}

@test "userns: the container dir is its root's group's alone; the store's dirs are only searchable" {
	local id dir
	id=$(hk run -d --userns auto busybox sleep 300)
	dir="$HUSK_STORAGE_ROOT/containers/$id"
	[ "$(stat -c %a:%u:%g "$dir")" = "710:0:$UNS_BASE" ]
	[ "$(stat -c %a "$HUSK_STORAGE_ROOT")" = 711 ]
	[ "$(stat -c %a "$HUSK_STORAGE_ROOT/containers")" = 711 ]
	[ "$(stat -c %a "$dir/config.json")" = 600 ]
	[ "$(stat -c %u "$dir/upper")" = "$UNS_BASE" ]
}

@test "userns: bad input: an unknown mode, a bad size, no containers range, a closed parent: 125, one line, nothing left" {
	run hk run --rm --userns private busybox true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"--userns \`private\`"* ]]
	run hk run --rm --userns auto:size=0 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"size=N"* ]]
	if [ -n "$UNS_ADDED" ]; then
		sed -i "/^$OUR_RANGE\$/d" /etc/subuid
		run hk run --rm --userns auto busybox true
		echo "$OUR_RANGE" >>/etc/subuid
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"need a range for \`containers\`"* ]]
	fi
	local closed
	closed=$(mktemp -d "$UNS_DIR/closed.XXXXXX")
	chmod 700 "$closed"
	run env HUSK_STORAGE_ROOT="$closed/storage" HUSK_RUN_ROOT="$closed/run" \
		timeout 60 "$HUSK_ENGINE" run --rm --userns auto busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"is not searchable by others"* ]]
	[ -z "$(ls -A "$closed/storage/containers")" ]
	run hk ps -a -q
	[ -z "$output" ]
}
