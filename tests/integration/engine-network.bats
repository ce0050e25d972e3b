#!/usr/bin/env bats
# Container networks (the bridge driver): containers on one network talk by
# name, published TCP and UDP ports are reached on 127.0.0.1, on the
# gateway, from outside (a netns of the test's: the server sees its address)
# and from a container (hairpin); networks are isolated, an internal one has
# no way out; none, host and container: modes; connect and disconnect; 30
# containers; address reuse; bad input leaves nothing; a husk killed in the
# middle of the set-up leaves nothing after rm -f. After each test: no veth
# of husk's, no bridge of a removed network, no DNAT rule left. Private
# store and run root; subnets in 10.90.x; everything removed in teardown.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

UDP_ECHO=$REPO/build/tests/integration/tools/udp-echo

setup_file() {
	engine_setup_file
	export NS=hknt$$ NSV=hkntv$$
}

teardown_file() { engine_teardown_file; }

setup() {
	skip_unless_root
	command -v nft >/dev/null || skip "nft (package nftables) is not installed"
	ip link add hkprobe$$ type bridge 2>/dev/null || skip "no bridge support in this kernel"
	ip link del hkprobe$$
}

teardown() {
	[ "$(id -u)" = 0 ] || return 0
	local ids n bridges f
	[ -z "${BG_PID:-}" ] || { kill "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null || true; }
	[ -z "${BRNF:-}" ] || echo "$BRNF" >/proc/sys/net/bridge/bridge-nf-call-iptables
	nft delete table ip "hkinj$$" 2>/dev/null || true
	ip netns del "hkns$$" 2>/dev/null || true
	ip netns del "hkns2$$" 2>/dev/null || true
	ip netns del "hkns3$$" 2>/dev/null || true
	rootless_user_remove
	for f in ${HELD:-}; do umount "$f" 2>/dev/null || true; done
	HELD=
	ids=$("$HUSK_ENGINE" ps -aq --no-trunc 2>/dev/null || true)
	echo "$ids" >>"$BATS_FILE_TMPDIR/ids"
	bridges=$(own_bridges)
	[ -z "$ids" ] || timeout 60 "$HUSK_ENGINE" rm -f $ids >/dev/null 2>&1 || true
	for n in $("$HUSK_ENGINE" network ls 2>/dev/null | awk 'NR > 1 {print $2}'); do
		timeout 20 "$HUSK_ENGINE" network rm "$n" >/dev/null 2>&1 || true
	done
	engine_net_remove
	rm -f "$HUSK_STORAGE_ROOT/networks/bridge.json"
	ip netns del "$NS" 2>/dev/null || true
	ip link del "$NSV" 2>/dev/null || true
	nothing_left
	net_nothing_left $bridges
}

# The bridges of this root's networks (never another root's: the user's
# own husk may run beside the tests).
own_bridges() {
	local n
	for n in $("$HUSK_ENGINE" network ls -q 2>/dev/null); do
		"$HUSK_ENGINE" network inspect "$n" 2>/dev/null |
			jq -r '.[0].Options["com.docker.network.bridge.name"]'
	done
}

# The veths of this file's containers (hkv<id:11><slot>).
our_veths() {
	local id
	for id in $(sort -u "$BATS_FILE_TMPDIR/ids" 2>/dev/null); do
		ip -o link show | grep -oE "hkv${id:0:11}[0-9]+" || true
	done
}
no_veth() { [ -z "$(our_veths)" ]; }

# No veth of this file's containers: an exited container's goes with its
# netns, which the kernel removes a moment after (not husk: that would
# wait for it).
no_veth_left() {
	wait_for 5 no_veth || { echo "veths left: $(our_veths)"; return 1; }
}

# net_nothing_left BRIDGE...: none of BRIDGES (the removed networks') nor
# their chains, no veth of ours, no endpoint.
net_nothing_left() {
	local b left
	for b in "$@"; do
		! ip link show "$b" >/dev/null 2>&1 || { echo "bridge left: $b"; return 1; }
		! nft list chain ip husk "$b-pre" >/dev/null 2>&1 || { echo "chains left: $b"; return 1; }
	done
	no_veth_left
	left=$(ls -A "$HUSK_RUN_ROOT/net/endpoints" 2>/dev/null || true)
	[ -z "$left" ] || { echo "endpoints left: $left"; return 1; }
}

# No DNAT rule (no published port) in this root's chains and no veth of
# this root's while containers are gone but networks remain.
no_ports_left() {
	local b ids
	ids=$("$HUSK_ENGINE" ps -aq --no-trunc 2>/dev/null || true)
	[ -z "$ids" ] || echo "$ids" >>"$BATS_FILE_TMPDIR/ids"
	for b in $(own_bridges); do
		if nft list chain ip husk "$b-pre" 2>/dev/null | grep -q 'dnat to'; then
			echo "DNAT left on $b"
			return 1
		fi
		wait_for 5 no_port_on "$b" || { echo "ports left on $b"; return 1; }
	done
	no_veth_left
}

no_port_on() { [ -z "$(ip -o link show master "$1" 2>/dev/null)" ]; }

ip_of() { hk inspect "$1" | jq -r ".[0].NetworkSettings.Networks[\"${2:-}\"].IPAddress // .[0].NetworkSettings.IPAddress"; }

# A netns of the test's outside every husk network: 10.90.250.2, its host
# end 10.90.250.1.
outside_ns() {
	ip netns add "$NS"
	ip link add "$NSV" type veth peer name eth0 netns "$NS"
	ip addr add 10.90.250.1/30 dev "$NSV"
	ip link set "$NSV" up
	ip -n "$NS" addr add 10.90.250.2/30 dev eth0
	ip -n "$NS" link set eth0 up
	ip -n "$NS" link set lo up
	ip -n "$NS" route add default via 10.90.250.1
}

# web NETWORK NAME [OPTIONS...]: busybox httpd on port 80, logging its
# clients.
web() {
	hk run -d --name "$2" --network "$1" "${@:3}" busybox sh -c \
		'mkdir -p /www && echo "hi from $(hostname)" >/www/index.html && exec httpd -f -vv -p 80 -h /www'
}

# (Debian's busybox 1.35 wget crashes with -T: curl on the host, timeout(1)
# around wget in the containers)
fetch() { curl -fsS --max-time 2 "$1"; }

@test "network: the default bridge is made on first use; two containers on a network talk by name" {
	run hk run --rm --network bridge busybox sh -c 'ip -4 -o addr show eth0; ip route'
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet 10.89."*"/24"* ]]
	[[ "$output" == *"default via 10.89."*".1 dev eth0"* ]]
	# a private root's default bridge is its own (husk0 is the system's), marked as husk's
	local br
	br=$(hk network inspect bridge | jq -r '.[0].Options["com.docker.network.bridge.name"]')
	[[ "$br" =~ ^husk[0-9a-f]{8}$ ]]
	# no MTU given: 65520 on the links (loopback's class), 1500 on the default route
	ip -o link show "$br" | grep -q 'mtu 65520'
	ip -d link show "$br" | grep -q "alias husk network $(hk network inspect bridge | jq -r '.[0].Id')"
	# the default network stays, as Docker's
	run hk network rm bridge
	one_line_125
	[ "$output" = "husk: bridge is a pre-defined network and cannot be removed" ]
	ip link show "$br" >/dev/null
	# the container's veth went as it exited
	no_ports_left
	hk network create --subnet 10.90.1.0/24 n1
	web n1 web
	local ip
	ip=$(ip_of web)
	[[ "$ip" == 10.90.1.* ]]
	wait_for 5 fetch "http://$ip/"
	run hk run --rm --network n1 --name client busybox sh -c 'wget -qO- http://web/; grep -w client /etc/hosts; grep -w web /etc/hosts'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "hi from "* ]]
	[[ "$output" == *"10.90.1."*"client"* ]]
	# web's /etc/hosts learnt of client as it came, and forgot it as it went
	run hk exec web cat /etc/hosts
	[[ "$output" == *"$ip	web"* ]]
	[[ "$output" != *client* ]]
	# the MTU is the bridge's, arp_notify is on, lo is up
	run hk exec web sh -c 'cat /sys/class/net/eth0/mtu /proc/sys/net/ipv4/conf/eth0/arp_notify; ip -o link show lo'
	[ "${lines[0]}" = 65520 ]
	[ "${lines[1]}" = 1 ]
	[[ "${lines[2]}" == *"UP"* ]]
	hk rm -f web
	no_ports_left
}

@test "network: published TCP and UDP ports on 127.0.0.1, the gateway and from outside; the server sees the client's address; ps, port, inspect; reload after a flush" {
	hk network create --subnet 10.90.1.0/24 n1
	web n1 web -p 18080:80 -p 15353:5353/udp -v "$UDP_ECHO:/udp-echo:ro"
	hk exec -d web /udp-echo serve 5353
	wait_for 5 fetch http://127.0.0.1:18080/
	fetch http://10.90.1.1:18080/ | grep -q 'hi from'
	outside_ns
	run ip netns exec "$NS" curl -fsS --max-time 2 http://10.90.250.1:18080/
	[[ "$output" == "hi from"* ]]
	run hk logs web
	[[ "$output" == *"10.90.250.2"* ]]
	wait_for 5 "$UDP_ECHO" send 127.0.0.1 15353 ping
	run ip netns exec "$NS" "$UDP_ECHO" send 10.90.250.1 15353 ping
	[ "$output" = "FROM 10.90.250.2 ping" ]
	run hk port web
	[[ "$output" == *"80/tcp -> 0.0.0.0:18080"* ]]
	[[ "$output" == *"5353/udp -> 0.0.0.0:15353"* ]]
	run hk ps
	[[ "$output" == *"0.0.0.0:18080->80/tcp"* ]]
	run hk inspect web
	[ "$(jq -r '.[0].NetworkSettings.Ports["80/tcp"][0].HostPort' <<<"$output")" = 18080 ]
	[[ "$(jq -r '.[0].NetworkSettings.IPAddress' <<<"$output")" == 10.90.1.* ]]
	[ "$(jq -r '.[0].NetworkSettings.Networks.n1.Gateway' <<<"$output")" = 10.90.1.1 ]
	[ "$(jq -r '.[0].HostConfig.NetworkMode' <<<"$output")" = n1 ]
	# someone flushed husk's rules: reload makes them again
	local br c
	br=$(hk network inspect n1 | jq -r '.[0].Options["com.docker.network.bridge.name"]')
	for c in pre out post fwd; do nft flush chain ip husk "$br-$c"; done
	run ! fetch http://127.0.0.1:18080/
	hk network reload
	fetch http://127.0.0.1:18080/ | grep -q 'hi from'
	hk rm -f web
	no_ports_left
}

@test "network: -P publishes the exposed ports on free host ports; hairpin: a container reaches a published port through the host" {
	hk network create --subnet 10.90.1.0/24 n1
	web n1 web -p 18081:80 -P -p 9000
	run hk port web
	local random
	random=$(awk '/^9000\/tcp/ {print $3}' <<<"$output" | cut -d: -f2)
	[ -n "$random" ] && [ "$random" -gt 1024 ]
	wait_for 5 fetch http://127.0.0.1:18081/
	# another container, and the server itself, through the gateway
	run hk run --rm --network n1 busybox sh -c "timeout 3 wget -qO- http://10.90.1.1:18081/; exit \$?"
	[[ "$output" == "hi from"* ]]
	run hk exec web timeout 3 wget -qO- http://10.90.1.1:18081/
	[[ "$output" == "hi from"* ]]
	hk rm -f web
	no_ports_left
}

@test "network: networks are isolated; an internal one has no way out" {
	outside_ns
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo outside >"$BATS_TEST_TMPDIR/www/index.html"
	ip netns exec "$NS" busybox httpd -f -p 8000 -h "$BATS_TEST_TMPDIR/www" &
	BG_PID=$!
	hk network create --subnet 10.90.1.0/24 n1
	hk network create --subnet 10.90.2.0/24 n2
	hk network create --internal --subnet 10.90.3.0/24 n3
	web n1 web
	local ip
	ip=$(ip_of web)
	wait_for 5 fetch "http://$ip/"
	# n1 reaches outside (masqueraded); n2 does not reach n1
	run hk run --rm --network n1 busybox sh -c "timeout 3 wget -qO- http://10.90.250.2:8000/; exit \$?"
	[ "$output" = outside ]
	run hk run --rm --network n2 busybox sh -c "timeout 3 wget -qO- http://$ip/; exit \$?"
	[ "$status" -ne 0 ]
	run hk run --rm --network n3 busybox sh -c "timeout 3 wget -qO- http://10.90.250.2:8000/; exit \$?"
	[ "$status" -ne 0 ]
	# but n3's containers talk to each other
	web n3 web3
	run hk run --rm --network n3 busybox sh -c "timeout 3 wget -qO- http://web3/; exit \$?"
	[[ "$output" == "hi from"* ]]
	run hk network inspect n3
	[ "$(jq -r '.[0].Internal' <<<"$output")" = true ]
	[ "$(jq -r '.[0].IPAM.Config[0].Subnet' <<<"$output")" = 10.90.3.0/24 ]
	[ "$(jq -r '.[0].Containers[].Name' <<<"$output")" = web3 ]
}

@test "network: none, host and container: modes" {
	run hk run --rm --network none busybox cat /proc/net/dev
	[[ "$output" == *"lo:"* ]]
	[[ "$output" != *"eth0:"* ]]
	run hk run --rm --network host busybox cat /proc/net/dev
	[[ "$output" == *"$(ip -o link show | awk -F': ' 'NR == 2 {print $2}' | cut -d@ -f1):"* ]]
	hk network create --subnet 10.90.1.0/24 n1
	web n1 web
	wait_for 5 fetch "http://$(ip_of web)/"
	run hk run --rm --network container:web busybox sh -c "timeout 3 wget -qO- http://127.0.0.1/; exit \$?"
	[[ "$output" == "hi from"* ]]
	run hk run --rm --network container:nosuch busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"nosuch"* ]]
	# network connect never changes a netns that is not the container's own
	hk run -d --name h --network host busybox sleep 1000
	hk run -d --name nn --network none busybox sleep 1000
	hk run -d --name cw --network container:web busybox sleep 1000
	local links c
	links=$(ip -o link show | wc -l)
	for c in h nn cw; do
		run hk network connect n1 $c
		[ "$status" -eq 125 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "husk: "*"no network of its own"* ]]
	done
	[ "$(ip -o link show | wc -l)" -eq "$links" ]
	run hk exec nn cat /proc/net/dev
	[[ "$output" != *"eth"* ]]
	# cw keeps web's netns: web's veth goes with web all the same
	local br
	br=$(hk network inspect n1 | jq -r '.[0].Options["com.docker.network.bridge.name"]')
	[ -n "$(ip -o link show master "$br")" ]
	hk rm -f web
	[ -z "$(ip -o link show master "$br")" ]
	run hk exec cw cat /proc/net/dev
	[ "$status" -eq 0 ] && [[ "$output" != *"eth0"* ]]
	run hk run --rm -p 80 --network none busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == "husk: "*"bridge network"* ]]
	run hk run --rm --network n1 --dns 192.0.2.53 --dns-search a.example --add-host db:192.0.2.7 busybox cat /etc/resolv.conf /etc/hosts
	[[ "$output" == *"nameserver 192.0.2.53"* ]]
	[[ "$output" == *"search a.example"* ]]
	[[ "$output" == *"192.0.2.7	db"* ]]
}

@test "network: connect and disconnect a running container" {
	hk network create --subnet 10.90.1.0/24 n1
	hk network create --subnet 10.90.2.0/24 n2
	hk run -d --name c1 --network n1 busybox sleep 1000
	web n2 web2
	hk network connect n2 c1
	run hk exec c1 sh -c 'ip -4 -o addr show eth1; timeout 3 wget -qO- http://web2/'
	[[ "$output" == *"inet 10.90.2."* ]]
	[[ "$output" == *"hi from"* ]]
	[ "$(hk inspect c1 | jq -r '.[0].NetworkSettings.Networks | keys | join(",")')" = n1,n2 ]
	run hk network connect n2 c1
	[ "$status" -eq 125 ]
	[[ "$output" == *"already connected"* ]]
	run hk network rm n2
	[ "$status" -eq 125 ]
	[[ "$output" == *"active endpoints"* ]]
	hk network disconnect n2 c1
	run hk exec c1 ip -o link show eth1
	[ "$status" -ne 0 ]
	run hk exec web2 cat /etc/hosts
	[ "$status" -eq 0 ]
	run ! grep -qw c1 <<<"$output"
	# kept across a restart: n1 only
	hk restart -t 0 c1
	run hk exec c1 ip -4 -o addr
	[[ "$output" == *"10.90.1."* ]]
	[[ "$output" != *"10.90.2."* ]]
}

@test "network: 30 containers on one network, each with its own address; an address is reused after rm" {
	hk network create --subnet 10.90.1.0/24 n1
	local i ips
	for i in $(seq 1 30); do hk run -d --network n1 --name m$i busybox sleep 1000 >/dev/null; done
	ips=$(for i in $(seq 1 30); do ip_of m$i; done)
	[ "$(sort -u <<<"$ips" | grep -c '^10\.90\.1\.')" -eq 30 ]
	[ "$(ip -o link show master "$(hk network inspect n1 | jq -r '.[0].Options["com.docker.network.bridge.name"]')" | wc -l)" -eq 30 ]
	local old
	old=$(ip_of m7)
	hk rm -f m7
	hk run -d --network n1 --name again busybox sleep 1000
	[ "$(ip_of again)" = "$old" ]
	hk rm -f $(hk ps -aq)
	no_ports_left
}

# hold_netns NAME FILE: the netns of container NAME bound on FILE (it
# outlives the container); unbound in teardown.
hold_netns() {
	touch "$2"
	mount --bind "/proc/$(hk inspect "$1" | jq -r '.[0].State.Pid')/ns/net" "$2"
	HELD+=" $2"
}

@test "network: a container's netns kept by something else: its veth is removed before its address is handed out again, or by prune" {
	hk network create --subnet 10.90.1.0/24 n1
	local br old
	br=$(hk network inspect n1 | jq -r '.[0].Options["com.docker.network.bridge.name"]')
	hk run -d --name a --network n1 busybox sleep 1000
	old=$(ip_of a)
	hold_netns a "$BATS_TEST_TMPDIR/ns-a"
	hk rm -f a
	# its host end lives on with the netns, with the address in it
	[ "$(ip -o link show master "$br" | wc -l)" -eq 1 ]
	nsenter --net="$BATS_TEST_TMPDIR/ns-a" ip -4 -o addr show eth0 | grep -q "inet $old/"
	# the next start on n1 takes the address back: the old end is gone
	# first, else the address would be on the bridge twice
	web n1 b
	[ "$(ip_of b)" = "$old" ]
	[ "$(ip -o link show master "$br" | wc -l)" -eq 1 ]
	run nsenter --net="$BATS_TEST_TMPDIR/ns-a" ip -o link show eth0
	[ "$status" -ne 0 ]
	wait_for 5 fetch "http://$old/"
	# prune removes such an end too
	hold_netns b "$BATS_TEST_TMPDIR/ns-b"
	hk rm -f b
	[ "$(ip -o link show master "$br" | wc -l)" -eq 1 ]
	hk system prune -f >/dev/null
	[ "$(ip -o link show master "$br" | wc -l)" -eq 0 ]
}

@test "network: bad subnet, overlapping subnet, port in use, bad -p: a one-line error, nothing left" {
	local bridges
	bridges=$(ip -o link show type bridge | wc -l)
	run hk network create --subnet 10.90.1.0/33 bad
	[ "$status" -eq 125 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "husk: "* ]]
	run hk network create --subnet 10.90.1.1/24 bad
	[ "$status" -eq 125 ] && [[ "$output" == *"bits set"* ]]
	hk network create --subnet 10.90.1.0/24 n1
	run hk network create --subnet 10.90.1.128/25 bad
	[ "$status" -eq 125 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == *"overlaps"* ]]
	# a route of the host's
	outside_ns
	run hk network create --subnet 10.90.250.0/24 bad
	[ "$status" -eq 125 ] && [[ "$output" == *"overlaps"* ]]
	run hk network create n1
	[ "$status" -eq 125 ] && [[ "$output" == *"already exists"* ]]
	run hk run --rm --network nosuch busybox true
	[ "$status" -eq 125 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == *"nosuch"*"not found"* ]]
	web n1 web -p 18082:80
	run hk run -d --network n1 -p 18082:80 busybox true
	[ "$status" -eq 125 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == *"18082/tcp is already published by container"* ]]
	# a process of the host's listens
	busybox nc -l -p 18083 </dev/null >/dev/null &
	BG_PID=$!
	wait_for 5 sh -c 'ss -ltn | grep -q ":18083 "'
	run hk run -d --network n1 -p 127.0.0.1:18083:80 busybox true
	[ "$status" -eq 125 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == *"already in use on the host"* ]]
	for p in 80/sctp x:80 70000:80 1.2.3:80:80 a:b:80:80; do
		run hk run --rm --network n1 -p "$p" busybox true
		[ "$status" -eq 125 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "husk: run: -p"* ]]
	done
	[ "$(hk ps -aq | wc -l)" -eq 1 ]
	[ "$(hk network ls -q | wc -l)" -eq 2 ]
	# no bridge made by the failed creations (n1's alone)
	[ "$(ip -o link show type bridge | wc -l)" -eq $((bridges + 1)) ]
}

# route_in CONTAINER ARGS...: `ip route ARGS` (the host's iproute2) in the
# container's netns.
route_in() {
	nsenter -t "$(hk inspect "$1" | jq -r '.[0].State.Pid')" -n ip route "${@:2}"
}

@test "network: MTU: none given, 65520 on the links and 1500 on the default route; -o mtu=N on both; a 1 MB fetch each way; bad -o: a one-line error, nothing left" {
	command -v nsenter >/dev/null || skip "nsenter (util-linux) is not installed"
	local bridges br ip
	bridges=$(ip -o link show type bridge | wc -l)
	outside_ns
	hk network create --subnet 10.90.1.0/24 auto
	[ "$(hk network inspect auto | jq -r '.[0].Options["com.docker.network.driver.mtu"]')" = null ]
	# a 1 MB page, fetched by the host through the gateway and by the outside
	# netns through a published port
	hk run -d --name big --network auto -p 18084:80 busybox sh -c \
		'mkdir /www && head -c 1048576 /dev/zero >/www/z && exec httpd -f -p 80 -h /www'
	[ "$(hk exec big cat /sys/class/net/eth0/mtu)" = 65520 ]
	br=$(hk network inspect auto | jq -r '.[0].Options["com.docker.network.bridge.name"]')
	ip -o link show "$br" | grep -q 'mtu 65520'
	# to the gateway and the bridge: the link's; anywhere else: 1500 from the first packet
	run route_in big show default
	[[ "$output" == "default via 10.90.1.1 dev eth0 "*"mtu 1500"* ]]
	run route_in big get 10.90.1.1
	[[ "$output" != *mtu* ]]
	run route_in big get 10.90.250.2
	[[ "$output" == *"mtu 1500"* ]]
	ip=$(ip_of big)
	wait_for 5 curl -fsS --max-time 2 -o /dev/null "http://$ip/z"
	[ "$(curl -fsS --max-time 5 "http://$ip/z" | wc -c)" -eq 1048576 ]
	[ "$(ip netns exec "$NS" curl -fsS --max-time 5 http://10.90.250.1:18084/z | wc -c)" -eq 1048576 ]
	hk rm -f big
	# the bridge keeps it with no port left (the kernel's own choice: 1500)
	ip -o link show "$br" | grep -q 'mtu 65520'
	run hk run --rm --network auto busybox cat /sys/class/net/eth0/mtu
	[ "$output" = 65520 ]
	# given: on the links and the routes alike, Docker's option name too
	hk network create --subnet 10.90.2.0/24 -o mtu=9000 jumbo
	hk network create --subnet 10.90.3.0/24 --opt com.docker.network.driver.mtu=1400 small
	[ "$(hk network inspect jumbo | jq -r '.[0].Options["com.docker.network.driver.mtu"]')" = 9000 ]
	[ "$(hk network inspect small | jq -r '.[0].Options["com.docker.network.driver.mtu"]')" = 1400 ]
	hk run -d --name j --network jumbo busybox sleep 100
	[ "$(hk exec j cat /sys/class/net/eth0/mtu)" = 9000 ]
	run route_in j show default
	[[ "$output" == "default via 10.90.2.1 dev eth0"* ]] && [[ "$output" != *mtu* ]]
	run hk run --rm --network small busybox cat /sys/class/net/eth0/mtu
	[ "$output" = 1400 ]
	hk rm -f j
	# bad values: one line, nothing made
	for o in mtu=67 mtu=65536 mtu=x mtu= mtu com.docker.network.driver.mtu=-1 color=blue; do
		run hk network create --subnet 10.90.4.0/24 -o "$o" bad
		one_line_125
		[[ "$output" == "husk: network create: -o \`$o\`: "* ]]
	done
	run hk network inspect bad
	[ "$status" -eq 125 ]
	[ "$(ip -o link show type bridge | wc -l)" -eq $((bridges + 3)) ]
}

@test "network: a link of a network's bridge name that is not husk's is never adopted nor removed" {
	hk network create --subnet 10.90.1.0/24 n1
	local br
	br=$(hk network inspect n1 | jq -r '.[0].Options["com.docker.network.bridge.name"]')
	ip link show "$br" >/dev/null
	# someone else's bridge of that name (another root's, the user's)
	ip link del "$br"
	ip link add "$br" type bridge
	run hk run --rm --network n1 busybox true
	[ "$status" -eq 125 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "husk: "*"not this network's bridge"* ]]
	[ -z "$(ip -4 -o addr show dev "$br")" ]
	hk network rm n1
	ip link show "$br" >/dev/null
	ip link del "$br"
	run ! nft list chain ip husk "$br-pre"
}

@test "network: nothing new from a bridge reaches the host's 127.0.0.1 (route_localnet guard); a port published on 127.0.0.1 works" {
	hk network create --subnet 10.90.1.0/24 n1
	web n1 web -p 127.0.0.1:18098:80
	wait_for 5 fetch http://127.0.0.1:18098/
	# a host listener on 127.0.0.1 alone
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo loopback-only >"$BATS_TEST_TMPDIR/www/index.html"
	busybox httpd -f -p 127.0.0.1:18097 -h "$BATS_TEST_TMPDIR/www" &
	BG_PID=$!
	wait_for 5 fetch http://127.0.0.1:18097/
	# a hostile peer on the bridge (as a container with NET_ADMIN could
	# be): its lo down, 127.0.0.0/8 routed to the gateway
	local br
	br=$(hk network inspect n1 | jq -r '.[0].Options["com.docker.network.bridge.name"]')
	ip netns add "$NS"
	ip link add "$NSV" type veth peer name eth0 netns "$NS"
	ip link set "$NSV" master "$br" up
	ip -n "$NS" addr add 10.90.1.250/24 dev eth0
	ip -n "$NS" link set eth0 up
	ip netns exec "$NS" sysctl -qw net.ipv4.conf.eth0.route_localnet=1
	ip -n "$NS" route add 127.0.0.0/8 via 10.90.1.1
	# it reaches the container (the set-up works), not the host's loopback
	wait_for 5 ip netns exec "$NS" curl -fsS --max-time 2 "http://$(ip_of web)/"
	run ! ip netns exec "$NS" curl -fsS --max-time 2 http://127.0.0.1:18097/
	fetch http://127.0.0.1:18098/ | grep -q 'hi from'
}

@test "network: a network's deleted chains are made again at the next start on it; a dead container's endpoint does not block network rm" {
	hk network create --subnet 10.90.1.0/24 n1
	web n1 web -p 18096:80
	wait_for 5 fetch http://127.0.0.1:18096/
	local br c dead fake
	br=$(hk network inspect n1 | jq -r '.[0].Options["com.docker.network.bridge.name"]')
	for c in pre out post fwd in; do nft delete chain ip husk "$br-$c"; done
	run ! fetch http://127.0.0.1:18096/
	hk run --rm --network n1 busybox true
	fetch http://127.0.0.1:18096/ | grep -q 'hi from'
	hk rm -f web
	# the endpoint of a container whose husk and init were killed
	sh -c 'exit 0' &
	dead=$!
	wait "$dead" || true
	fake=$(printf 'e%.0s' $(seq 64))
	jq -n --argjson pid "$dead" '{Pid: $pid, PidStart: 1, Networks: {n1: {}}, Ports: []}' \
		>"$HUSK_RUN_ROOT/net/endpoints/$fake.json"
	hk network rm n1
	[ ! -e "$HUSK_RUN_ROOT/net/endpoints/$fake.json" ]
}

@test "network: a veth is hkv, 11 characters of the id and the slot; a link an endpoint file names that is not its own is never deleted" {
	hk network create --subnet 10.90.1.0/24 n1
	hk network create --subnet 10.90.2.0/24 n2
	hk run -d --name t --network n1 busybox sleep 1000
	hk network connect n2 t
	local id ep
	id=$(hk inspect t | jq -r '.[0].Id')
	ep=$HUSK_RUN_ROOT/net/endpoints/$id.json
	[ "$(jq -r '.Networks.n1.Veth' "$ep")" = "hkv${id:0:11}0" ]
	[ "$(jq -r '.Networks.n2.Veth' "$ep")" = "hkv${id:0:11}1" ]
	ip link show "hkv${id:0:11}1" >/dev/null
	# a tampered endpoint file names a link of someone else's
	ip link add "$NSV" type bridge
	jq --arg v "$NSV" '.Networks.n2.Veth = $v' "$ep" >"$ep.new"
	mv "$ep.new" "$ep"
	hk network disconnect n2 t
	ip link show "$NSV" >/dev/null
	jq --arg v "$NSV" '.Networks.n1.Veth = $v' "$ep" >"$ep.new"
	mv "$ep.new" "$ep"
	hk rm -f t
	ip link show "$NSV" >/dev/null
}

@test "network: a tampered bridge name or HostIp adds no nftables rule of its own" {
	hk network create --subnet 10.90.1.0/24 n1
	web n1 web -p 18094:80
	wait_for 5 fetch http://127.0.0.1:18094/
	local id ep def
	id=$(hk inspect web | jq -r '.[0].Id')
	ep=$HUSK_RUN_ROOT/net/endpoints/$id.json
	jq --arg ip $'127.0.0.1 tcp dport 1 accept\nadd table ip hkinj'$$$'\n#' '.Ports[0].HostIp = $ip' "$ep" >"$ep.new"
	mv "$ep.new" "$ep"
	hk network reload
	run ! nft list table ip "hkinj$$"
	# that port's rules are left out, not broken: the others stand
	run ! fetch http://127.0.0.1:18094/
	hk rm -f web
	def=$HUSK_STORAGE_ROOT/networks/n1.json
	jq --arg b $'x\nadd table ip hkinj'$$ '.Options["com.docker.network.bridge.name"] = $b' "$def" >"$def.new"
	cp "$def" "$BATS_TEST_TMPDIR/n1.json"
	mv "$def.new" "$def"
	run hk run --rm --network n1 busybox true
	one_line_125
	[[ "$output" == *"broken network definition"* ]]
	run hk network reload
	[ "$status" -eq 125 ]
	run ! nft list table ip "hkinj$$"
	cp "$BATS_TEST_TMPDIR/n1.json" "$def"
}

sandbox_key() { hk inspect "$1" | jq -r '.[0].NetworkSettings.SandboxKey'; }

@test "network: network netns names a running container's netns for ip netns until it stops; inspect's SandboxKey" {
	hk network create --subnet 10.90.1.0/24 n1
	hk run -d --name nsc --network n1 busybox sleep 1000
	[ "$(sandbox_key nsc)" = "/proc/$(hk inspect nsc | jq -r '.[0].State.Pid')/ns/net" ]
	hk network netns nsc "hkns$$"
	[ "$(sandbox_key nsc)" = "/run/netns/hkns$$" ]
	run ip netns exec "hkns$$" ip -br addr
	[[ "$output" == *"eth0"*"10.90.1."* ]] || { echo "$output"; false; }
	ip netns list | grep -qw "hkns$$"
	run hk network netns nsc "hkns-other$$"
	one_line_125
	[[ "$output" == *"already"* ]]
	run hk network netns nsc ../x
	one_line_125
	[ ! -e /run/netns/hkns-other$$ ]
	hk rm -f nsc
	[ ! -e "/run/netns/hkns$$" ]
	run ! grep -F "/run/netns/hkns$$" /proc/self/mountinfo
	# named after the container by default; gone as it stops
	hk run -d --name "hkns2$$" --network n1 busybox sleep 1000
	hk network netns "hkns2$$"
	ip netns exec "hkns2$$" ip -br addr | grep -q eth0
	hk stop -t 0 "hkns2$$"
	[ ! -e "/run/netns/hkns2$$" ]
	[ "$(sandbox_key "hkns2$$")" = "" ]
	run hk network netns "hkns2$$"
	one_line_125
	[[ "$output" == *"not running"* ]]
	run hk network netns nosuch
	[ "$status" -eq 125 ]
	# a disconnect from its last network takes the name too
	hk run -d --name nse --network n1 busybox sleep 1000
	hk network netns nse "hkns$$"
	hk network disconnect n1 nse
	[ ! -e "/run/netns/hkns$$" ]
	# an endpoint file naming someone else's netns never removes it
	ip netns add "hkns3$$"
	hk network connect n1 nse
	hk network netns nse "hkns$$"
	local id
	id=$(hk inspect nse | jq -r '.[0].Id')
	jq --arg n "hkns3$$" '.NetnsName = $n' "$HUSK_RUN_ROOT/net/endpoints/$id.json" >"$BATS_TEST_TMPDIR/ep"
	mv "$BATS_TEST_TMPDIR/ep" "$HUSK_RUN_ROOT/net/endpoints/$id.json"
	hk rm -f nse
	ip netns exec "hkns3$$" true
	# ours, unrecorded now, is left: removed here
	ip netns del "hkns$$"
}

@test "network: --network none: SandboxKey is its netns, network netns names it until it stops; host has neither" {
	local pid id
	hk run -d --name nsn --network none busybox sleep 1000
	pid=$(hk inspect nsn | jq -r '.[0].State.Pid')
	id=$(hk inspect nsn | jq -r '.[0].Id')
	[ "$(sandbox_key nsn)" = "/proc/$pid/ns/net" ]
	[ "$(stat -L -c %i "/proc/$pid/ns/net")" != "$(stat -L -c %i /proc/self/ns/net)" ]
	hk network netns nsn "hknone$$"
	[ "$(sandbox_key nsn)" = "/run/netns/hknone$$" ]
	[ "$(stat -L -c %i "/run/netns/hknone$$")" = "$(stat -L -c %i "/proc/$pid/ns/net")" ]
	run ip netns exec "hknone$$" ip -o link
	[ "${#lines[@]}" -eq 1 ] && [[ "$output" == "1: lo:"* ]]
	run hk network netns nsn "hknone-other$$"
	one_line_125
	[[ "$output" == *"already"* ]]
	[ ! -e "/run/netns/hknone-other$$" ]
	# a network connect still refused: none stays none
	run hk network connect bridge nsn
	one_line_125
	hk stop -t 0 nsn
	[ ! -e "/run/netns/hknone$$" ]
	[ ! -e "$HUSK_RUN_ROOT/net/endpoints/$id.json" ]
	[ "$(sandbox_key nsn)" = "" ]
	# killed with its monitor: rm's heal takes the name with the endpoint
	hk start nsn
	hk network netns nsn "hknone$$"
	pid=$(hk inspect nsn | jq -r '.[0].State.Pid')
	kill -KILL "$(jq -r .MonitorPid "$HUSK_STORAGE_ROOT/containers/$id/state.json")" "$pid"
	wait_for 5 sh -c "! kill -0 $pid 2>/dev/null"
	hk rm nsn
	[ ! -e "/run/netns/hknone$$" ]
	[ ! -e "$HUSK_RUN_ROOT/net/endpoints/$id.json" ]
	# --network host: no netns of its own, nothing to name
	hk run -d --name nsh --network host busybox sleep 1000
	[ "$(sandbox_key nsh)" = "" ]
	run hk network netns nsh "hknone$$"
	one_line_125
	[[ "$output" == *"no network namespace of its own (--network host)"* ]]
	[ ! -e "/run/netns/hknone$$" ]
	hk rm -f nsh
}

# udp_server NAME TAG [OPTIONS...]: udp-echo on 5353 in a container of n1,
# its answers tagged TAG.
udp_server() {
	hk run -d --name "$1" --network n1 -v "$UDP_ECHO:/udp-echo:ro" "${@:3}" busybox /udp-echo serve 5353 "$2"
}

# ct_entry_of HOST_PORT IP: a conntrack entry of HOST_PORT DNATed to IP.
ct_entry_of() { grep -E "dport=$1 .*src=$2 " /proc/net/nf_conntrack; }

@test "network: a UDP client that keeps sending reaches the next container published on the port (the old conntrack entries are deleted)" {
	[ -r /proc/net/nf_conntrack ] || skip "no /proc/net/nf_conntrack to look at"
	hk network create --subnet 10.90.1.0/24 n1
	udp_server u1 u1 -p 15360:5353/udp
	local ip1
	ip1=$(ip_of u1)
	# one client, one source port all along: one conntrack entry
	wait_for 5 "$UDP_ECHO" send 127.0.0.1 15360 ping 40123
	run "$UDP_ECHO" send 127.0.0.1 15360 ping 40123
	[ "$output" = "FROM 10.90.1.1 ping u1" ]
	ct_entry_of 15360 "$ip1"
	hk rm -f u1
	run ! ct_entry_of 15360 "$ip1"
	# u1's address taken by another container, u2 on another one
	hk run -d --name hold --network n1 busybox sleep 1000
	[ "$(ip_of hold)" = "$ip1" ]
	udp_server u2 u2 -p 15360:5353/udp
	wait_for 5 "$UDP_ECHO" send 127.0.0.1 15360 ping 40123
	run "$UDP_ECHO" send 127.0.0.1 15360 ping 40123
	[ "$output" = "FROM 10.90.1.1 ping u2" ]
	# a disconnect from the network of its ports forgets them too
	local ip2
	ip2=$(ip_of u2 n1)
	ct_entry_of 15360 "$ip2"
	hk network create --subnet 10.90.2.0/24 n2
	hk network connect n2 u2
	hk network disconnect n1 u2
	run ! ct_entry_of 15360 "$ip2"
}

# hairpin_of CONTAINER NETWORK: the hairpin mode (0, 1) of its bridge port.
hairpin_of() {
	local id
	id=$(hk inspect "$1" | jq -r '.[0].Id')
	cat "/sys/class/net/$(jq -r ".Networks.$2.Veth" "$HUSK_RUN_ROOT/net/endpoints/$id.json")/brport/hairpin_mode"
}

@test "network: with br_netfilter off (bridge-nf-call-iptables 0): names, published ports from the host and from another container through the gateway work; hairpin mode only with it on" {
	[ -w /proc/sys/net/bridge/bridge-nf-call-iptables ] || skip "no br_netfilter in this kernel"
	# put back in teardown
	BRNF=$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)
	echo 0 >/proc/sys/net/bridge/bridge-nf-call-iptables
	hk network create --subnet 10.90.1.0/24 n1
	web n1 web -p 18093:80
	wait_for 5 fetch http://127.0.0.1:18093/
	fetch http://10.90.1.1:18093/ | grep -q 'hi from'
	[ "$(hairpin_of web n1)" = 0 ]
	# by name, and a published port through the gateway from another
	# container (routed by the host, masqueraded: no hairpin needed); the
	# server reaching its own published port is not covered without
	# br_netfilter (Docker too needs it for that hairpin)
	run hk run --rm --network n1 busybox sh -c 'timeout 3 wget -qO- http://web/ && timeout 3 wget -qO- http://10.90.1.1:18093/'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == "hi from"* ]]
	[[ "${lines[1]}" == "hi from"* ]]
	echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
	web n1 web2
	[ "$(hairpin_of web2 n1)" = 1 ]
}

@test "network: a subnet is picked past the host's routes (the default network's too)" {
	outside_ns
	# a route of the host's in 10.89.0.0/24, where the default network would go
	ip addr add 10.89.0.254/24 dev "$NSV"
	hk network create auto1
	[ "$(hk network inspect auto1 | jq -r '.[0].IPAM.Config[0].Subnet')" = 10.89.1.0/24 ]
	run hk run --rm --network bridge busybox ip -4 -o addr show eth0
	[[ "$output" == *"inet 10.89.2."* ]]
	[ "$(hk network inspect bridge | jq -r '.[0].IPAM.Config[0].Gateway')" = 10.89.2.1 ]
}

# kill_plan: from a run on n1 traced whole, "V W": the ordinal of the
# veth's creation among the netlink requests (sendto) of the monitor-to-be,
# and that of the reaping of the monitor-to-be among the wait4 calls of the
# husk in front (strace counts each process's calls apart).
kill_plan() {
	# a first run makes what is made once per root (its seccomp cache)
	hk run --rm --network n1 busybox true
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -o "$BATS_TEST_TMPDIR/plan" -e trace=sendto,wait4 \
		"$HUSK_ENGINE" run -d --name probe --network n1 busybox true >/dev/null
	hk rm -f probe >/dev/null
	awk '$2 ~ /^sendto\(/ { n[$1]++ }
		$2 ~ /^sendto\(/ && /veth/ && !v { v = n[$1]; m = $1 }
		$2 ~ /^wait4\(/ { w[$1]++ }
		m && $2 ~ "^wait4\\(" m "," && !wm { wm = w[$1] }
		END { print v, wm }' "$BATS_TEST_TMPDIR/plan"
}

# killed_run AT NAME ARGS...: husk run -d killed, its monitor-to-be at its
# AT-th netlink request and the husk in front as it reaps it (which would
# undo the start otherwise).
killed_run() {
	local at=$1
	shift
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		run strace -f -o /dev/null -e trace=sendto,wait4 \
		-e inject=sendto:signal=KILL:when=$at -e inject=wait4:signal=KILL:when=${PLAN[1]} \
		"$HUSK_ENGINE" run -d "$@" busybox sleep 100
	[ "$status" -ne 0 ]
	ls "$HUSK_STORAGE_ROOT/containers" >>"$BATS_FILE_TMPDIR/ids"
}

@test "network: husk killed in the middle of the network set-up leaves nothing after rm -f and system prune" {
	command -v strace >/dev/null || skip "strace not installed"
	hk network create --subnet 10.90.1.0/24 n1
	local off id
	PLAN=($(kill_plan))
	[ "${#PLAN[@]}" -eq 2 ] || { cat "$BATS_TEST_TMPDIR/plan"; false; }
	for off in 0 1 2; do
		# killed as the veth is asked for (0), once it is made (1), as it
		# is put on the bridge (2)
		killed_run $((PLAN[0] + off)) --name k$off --network n1 -p 1808$off:80
		# the half-done state (seen before any husk command, which would
		# heal it): the endpoint file naming the veth (the init died with
		# its monitor-to-be, and the veth with its netns)
		id=$(ls "$HUSK_RUN_ROOT/net/endpoints")
		id=${id%.json}
		[ -n "$id" ]
		[ -d "$HUSK_STORAGE_ROOT/containers/$id" ]
		[ "$(jq -r .Networks.n1.Veth "$HUSK_RUN_ROOT/net/endpoints/$id.json")" = "hkv${id:0:11}0" ]
		hk rm -f k$off
		no_ports_left
		[ -z "$(ls "$HUSK_RUN_ROOT/net/endpoints")" ]
	done
	# once more, cleaned by prune alone
	killed_run $((PLAN[0] + 1)) --network n1 -p 18089:80
	[ -n "$(ls "$HUSK_RUN_ROOT/net/endpoints")" ]
	hk system prune -f
	hk rm -f $(hk ps -aq) 2>/dev/null || true
	no_ports_left
	[ -z "$(ls "$HUSK_RUN_ROOT/net/endpoints")" ]
	# and the port and address are free again
	hk run -d --name after --network n1 -p 18089:80 busybox sleep 100
	[ "$(ip_of after)" = 10.90.1.2 ]
}

# The rootless tests' user, removed in teardown (rootless_user_remove).
make_user() {
	command -v useradd >/dev/null && command -v newuidmap >/dev/null ||
		skip "useradd or newuidmap (package uidmap) is not installed"
	rootless_user_make hknet$$ $((1400000000 + ($$ % 1000) * 1000000))
	setpriv --reuid "$RL_USER" --regid "$RL_USER" --init-groups test -r /dev/net/tun -a -w /dev/net/tun ||
		skip "/dev/net/tun is not open to users here (mode $(stat -c %a /dev/net/tun)): no tap device for pasta or slirp4netns"
}

@test "network: rootless: the default network through pasta; a published port is fetched on 127.0.0.1; pasta ends with the container" {
	command -v pasta >/dev/null || skip "pasta (package passt) is not installed"
	make_user
	run as_user run -d --name web --network bridge -p 18090:80 busybox sh -c \
		'mkdir -p /www && echo rootless-hi >/www/index.html && exec httpd -f -p 80 -h /www'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	wait_for 5 fetch http://127.0.0.1:18090/
	[ "$(fetch http://127.0.0.1:18090/)" = rootless-hi ]
	run as_user port web
	[ "$output" = "80/tcp -> 0.0.0.0:18090" ]
	pgrep -u "$RL_USER" -f -- --config-net >/dev/null
	run as_user network connect bridge web
	one_line_125
	[[ "$output" == *"rootless"* ]]
	# the netns husk keeps for it, not nameable in root's /run/netns
	[ "$(as_user inspect web | jq -r '.[0].NetworkSettings.SandboxKey')" = \
		"/tmp/husk-engine-$(id -u "$RL_USER")/net/ns/$(as_user inspect web | jq -r '.[0].Id')" ]
	run as_user network netns web x
	one_line_125
	# pasta quits by itself when its own netns file goes (a husk killed
	# before it could end it), not when another container's does
	local run=/tmp/husk-engine-$(id -u "$RL_USER") id pid
	as_user run -d --name other --network bridge busybox sleep 1000
	id=$(as_user inspect other | jq -r '.[0].Id')
	pid=$(jq .Pasta "$run/net/endpoints/$id.json")
	grep -q pasta "/proc/$pid/cmdline"
	rm "$run/net/ns/$id"
	wait_for 5 sh -c "! grep -qs pasta /proc/$pid/cmdline"
	as_user rm -f other
	[ "$(fetch http://127.0.0.1:18090/)" = rootless-hi ]
	as_user rm -f web
	run ! pgrep -u "$RL_USER" -f -- --config-net
	run ! fetch http://127.0.0.1:18090/
}

@test "network: rootless without pasta: slirp4netns; a published port is fetched on 127.0.0.1" {
	command -v slirp4netns >/dev/null || skip "slirp4netns is not installed"
	make_user
	# a PATH with no pasta in it
	local p
	mkdir "$RL_DIR/nopasta"
	for p in newuidmap newgidmap slirp4netns; do ln -s "$(command -v $p)" "$RL_DIR/nopasta/"; done
	RL_PATH=$RL_DIR/nopasta run as_user run -d --name web --network bridge -p 18091:80 busybox sh -c \
		'mkdir -p /www && echo slirp-hi >/www/index.html && exec httpd -f -p 80 -h /www'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	wait_for 5 fetch http://127.0.0.1:18091/
	[ "$(fetch http://127.0.0.1:18091/)" = slirp-hi ]
	pgrep -u "$RL_USER" -x slirp4netns >/dev/null
	as_user rm -f web
	run ! pgrep -u "$RL_USER" -x slirp4netns
}

# killed_helper_cleaned HELPER PGREP_ARGS...: a rootless run -d killed while
# its HELPER starts leaves the helper (recorded) and the netns file; a
# system prune removes both.
killed_helper_cleaned() {
	local helper=$1 path run id
	shift
	run=/tmp/husk-engine-$(id -u "$RL_USER")
	path=$(helper_killer "$helper" "$run/net/endpoints/*.json")
	RL_PATH=$path run as_user run -d --name k --network bridge -p 18092:80 busybox sleep 100
	[ "$status" -ne 0 ]
	# the half-done state (seen before any husk command, which would heal
	# it): the helper recorded in the endpoint, the netns file
	id=$(ls "$run/net/endpoints")
	id=${id%.json}
	[ -n "$id" ]
	[ -e "$run/net/ns/$id" ]
	jq -e '.Pasta > 0' "$run/net/endpoints/$id.json"
	if [ -n "${HELPER_QUITS:-}" ]; then
		# slirp4netns: its exit pipe hung up with husk
		wait_for 5 sh -c "! pgrep -u $RL_USER $*"
	else
		pgrep -u "$RL_USER" "$@"
	fi
	as_user system prune -f
	run ! pgrep -u "$RL_USER" "$@"
	[ ! -e "$run/net/ns/$id" ]
	[ ! -e "$run/net/endpoints/$id.json" ]
	[ -z "$(ls "$run/net/" | grep slirp || true)" ]
	[ -z "$(as_user ps -aq)" ]
	# and the port is free again
	run as_user run -d --name after --network bridge -p 18092:80 busybox sleep 100
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	as_user rm -f after
}

@test "network: rootless: husk killed while pasta starts: pasta recorded at once, removed by system prune with the netns" {
	command -v pasta >/dev/null || skip "pasta (package passt) is not installed"
	make_user
	killed_helper_cleaned pasta -f -- --config-net
}

@test "network: rootless: husk killed while slirp4netns starts: it quits with husk (exit fd), its netns and socket removed by system prune" {
	command -v slirp4netns >/dev/null || skip "slirp4netns is not installed"
	make_user
	HELPER_QUITS=1 killed_helper_cleaned slirp4netns -x slirp4netns
}
