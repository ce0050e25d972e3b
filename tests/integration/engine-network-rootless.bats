#!/usr/bin/env bats
# Rootless networking as podman 5 has it: the default network is pasta's
# (slirp4netns' without pasta, none without either); user-defined networks
# live in one rootless netns per user, joined to the outside by its pasta,
# with husk's own bridge, veths, addresses and nftables rules in it: names
# resolve between containers, -p is forwarded by a pasta of the
# container's into it and DNATed there. Traffic goes only to the host's
# loopback and to a netns the test makes (a server behind a veth). After
# each test: no pasta of the user's, no netns file or mount, no record.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	command -v useradd >/dev/null && command -v newuidmap >/dev/null || return 0
	rootless_user_make hkrln$$ $((1700000000 + ($$ % 1000) * 1000000))
	export RUN_DIR=/tmp/husk-engine-$(id -u "$RL_USER")
	# a server in a netns of the test's, behind a veth from the host
	export SRV_NS=hkrlsrv$$ SRV_IF=hkrls$$ SRV_NET=10.199.$(($$ % 250))
	ip netns add "$SRV_NS"
	ip link add "$SRV_IF" type veth peer name eth0 netns "$SRV_NS"
	ip addr add "$SRV_NET.1/30" dev "$SRV_IF"
	ip link set "$SRV_IF" up
	ip -n "$SRV_NS" addr add "$SRV_NET.2/30" dev eth0
	ip -n "$SRV_NS" link set eth0 up
	ip -n "$SRV_NS" link set lo up
	mkdir -p "$BATS_FILE_TMPDIR/www"
	echo from-test-netns >"$BATS_FILE_TMPDIR/www/index.html"
	ip netns exec "$SRV_NS" busybox httpd -p 8080 -h "$BATS_FILE_TMPDIR/www"
	export SRV_PID
	SRV_PID=$(ip netns pids "$SRV_NS" | head -1)
}

teardown_file() {
	[ "$(id -u)" = 0 ] || return 0
	rootless_user_remove
	[ -z "${SRV_PID:-}" ] || kill "$SRV_PID" 2>/dev/null || true
	ip link del "${SRV_IF:-none}" 2>/dev/null || true
	ip netns del "${SRV_NS:-none}" 2>/dev/null || true
}

setup() {
	skip_unless_root
	[ -n "${RL_USER:-}" ] || skip "useradd or newuidmap (package uidmap) is not installed"
	setpriv --reuid "$RL_USER" --regid "$RL_USER" --init-groups test -r /dev/net/tun -a -w /dev/net/tun ||
		skip "/dev/net/tun is not open to users here: no tap device for pasta or slirp4netns"
	command -v pasta >/dev/null || skip "pasta (package passt) is not installed"
}

fetch() { curl -fsS --max-time 2 "$1"; }

pause_pid() { cut -d' ' -f1 "$RUN_DIR/pause.pid"; }

# Nothing of the user's networks left: no pasta or slirp4netns of the user's
# (live ones), no netns file, record or mount of them, no endpoint.
rl_net_nothing_left() {
	local left
	left=$(ps -o pid=,stat=,comm= -u "$RL_USER" | awk '$2 !~ /Z/ && $3 ~ /^(pasta|passt|slirp4netns)/')
	[ -z "$left" ] || { echo "helpers left: $left"; return 1; }
	left=$(ls "$RUN_DIR/net/ns" "$RUN_DIR/net/endpoints" 2>/dev/null | grep -v -e ':$' -e '^$' || true)
	[ -z "$left" ] || { echo "netns or endpoint files left: $left"; return 1; }
	[ ! -e "$RUN_DIR/net/rootless-netns" ] || { echo "rootless netns left"; return 1; }
	[ ! -e "$RUN_DIR/net/rootless-netns.json" ] || { echo "rootless netns record left"; return 1; }
	if [ -f "$RUN_DIR/pause.pid" ] && [ -e "/proc/$(pause_pid)" ]; then
		left=$(grep -e "$RUN_DIR/net/" "/proc/$(pause_pid)/mountinfo" || true)
		[ -z "$left" ] || { echo "mounts left: $left"; return 1; }
	fi
}

teardown() {
	[ "$(id -u)" = 0 ] && [ -n "${RL_USER:-}" ] || return 0
	as_user rm -f $(as_user ps -aq --no-trunc 2>/dev/null) >/dev/null 2>&1 || true
	as_user network prune >/dev/null 2>&1 || true
	as_user system prune -f >/dev/null 2>&1 || true
	wait_for 5 rl_net_nothing_left
	rl_net_nothing_left
}

@test "rootless network: the default is pasta's: a container reaches a server in the test's netns; --network none stays lo alone" {
	run as_user run --rm busybox wget -qO- "http://$SRV_NET.2:8080/"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$output" = from-test-netns ]
	run as_user create --name d busybox true
	[ "$(as_user inspect d | jq -r '.[0].HostConfig.NetworkMode')" = bridge ]
	as_user rm d
	# none: no helper, lo alone
	run as_user run --rm --network none busybox ls /sys/class/net
	[ "$output" = lo ]
	run as_user run --rm --network none busybox wget -T 2 -qO- "http://$SRV_NET.2:8080/"
	[ "$status" -ne 0 ]
}

@test "rootless network: the default without pasta is slirp4netns', without either none" {
	command -v slirp4netns >/dev/null || skip "slirp4netns is not installed"
	local p
	mkdir -p "$RL_DIR/slirp" "$RL_DIR/neither"
	for p in newuidmap newgidmap slirp4netns; do ln -sf "$(command -v $p)" "$RL_DIR/slirp/"; done
	for p in newuidmap newgidmap; do ln -sf "$(command -v $p)" "$RL_DIR/neither/"; done
	RL_PATH=$RL_DIR/slirp run as_user run --rm busybox wget -qO- "http://$SRV_NET.2:8080/"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$output" = from-test-netns ]
	RL_PATH=$RL_DIR/neither run as_user run --rm busybox ls /sys/class/net
	[ "$status" -eq 0 ]
	[ "$output" = lo ]
}

@test "rootless network: a user network: two containers talk by name, go out, -p is fetched on the host's 127.0.0.1; rm and network rm leave nothing" {
	run as_user network create appnet
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	# made on first use, not by create
	[ ! -e "$RUN_DIR/net/rootless-netns" ]
	run as_user run -d --name web --network appnet -p 127.0.0.1:18191:80 busybox sh -c \
		'mkdir -p /www && echo rootless-web >/www/index.html && exec httpd -f -p 80 -h /www'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	local pasta fwd id
	pasta=$(jq .Pasta "$RUN_DIR/net/rootless-netns.json")
	grep -q rootless-netns "/proc/$pasta/cmdline"
	id=$(as_user inspect web | jq -r '.[0].Id')
	fwd=$(jq .Pasta "$RUN_DIR/net/endpoints/$id.json")
	grep -q 18191 "/proc/$fwd/cmdline"
	[[ "$(as_user inspect web | jq -r '.[0].NetworkSettings.Networks.appnet.IPAddress')" == 10.* ]]
	# by name, and out through the rootless netns's pasta
	run as_user run --rm --network appnet busybox sh -c \
		"wget -qO- http://web/ && wget -qO- http://$SRV_NET.2:8080/"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$output" = "rootless-web"$'\n'"from-test-netns" ]
	wait_for 5 fetch http://127.0.0.1:18191/
	[ "$(fetch http://127.0.0.1:18191/)" = rootless-web ]
	run as_user port web
	[ "$output" = "80/tcp -> 127.0.0.1:18191" ]
	# busy while used; the forwarder goes with its container, the
	# rootless netns with its last network
	run as_user network rm appnet
	[ "$status" -eq 125 ]
	as_user rm -f web
	[ ! -e "/proc/$fwd" ] || ! grep -qs 18191 "/proc/$fwd/cmdline"
	run ! fetch http://127.0.0.1:18191/
	grep -q rootless-netns "/proc/$pasta/cmdline"
	as_user network rm appnet
	wait_for 5 sh -c "! grep -qs rootless-netns /proc/$pasta/cmdline"
	wait_for 5 rl_net_nothing_left
}

@test "rootless network: husk killed while it makes the rootless netns: the next run heals it, system prune removes it" {
	local path pasta
	# pasta, when it is the rootless netns's: the husk that forked it
	# killed once it is recorded
	path=$(helper_killer pasta "$RUN_DIR/net/rootless-netns.json" '*rootless-netns*')
	as_user network create killnet
	RL_PATH=$path run as_user run -d --name k1 --network killnet busybox sleep 100
	[ "$status" -ne 0 ]
	# half made: the netns bound, its pasta recorded (not ready) and alive
	[ -e "$RUN_DIR/net/rootless-netns" ]
	jq -e '.Ready == false' "$RUN_DIR/net/rootless-netns.json"
	pasta=$(jq .Pasta "$RUN_DIR/net/rootless-netns.json")
	wait_for 5 grep -qs rootless-netns "/proc/$pasta/cmdline"
	# the next command that needs it undoes it and makes it again
	run as_user run --rm --network killnet busybox wget -qO- "http://$SRV_NET.2:8080/"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$output" = from-test-netns ]
	! grep -qs rootless-netns "/proc/$pasta/cmdline"
	jq -e '.Ready == true' "$RUN_DIR/net/rootless-netns.json"
	# killed once more: system prune alone removes it all
	as_user rm -f k1 >/dev/null 2>&1 || true
	as_user system prune -f >/dev/null
	[ ! -e "$RUN_DIR/net/rootless-netns" ]
	RL_PATH=$path run as_user run -d --name k2 --network killnet busybox sleep 100
	[ "$status" -ne 0 ]
	pasta=$(jq .Pasta "$RUN_DIR/net/rootless-netns.json")
	as_user system prune -f
	! grep -qs rootless-netns "/proc/$pasta/cmdline"
	# a killed pasta may still be exiting
	wait_for 5 rl_net_nothing_left
	[ -z "$(as_user ps -aq)" ]
}

@test "rootless network: a container with a user namespace of its own (--userns auto) on the default network: no netns sysctl, exec joins its netns" {
	# the container's root reaches its rootfs below the store
	mkdir -p "$RL_DIR/home/.local/share"
	chown "$RL_USER:$RL_USER" "$RL_DIR/home/.local" "$RL_DIR/home/.local/share"
	chmod o+x "$RL_DIR/home/.local" "$RL_DIR/home/.local/share"
	run as_user run -d --name u1 --userns auto:size=1000 busybox sleep 1000
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run as_user exec u1 sh -c "cat /proc/self/uid_map; wget -qO- http://$SRV_NET.2:8080/"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(echo ${lines[0]})" = "0 1 1000" ]
	[ "${lines[1]}" = from-test-netns ]
	as_user rm -f u1
}

@test "rootless network: a UDP port published on a user network answers on the host's 127.0.0.1" {
	install -m 755 "$REPO/build/tests/integration/tools/udp-echo" "$RL_DIR/bin/"
	as_user network create udpnet
	run as_user run -d --name u --network udpnet -p 127.0.0.1:15391:5353/udp \
		-v "$RL_DIR/bin/udp-echo:/udp-echo:ro" busybox /udp-echo serve 5353 rl
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	wait_for 5 "$RL_DIR/bin/udp-echo" send 127.0.0.1 15391 ping
	run "$RL_DIR/bin/udp-echo" send 127.0.0.1 15391 ping
	# DNATed to the container, from the rootless netns's side of its bridge
	[[ "$output" == "FROM 10."*" ping rl" ]] || { echo "$output"; false; }
	as_user rm -f u
	run "$RL_DIR/bin/udp-echo" send 127.0.0.1 15391 ping
	[ "$status" -ne 0 ]
}
