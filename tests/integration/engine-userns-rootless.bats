#!/usr/bin/env bats
# Rootless --userns keep-id and --userns auto: an ordinary user's containers
# in user namespaces of their own inside the user's (rootless.h). The image's
# layers are seen through id-shifted copies (shifted/<key>/<layer> in the
# store: an ordinary user may not idmap a mount of the host's file system),
# built whole under a temporary name, shared per mapping, removed by rmi and
# system prune once no container uses them.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	engine_setup_file
	command -v useradd >/dev/null || return 0
	command -v newuidmap >/dev/null || return 0
	rootless_user_make hkuns$$ $((1500000000 + ($$ % 1000) * 1000000))
	export RL_STORE="$RL_DIR/home/.local/share/husk" RL_UID RL_GID
	RL_UID=$(id -u "$RL_USER")
	RL_GID=$(id -g "$RL_USER")
	# the store made; its parents searchable by others, as podman's must be
	# for a container whose root is not the user
	as_user info >/dev/null
	chmod o+x "$RL_DIR/home/.local" "$RL_DIR/home/.local/share"
}

teardown_file() {
	rootless_user_remove
	engine_teardown_file
}

setup() {
	skip_unless_root
	[ -n "${RL_USER:-}" ] || skip "useradd or newuidmap (package uidmap) is not installed"
}

pause_pid() { cut -d' ' -f1 "/tmp/husk-engine-$RL_UID/pause.pid"; }

# Nothing of the user's containers left: no container, no overlay in the
# user's mount namespace.
rl_nothing_left() {
	local left
	left=$(as_user ps -aq)
	[ -z "$left" ] || { echo "containers left: $left"; return 1; }
	left=$(grep -F "$RL_STORE/containers" "/proc/$(pause_pid)/mountinfo" || true)
	[ -z "$left" ] || { echo "mounts left: $left"; return 1; }
}

teardown() {
	[ -n "${RL_USER:-}" ] || return 0
	as_user rm -f $(as_user ps -aq --no-trunc 2>/dev/null) >/dev/null 2>&1 || true
	as_user rmi uns-big uns-kid >/dev/null 2>&1 || true
	rl_nothing_left
	rm -rf "$RL_DIR/data"
}

@test "rootless userns: keep-id: the user's uid inside, the image's files root's, a passwd entry, the bind-mounted dir's files the user's" {
	mkdir "$RL_DIR/data"
	chown "$RL_USER:$RL_USER" "$RL_DIR/data"
	run as_user run --rm --userns keep-id -v "$RL_DIR/data:/data" busybox sh -c \
		'id -u; id -g; stat -c "%u %g" /bin/busybox /bin; grep "^[^:]*:[^:]*:$(id -u):" /etc/passwd; echo "HOME=$HOME"; touch /data/mine; cat /proc/self/uid_map'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$RL_UID" ]
	[ "${lines[1]}" = "$RL_GID" ]
	[ "${lines[2]}" = "0 0" ]
	[ "${lines[3]}" = "0 0" ]
	[ "${lines[4]}" = "$RL_USER:*:$RL_UID:$RL_GID:$RL_USER:$RL_DIR/home:/bin/sh" ]
	[ "${lines[5]}" = "HOME=$RL_DIR/home" ]
	# podman's map: 0..U-1 → 1..U, U → the user (0 of its namespace), the rest as is
	local map
	map=$(echo "$output" | awk 'NF == 3 {print $1, $2, $3}')
	[ "$map" = "$(printf '0 1 %s\n%s 0 1\n%s %s %s' "$RL_UID" "$RL_UID" $((RL_UID + 1)) $((RL_UID + 1)) $((65536 - RL_UID)))" ]
	# the file the container's user made is the user's on the host
	[ "$(stat -c '%u %g' "$RL_DIR/data/mine")" = "$RL_UID $RL_GID" ]
	# -u still wins
	run as_user run --rm --userns keep-id -u 0 busybox id -u
	[ "$output" = 0 ]
}

@test "rootless userns: keep-id:uid=N,gid=N maps the user to N; commit, export and cp -a keep the container's owners" {
	mkdir "$RL_DIR/data"
	chown "$RL_USER:$RL_USER" "$RL_DIR/data"
	run as_user run --name kid --userns keep-id:uid=2000,gid=3000 -v "$RL_DIR/data:/data" busybox sh -c \
		'id -u; id -g; stat -c "%u %g" /bin/busybox; mkdir /tmp/made; echo hi >/tmp/made/f; touch /data/mine'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 2000 ]
	[ "${lines[1]}" = 3000 ]
	[ "${lines[2]}" = "0 0" ]
	[ "$(stat -c '%u %g' "$RL_DIR/data/mine")" = "$RL_UID $RL_GID" ]
	# commit writes the ids the container saw
	as_user commit kid uns-kid >/dev/null
	run as_user run --rm uns-kid stat -c '%u %g' /tmp/made/f /bin/busybox
	[ "${lines[0]}" = "2000 3000" ]
	[ "${lines[1]}" = "0 0" ]
	run as_user export kid
	[ "$status" -eq 0 ]
	[ "$(as_user export kid | tar tvf - tmp/made/f | awk '{print $2}')" = 2000/3000 ]
	# cp -a out: the container's ids, as its user's namespace numbers them
	run as_user cp -a kid:/tmp/made "$RL_DIR/data/out"
	[ "$status" -eq 0 ]
	[ "$(stat -c %u "$RL_DIR/data/out/f")" = $((RL_START + 1999)) ]
}

@test "rootless userns: auto gives two containers disjoint ranges of the user's ids; the image's files their root's" {
	as_user run -d --name a1 --userns auto:size=1000 busybox sleep 1000
	as_user run -d --name a2 --userns auto:size=1000 busybox sleep 1000
	run as_user exec a1 cat /proc/self/uid_map
	[ "$(echo $output)" = "0 1 1000" ]
	run as_user exec a2 cat /proc/self/uid_map
	[ "$(echo $output)" = "0 1001 1000" ]
	run as_user exec a2 sh -c 'id -u; stat -c "%u %g" /bin/busybox /etc/passwd; touch /tmp/x'
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = "0 0" ]
	[ "${lines[2]}" = "0 0" ]
	# on the host: the user's subordinate id 1001 (its namespace's 1001)
	local id
	id=$(as_user inspect a2 | jq -r '.[0].Id')
	[ "$(stat -c %u "$RL_STORE/containers/$id/upper/tmp/x")" = $((RL_START + 1000)) ]
	[ "$(as_user inspect a2 | jq -r '.[0].HostConfig.UsernsMode')" = auto ]
	# one copy per mapping: two of the layer
	[ "$(ls "$RL_STORE/shifted" | wc -l)" -ge 2 ]
}

@test "rootless userns: copies are shared per mapping, counted by df, removed by rmi and prune once unused" {
	# the other tests' copies gone first
	as_user system prune -f >/dev/null
	[ -z "$(ls "$RL_STORE/shifted")" ]
	as_user run --name big busybox sh -c 'mkdir /many; i=0; while [ $i -lt 300 ]; do echo $i >/many/f$i; i=$((i + 1)); done'
	as_user commit big uns-big >/dev/null
	as_user rm big
	local before after keys
	before=$(as_user system df | awk '$1 == "Images" {print $4}')
	as_user run --name k1 --userns keep-id uns-big true
	as_user run --name k2 --userns keep-id uns-big true
	# the same mapping: one dir of copies, one copy per layer
	keys=$(ls "$RL_STORE/shifted")
	[ "$(echo "$keys" | wc -l)" -eq 1 ]
	[ "$(find "$RL_STORE/shifted/$keys" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 3 ] # init + 2 layers
	[ "$(find "$RL_STORE/shifted/$keys" -path '*/many/*' -type f | wc -l)" -eq 300 ]
	after=$(as_user system df | awk '$1 == "Images" {print $4}')
	[ "$before" != "$after" ]
	# in use: rmi of the image is refused, nothing removed
	run as_user rmi uns-big
	[ "$status" -ne 0 ]
	[ -n "$(ls "$RL_STORE/shifted")" ]
	as_user rm k1 k2
	as_user rmi uns-big
	[ -z "$(ls "$RL_STORE/shifted")" ]
	# prune too: the image stays (tagged), its copies go with the container
	as_user run --rm --userns keep-id busybox true
	[ -n "$(ls "$RL_STORE/shifted")" ]
	as_user system prune -f >/dev/null
	[ -z "$(ls "$RL_STORE/shifted")" ]
}

@test "rootless userns: kill -9 during the copy of a layer: the half copy is never used, the next run copies it whole" {
	as_user run --name big busybox sh -c 'mkdir /many; i=0; while [ $i -lt 3000 ]; do echo $i >/many/f$i; i=$((i + 1)); done'
	as_user commit big uns-big >/dev/null
	as_user rm big
	setpriv --reuid "$RL_USER" --regid "$RL_USER" --init-groups env -i HOME="$RL_DIR/home" \
		PATH=/usr/bin:/bin "$RL_DIR/bin/husk" run --rm --userns keep-id uns-big true 3>&- &
	local pid=$! tmp copier n=0
	until tmp=$(compgen -G "$RL_STORE/shifted/*/.tmp-*"); do
		n=$((n + 1))
		[ $n -lt 100000 ] || break
	done
	[ -n "$tmp" ] || skip "the copy was over before it was seen"
	# the copying process is named in the temporary dir's name
	copier=${tmp##*-}
	kill -9 "$copier" "$pid" 2>/dev/null || true
	wait "$pid" || true
	# the half copy stays under its temporary name: no layer's name has it
	[ -d "$tmp" ]
	[ "$(find "$tmp" -type f | wc -l)" -lt 3000 ]
	[ -z "$(grep -F ".tmp-" "/proc/$(pause_pid)/mountinfo")" ]
	as_user rm -f $(as_user ps -aq) >/dev/null 2>&1 || true
	run as_user run --rm --userns keep-id uns-big sh -c 'ls /many | wc -l'
	[ "$status" -eq 0 ]
	[ "$output" = 3000 ]
	# the leftover goes with the next sweep
	as_user system prune -f >/dev/null
	[ -z "$(compgen -G "$RL_STORE/shifted/*/.tmp-*")" ]
}

@test "rootless userns: bad input: options, too few ids, a closed parent, keep-id as root: 125, one line, nothing left" {
	run as_user run --rm --userns keep-id:size=3 busybox true
	one_line_125
	[[ "$output" == *"keep-id takes uid=N,gid=N"* ]]
	run as_user run --rm --userns keep-id:uid=x busybox true
	one_line_125
	# the user has itself and 65536 subordinate ids
	run as_user run --rm --userns keep-id:uid=70000 busybox true
	one_line_125
	[[ "$output" == *"too few to map it"* ]]
	run as_user run --rm --userns auto:size=70000 busybox true
	one_line_125
	[[ "$output" == *"no free range of 70000 ids"* ]]
	chmod o-x "$RL_DIR/home/.local/share"
	run as_user run --rm --userns auto busybox true
	chmod o+x "$RL_DIR/home/.local/share"
	one_line_125
	[[ "$output" == *"is not searchable by others"* ]]
	rl_nothing_left
	# as root: refused (the container's ids are the host's already)
	run hk run --rm --userns keep-id busybox true
	one_line_125
	[[ "$output" == *"only rootless"* ]]
	nothing_left
}
