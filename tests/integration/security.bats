#!/usr/bin/env bats
# Secure by default: a hostile image inside a container made from
# `husk-runtime spec` tries what container escapes are made of, and is
# refused. Where it means something, the same attack is run with
# `spec --privileged` (or the --cap-add that unlocks it) to show the test can
# fail. The attacks are system calls made by tools/sec-attack.c,
# tools/sec-5736.c and tools/sec-fdhunt.c (built static once per file and
# copied into each rootfs); each is harmless even when it succeeds: nothing
# on the host is written (see the comments at the top of each tool).
#
# Each test prints "# attack: WHAT | default: OUTCOME | privileged: OUTCOME"
# on fd 3; tools/sec-summary.sh turns those lines into a table.
load helpers
load tools/host-cgroups

setup_file() {
	local t
	for t in attack 5736 fdhunt; do
		cc -static -O2 -o "$BATS_FILE_TMPDIR/sec-$t" "$BATS_TEST_DIRNAME/tools/sec-$t.c" || return 1
	done
}

setup() {
	skip_unless_root
	setup_bundle
	update_config '.process.env += ["HUSK_SEC_INSIDE=1"]'
	cp "$BATS_FILE_TMPDIR"/sec-{attack,5736,fdhunt} "$BUNDLE/rootfs/bin/"
	# victims on the host side of symlink attacks: unique to the test
	HOST=$BATS_TEST_TMPDIR/host
	mkdir -p "$HOST"
	HOST_PIDS=()
	EXTRA_CGROUPS=()
}

teardown() {
	local p d i
	for p in "${HOST_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	cleanup_containers
	for d in "${EXTRA_CGROUPS[@]}"; do
		find /sys/fs/cgroup -maxdepth 3 -type d -name "$d" -exec rmdir {} + 2>/dev/null
	done
	# whatever a broken runtime mounted onto the host victims
	for ((i = 0; i < 10; i++)); do
		findmnt -rn -o TARGET | grep -q "^$HOST" || break
		findmnt -rn -o TARGET | grep "^$HOST" | sort -r | xargs -r umount -l 2>/dev/null
	done
	return 0
}

husk_t() { timeout 20 "$HUSK_RUNTIME" --root "$HUSK_ROOT" "$@"; }

# caller_caps: the capability names in our own bounding set; a sandboxed CI
# may lack some, and no runtime can grant what its caller does not hold.
caller_caps() {
	local bnd i
	bnd=$((0x$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
	for ((i = 0; i <= $(cat /proc/sys/kernel/cap_last_cap); i++)); do
		((bnd >> i & 1)) && echo "${CAP_NAMES[$i]}"
	done
}

CAP_NAMES=(CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL
	CAP_SETGID CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE
	CAP_NET_BROADCAST CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER CAP_SYS_MODULE
	CAP_SYS_RAWIO CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT
	CAP_SYS_NICE CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE
	CAP_AUDIT_WRITE CAP_AUDIT_CONTROL CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG
	CAP_WAKE_ALARM CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON CAP_BPF
	CAP_CHECKPOINT_RESTORE)

# respec [SPEC-ARGS...]: config.json made again by `husk-runtime spec ARGS`,
# keeping process.args; the rootfs stays. --privileged gets the caller's
# capabilities (see caller_caps).
respec() {
	local args have=null
	args=$(jq -c .process.args "$BUNDLE/config.json")
	rm -f "$BUNDLE/config.json"
	(cd "$BUNDLE" && "$HUSK_RUNTIME" spec "$@") || return 1
	[[ " $* " != *" --privileged "* ]] || have=$(caller_caps | jq -R . | jq -sc .)
	update_config ".process.terminal = false | .process.args = $args
		| .linux.cgroupsPath = \"/$CGROUP_NAME\" | .process.env += [\"HUSK_SEC_INSIDE=1\"]
		| if $have == null then . else
			.process.capabilities |= map_values(map(select(. as \$c | $have | index(\$c))))
		  end"
}

# full_caps: CapEff of a privileged container: the caller's bounding set.
full_caps() { awk '/^CapBnd:/ {print $2}' /proc/self/status; }

# in_ctr ID SCRIPT: run SCRIPT with sh inside a fresh container.
in_ctr() {
	run_ctr "$1" sh -c "$2"
	echo "$output"
}

# verdict LABEL: what sec-attack printed for LABEL in $output: OK or ENAME.
verdict() {
	echo "$output" | awk -v k="$1: " 'index($0, k) == 1 {split(substr($0, length(k) + 1), a, " "); r = a[1]} END {print r}'
}

# said LABEL: the verdict as words for the summary.
said() {
	local v
	v=$(verdict "$1")
	case $v in
	OK) echo allowed ;;
	EPERM | EACCES | EROFS | ESRCH) echo "refused ($v)" ;;
	"") echo "no answer" ;;
	*) echo "permitted, then $v" ;;
	esac
}

# status_field NAME: NAME's value in a /proc/PID/status dump in $output.
status_field() { echo "$output" | awk -v k="$1:" '$1 == k {print $2}'; }

# outcome ATTACK DEFAULT [PRIVILEGED]: one line for tools/sec-summary.sh,
# printed before the assertions so a failing test still reports.
outcome() { echo "# attack: $1 | default: $2 | privileged: ${3:--}" >&3; }

# host_sleep: a process on the host, killed in teardown; its pid in $HOST_PID.
host_sleep() {
	sleep 300 &
	HOST_PID=$!
	HOST_PIDS+=("$HOST_PID")
}

# podman's default set: Docker's without MKNOD, NET_RAW and AUDIT_WRITE
DEFAULT_CAPS=00000000800405fb

# ---- capabilities, no_new_privs, seccomp ----

@test "caps: CapEff/CapBnd are podman's default set, NoNewPrivs 1, Seccomp 2 (privileged: all caps, 0, 0)" {
	local full
	full=$(full_caps)
	in_ctr caps 'grep -E "^(Cap|NoNewPrivs|Seccomp)" /proc/self/status'
	local eff bnd prm amb nnp sc
	eff=$(status_field CapEff) bnd=$(status_field CapBnd) prm=$(status_field CapPrm)
	amb=$(status_field CapAmb) nnp=$(status_field NoNewPrivs) sc=$(status_field Seccomp)
	respec --privileged
	in_ctr pcaps 'grep -E "^(Cap|NoNewPrivs|Seccomp)" /proc/self/status'
	outcome "capabilities, no_new_privs, seccomp" "CapEff=$eff NNP=$nnp Seccomp=$sc" \
		"CapEff=$(status_field CapEff) NNP=$(status_field NoNewPrivs) Seccomp=$(status_field Seccomp)"
	[ "$eff" = $DEFAULT_CAPS ]
	[ "$bnd" = $DEFAULT_CAPS ]
	[ "$prm" = $DEFAULT_CAPS ]
	[ "$amb" = 0000000000000000 ]
	[ "$nnp" = 1 ]
	[ "$sc" = 2 ]
	[ "$(status_field CapEff)" = "$full" ]
	[ "$(status_field CapBnd)" = "$full" ]
	[ "$(status_field NoNewPrivs)" = 0 ]
	[ "$(status_field Seccomp)" = 0 ]
}

@test "caps: a setuid-root binary gives a non-root user nothing under no_new_privs" {
	cp "$BUNDLE/rootfs/bin/sec-attack" "$BUNDLE/rootfs/bin/suid-attack"
	chown 0:0 "$BUNDLE/rootfs/bin/suid-attack"
	chmod 4755 "$BUNDLE/rootfs/bin/suid-attack"
	update_config '.process.user = {"uid": 1000, "gid": 1000}'
	in_ctr suid '/bin/suid-attack ids'
	local def
	def=$(echo "$output" | sed -n 's/^ids: OK //p')
	respec --privileged
	update_config '.process.user = {"uid": 1000, "gid": 1000}'
	in_ctr psuid '/bin/suid-attack ids'
	outcome "setuid-root binary run by uid 1000" "$def" "$(echo "$output" | sed -n 's/^ids: OK //p')"
	[ "$def" = "uid=1000 euid=1000" ]
	[ "$(echo "$output" | sed -n 's/^ids: OK //p')" = "uid=1000 euid=0" ]
}

# ---- mounts ----

@test "mount: mount -t tmpfs is refused (EPERM); privileged may" {
	in_ctr mnt 'sec-attack mount-tmpfs /tmp; mount -t tmpfs x /tmp'
	local def
	def=$(said "mount-tmpfs /tmp")
	# busybox words it either way
	[[ "$output" == *"mount: permission denied (are you root?)"* ||
		"$output" == *"mount: mounting x on /tmp failed: Operation not permitted"* ]]
	respec --privileged
	in_ctr pmnt 'sec-attack mount-tmpfs /tmp'
	outcome "mount -t tmpfs" "$def" "$(said "mount-tmpfs /tmp")"
	[ "$def" = "refused (EPERM)" ]
	[ "$(verdict "mount-tmpfs /tmp")" = OK ]
}

@test "mount: the new mount API (fsopen, open_tree) is refused; privileged may" {
	in_ctr fsopen 'sec-attack fsopen; sec-attack open_tree'
	local d1 d2
	d1=$(said fsopen) d2=$(said open_tree)
	respec --privileged
	in_ctr pfsopen 'sec-attack fsopen; sec-attack open_tree'
	outcome "fsopen (new mount API)" "$d1" "$(said fsopen)"
	outcome "open_tree(OPEN_TREE_CLONE)" "$d2" "$(said open_tree)"
	[ "$d1" = "refused (EPERM)" ]
	[ "$d2" = "refused (EPERM)" ]
	[ "$(verdict fsopen)" = OK ]
	[ "$(verdict open_tree)" = OK ]
}

@test "umount2: of /proc and of a masked path (/proc/timer_list) is refused; privileged may" {
	in_ctr umount 'sec-attack umount /proc/timer_list; sec-attack umount /proc; umount /proc'
	local d1 d2
	d1=$(said "umount /proc/timer_list") d2=$(said "umount /proc")
	respec --privileged
	in_ctr pumount 'sec-attack umount /proc'
	outcome "umount2 /proc/timer_list (a mask)" "$d1"
	outcome "umount2 /proc" "$d2" "$(said "umount /proc")"
	[ "$d1" = "refused (EPERM)" ]
	[ "$d2" = "refused (EPERM)" ]
	[ "$(verdict "umount /proc")" = OK ]
}

@test "pivot_root is refused (EPERM); privileged gets past the check" {
	in_ctr pivot 'sec-attack pivot_root'
	local def
	def=$(said pivot_root)
	respec --privileged
	in_ctr ppivot 'sec-attack pivot_root'
	outcome "pivot_root" "$def" "$(said pivot_root)"
	[ "$def" = "refused (EPERM)" ]
	[ "$(verdict pivot_root)" = ENOENT ]
}

# ---- namespaces ----

@test "unshare: a user namespace is refused (unshare -U, clone3); privileged may" {
	local script='unshare -U true; echo "unshare -U: $?"; sec-attack unshare-user; sec-attack clone3-user;
		sec-attack unshare-user-x32; sec-attack unshare-mount'
	in_ctr userns "$script"
	local u c x m
	u=$(said unshare-user) c=$(said clone3-user)
	x=$(verdict unshare-user-x32) m=$(said unshare-mount)
	local busybox_status
	busybox_status=$(echo "$output" | awk '/^unshare -U: / {print $3}')
	[[ "$output" == *"unshare: unshare(0x10000000): Operation not permitted"* ]]
	respec --privileged
	in_ctr puserns "$script"
	outcome "unshare(CLONE_NEWUSER)" "$u" "$(said unshare-user)"
	outcome "clone3(CLONE_NEWUSER)" "$c" "$(said clone3-user)"
	outcome "unshare(CLONE_NEWNS)" "$m" "$(said unshare-mount)"
	[ "$busybox_status" -ne 0 ]
	[ "$u" = "refused (EPERM)" ]
	[ "$m" = "refused (EPERM)" ]
	# clone3: its flags are behind a pointer seccomp cannot read, so Docker's
	# profile answers ENOSYS (glibc then falls back to clone)
	[[ "$c" == "permitted, then ENOSYS" || "$c" == "refused (EPERM)" ]]
	# no x32 ABI on this kernel is ENOSYS; with it, the filter must refuse
	[[ "$x" == ENOSYS || "$x" == EPERM ]]
	[ "$(verdict unshare-user)" = OK ]
	[ "$(verdict clone3-user)" = OK ]
}

@test "i386 int 0x80: unshare(CLONE_NEWUSER) and keyctl are refused; privileged may" {
	# Some hosts kill every int 0x80, even of an unconfined process: asked
	# on the host first, outside any container.
	run "$BATS_FILE_TMPDIR/sec-attack" int80-probe
	[ "$output" = "int80-probe: OK" ] ||
		skip "this host cannot run i386 system calls at all (int 0x80 probe: ${output:-no answer})"
	SCRIPT='sec-attack unshare-user-int80; sec-attack keyctl-int80'
	attack_pair unshare-user-int80 keyctl-int80
}

@test "seccomp: the compiled default profile is cached; the cached filter refuses the same" {
	local cache=$HUSK_ROOT/.seccomp-cache entry mtime
	rm -rf "$cache"
	in_ctr sc1 'sec-attack unshare-user; sec-attack keyctl'
	[ "$(said unshare-user)" = "refused (EPERM)" ]
	[ "$(said keyctl)" = "refused (EPERM)" ]
	[ "$(stat -c %a "$cache")" = 700 ]
	entry=$(ls "$cache"/*.bpf)
	[ "$(echo "$entry" | wc -l)" = 1 ]
	[ "$(stat -c %a "$entry")" = 600 ]
	mtime=$(stat -c %Y.%y "$entry")
	in_ctr sc2 'sec-attack unshare-user; sec-attack keyctl'
	[ "$(said unshare-user)" = "refused (EPERM)" ]
	[ "$(said keyctl)" = "refused (EPERM)" ]
	# taken from the cache, not compiled and written again
	[ "$(stat -c %Y.%y "$entry")" = "$mtime" ]
	[ "$(ls "$cache" | wc -l)" = 1 ]
	# another profile is another entry, with its own effect
	respec --cap-add CAP_SYS_ADMIN
	in_ctr sc3 'sec-attack unshare-user'
	[ "$(verdict unshare-user)" = OK ]
	[ "$(ls "$cache" | wc -l)" = 2 ]
}

@test "setns: the host's namespaces are not reachable; setns into the container's own is refused" {
	local ns host_ino script
	script='for n in mnt pid net ipc uts cgroup; do echo "ns $n $(stat -L -c %i /proc/1/ns/$n)"; done
		sec-attack setns /proc/1/ns/uts; sec-attack setns /proc/self/ns/mnt'
	in_ctr setns "$script"
	for ns in mnt pid net ipc uts cgroup; do
		host_ino=$(stat -L -c %i /proc/self/ns/$ns)
		[ "$(echo "$output" | awk -v n=$ns '$1 == "ns" && $2 == n {print $3}')" != "$host_ino" ] || {
			echo "the container's $ns namespace is the host's"
			return 1
		}
	done
	local d1 d2
	d1=$(said "setns /proc/1/ns/uts") d2=$(said "setns /proc/self/ns/mnt")
	respec --privileged
	in_ctr psetns "$script"
	outcome "setns via /proc/1/ns (host namespaces: not visible)" "$d1" "$(said "setns /proc/1/ns/uts")"
	[ "$d1" = "refused (EPERM)" ]
	[ "$d2" = "refused (EPERM)" ]
	[ "$(verdict "setns /proc/1/ns/uts")" = OK ]
}

@test "hostname: sethostname is refused (EPERM); privileged changes only the container's name" {
	local before
	before=$(hostname)
	in_ctr uts 'sec-attack sethostname husk-evil; hostname husk-evil2; hostname'
	local def
	def=$(said "sethostname husk-evil")
	[[ "$output" == *"hostname: sethostname: Operation not permitted"* ]]
	[ "$(hostname)" = "$before" ]
	respec --privileged
	in_ctr puts 'sec-attack sethostname husk-evil; hostname'
	outcome "sethostname" "$def" "$(said "sethostname husk-evil") (container's UTS only)"
	[ "$def" = "refused (EPERM)" ]
	[ "$(verdict "sethostname husk-evil")" = OK ]
	[ "${lines[-1]}" = husk-evil ]
	[ "$(hostname)" = "$before" ]
}

# ---- processes of the host ----

@test "kill -9 of a host pid: ESRCH, the host process survives" {
	host_sleep
	in_ctr kill "sec-attack kill $HOST_PID; kill -9 $HOST_PID"
	local def
	def=$(said "kill $HOST_PID")
	respec --privileged
	in_ctr pkill "sec-attack kill $HOST_PID"
	outcome "kill -9 <host pid>" "$def" "$(said "kill $HOST_PID") (pid namespace)"
	[ "$def" = "refused (ESRCH)" ]
	[[ "$output" == *"No such process"* ]]
	kill -0 "$HOST_PID"
	[ "$(awk '/^State:/ {print $2}' /proc/$HOST_PID/status)" = S ]
}

@test "ptrace: PTRACE_ATTACH and process_vm_readv of a host pid fail (ESRCH); the host process is untouched" {
	host_sleep
	in_ctr ptrace "sec-attack ptrace 1; sec-attack ptrace $HOST_PID; sec-attack process_vm_readv $HOST_PID"
	local d1 d2
	d1=$(said "ptrace $HOST_PID") d2=$(said "process_vm_readv $HOST_PID")
	outcome "ptrace(PTRACE_ATTACH) <host pid>" "$d1"
	outcome "process_vm_readv <host pid>" "$d2"
	# the container's own init is its own business (Docker allows it too)
	outcome "ptrace(PTRACE_ATTACH) of the container's pid 1 (not an escape)" "$(said "ptrace 1")"
	[ "$d1" = "refused (ESRCH)" ]
	[ "$d2" = "refused (ESRCH)" ]
	[ "$(awk '/^TracerPid:/ {print $2}' /proc/$HOST_PID/status)" = 0 ]
	[ "$(awk '/^State:/ {print $2}' /proc/$HOST_PID/status)" = S ]
}

@test "/proc shows only the container's processes" {
	host_sleep
	in_ctr procs 'ls /proc | grep -E "^[0-9]+$" | xargs'
	outcome "see host processes in /proc" "pids: $output"
	[ "$status" -eq 0 ]
	[ ! -d "$BUNDLE/rootfs/proc/$HOST_PID" ]
	local p
	for p in $output; do
		[ "$p" -lt 10 ]
	done
	[[ " $output " == *" 1 "* ]]
}

# ---- privileged system calls ----

# attack_pair LABEL...: the sec-attack verbs of $SCRIPT under the default and
# the privileged profile; the default must refuse each with EPERM, the
# privileged one get past the permission check (anything but EPERM).
attack_pair() {
	local label d=() i
	in_ctr def "$SCRIPT"
	for label in "$@"; do d+=("$(said "$label")"); done
	respec --privileged
	in_ctr priv "$SCRIPT"
	i=0
	for label in "$@"; do
		outcome "$label" "${d[$i]}" "$(said "$label")"
		i=$((i + 1))
	done
	i=0
	for label in "$@"; do
		[ "${d[$i]}" = "refused (EPERM)" ] || { echo "$label: ${d[$i]}"; return 1; }
		[ "$(verdict "$label")" != EPERM ] || { echo "$label: privileged EPERM"; return 1; }
		i=$((i + 1))
	done
}

@test "keyctl, add_key, request_key are refused (EPERM); privileged may" {
	SCRIPT='sec-attack keyctl; sec-attack add_key; sec-attack request_key'
	attack_pair keyctl add_key request_key
}

@test "kexec_load and kexec_file_load are refused (EPERM)" {
	SCRIPT='sec-attack kexec_load; sec-attack kexec_file_load'
	attack_pair kexec_load kexec_file_load
}

@test "modules: init_module, finit_module, delete_module refused (EPERM); modprobe fails" {
	SCRIPT='sec-attack init_module; sec-attack finit_module; sec-attack delete_module; modprobe dummy; echo "modprobe-status: $?"'
	attack_pair init_module finit_module delete_module
	respec
	in_ctr modprobe "$SCRIPT"
	[ "$(echo "$output" | awk '/^modprobe-status: / {print $2}')" -ne 0 ]
}

@test "bpf() is refused (EPERM); privileged may" {
	SCRIPT='sec-attack bpf'
	attack_pair bpf
}

@test "perf_event_open is refused (EPERM); privileged may" {
	SCRIPT='sec-attack perf_event_open'
	attack_pair perf_event_open
}

@test "time: settimeofday, clock_settime, adjtimex and date -s are refused; the host clock is untouched" {
	SCRIPT='sec-attack settimeofday; sec-attack clock_settime; sec-attack adjtimex'
	attack_pair settimeofday clock_settime adjtimex
	# date -s to the current time: harmless even if it were allowed
	respec
	in_ctr date "date -s @$(date +%s)"
	[[ "$output" == *"date: can't set date: Operation not permitted"* ]]
}

@test "reboot is refused (EPERM); privileged reaches the pid namespace's reboot (EINVAL)" {
	local ino
	ino=$(stat -L -c %i /proc/self/ns/pid)
	[ -n "$ino" ]
	SCRIPT="sec-attack reboot $ino"
	attack_pair "reboot $ino"
	[ "$(verdict "reboot $ino")" = EINVAL ]
}

@test "swapon and acct are refused (EPERM); privileged gets past the check" {
	SCRIPT='sec-attack swapon; sec-attack acct'
	attack_pair swapon acct
}

@test "open_by_handle_at (shocker, CVE-2014-3519) is refused; privileged opens the host's root" {
	SCRIPT='sec-attack open_by_handle_at'
	attack_pair open_by_handle_at
}

@test "ioperm, iopl and syslog (dmesg) are refused; privileged may" {
	SCRIPT='sec-attack ioperm; sec-attack iopl; sec-attack syslog'
	attack_pair ioperm iopl syslog
	respec
	in_ctr dmesg 'dmesg'
	[ "$status" -ne 0 ]
}

# ---- /proc and /sys ----

@test "/proc/sys and /proc/sysrq-trigger are read-only (EROFS); privileged: writable" {
	local files=(/proc/sys/kernel/core_pattern /proc/sys/kernel/hostname /proc/sys/vm/drop_caches)
	[ -e /proc/sysrq-trigger ] && files+=(/proc/sysrq-trigger)
	local f script='' d=()
	for f in "${files[@]}"; do script+="sec-attack open $f w; "; done
	in_ctr procsys "$script"
	for f in "${files[@]}"; do d+=("$(said "open $f")"); done
	respec --privileged
	in_ctr pprocsys "$script"
	local i=0
	for f in "${files[@]}"; do
		outcome "open $f for writing" "${d[$i]}" "$(said "open $f")"
		i=$((i + 1))
	done
	[ -e /proc/sysrq-trigger ] || outcome "/proc/sysrq-trigger" "n/a (not in this kernel)"
	i=0
	for f in "${files[@]}"; do
		[ "${d[$i]}" = "refused (EROFS)" ]
		[ "$(verdict "open $f")" = OK ]
		i=$((i + 1))
	done
}

# sysfs_cgroup_targets: the cgroup files of the container's /sys/fs/cgroup that
# the next test opens for writing, chosen for the host's layout (see
# cgroup_mounts for the directory names): v1, per hierarchy the host has,
# devices.allow (the device list), pids.max and the memory hierarchy's
# notify_on_release (the first hierarchy's, without memory: every v1 cgroup
# has one); cgroup2 (pure v2, or a hybrid's unified): cgroup.procs and
# cgroup.max.descendants, core files of every non-root cgroup.
sysfs_cgroup_targets() {
	local fs name first= notify=
	if [ "$(host_cgroup_layout)" = v2 ]; then
		printf '%s\n' /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/cgroup.max.descendants
		return 0
	fi
	while read -r fs name _ _; do
		if [ "$fs" = cgroup2 ]; then
			printf '%s\n' "/sys/fs/cgroup/$name/cgroup.procs" "/sys/fs/cgroup/$name/cgroup.max.descendants"
			continue
		fi
		first=${first:-$name}
		[[ ",$name," != *,devices,* ]] || echo "/sys/fs/cgroup/$name/devices.allow"
		[[ ",$name," != *,pids,* ]] || echo "/sys/fs/cgroup/$name/pids.max"
		[[ ",$name," != *,memory,* ]] || notify=$name
	done < <(cgroup_mounts)
	notify=${notify:-$first}
	[ -z "$notify" ] || echo "/sys/fs/cgroup/$notify/notify_on_release"
}

@test "/sys and the cgroup filesystem are read-only (EROFS); privileged: writable" {
	local files=() f
	# writable attributes of kernel options the host may lack
	# (CONFIG_PROFILING, CONFIG_TRANSPARENT_HUGEPAGE)
	for f in /sys/kernel/profiling /sys/kernel/mm/transparent_hugepage/enabled; do
		[ -e "$f" ] && files+=("$f")
	done
	while read -r f; do files+=("$f"); done < <(sysfs_cgroup_targets)
	[ ${#files[@]} -gt 0 ] || skip "no writable /sys attribute known here and no cgroup filesystem"
	[[ " ${files[*]} " == *" /sys/fs/cgroup/"* ]] ||
		outcome "cgroup files opened for writing" "n/a (no cgroup filesystem on the host)"
	local script='ls /sys/fs/cgroup/*/release_agent 2>/dev/null | wc -l; ' d=()
	for f in "${files[@]}"; do script+="sec-attack open $f w; "; done
	in_ctr sysro "$script"
	local agents=${lines[0]}
	for f in "${files[@]}"; do d+=("$(said "open $f")"); done
	respec --privileged
	in_ctr psysro "$script"
	local i=0
	for f in "${files[@]}"; do
		outcome "open $f for writing" "${d[$i]}" "$(said "open $f")"
		i=$((i + 1))
	done
	outcome "cgroup v1 release_agent files visible" "$agents"
	i=0
	for f in "${files[@]}"; do
		[ "${d[$i]}" = "refused (EROFS)" ]
		[ "$(verdict "open $f")" = OK ]
		i=$((i + 1))
	done
	[ "$agents" -eq 0 ]
}

@test "masked: /proc/kcore, /proc/keys, /proc/timer_list read empty; privileged: not masked" {
	local files=(/proc/keys /proc/timer_list) f script='' d=()
	[ -e /proc/kcore ] && files=(/proc/kcore "${files[@]}")
	for f in "${files[@]}"; do script+="sec-attack read $f; "; done
	in_ctr masked "$script"
	for f in "${files[@]}"; do
		d+=("$(echo "$output" | awk -v k="read $f: OK" 'index($0, k) == 1 {print $4}')")
	done
	respec --privileged
	in_ctr pmasked "$script"
	local i=0
	for f in "${files[@]}"; do
		outcome "read $f" "${d[$i]:-?} bytes" "$(echo "$output" | awk -v k="read $f: " 'index($0, k) == 1 {print $4}') bytes"
		i=$((i + 1))
	done
	[ -e /proc/kcore ] || outcome "/proc/kcore" "n/a (not in this kernel)"
	i=0
	for f in "${files[@]}"; do
		[ "${d[$i]}" = 0 ]
		[ "$(echo "$output" | awk -v k="read $f: " 'index($0, k) == 1 {print $4}')" -gt 0 ] || [ "$f" = /proc/keys ]
		i=$((i + 1))
	done
}

@test "masked: /sys/firmware is empty; privileged: not masked" {
	# a host without firmware entries (no ACPI, no EFI, ...) cannot show it
	[ -n "$(ls -A /sys/firmware 2>/dev/null)" ] || skip "/sys/firmware is empty on the host"
	in_ctr fwmasked 'ls -A /sys/firmware | wc -l'
	local firmware=${lines[0]}
	respec --privileged
	in_ctr pfwmasked 'ls -A /sys/firmware | wc -l'
	outcome "ls /sys/firmware" "$firmware entries" "${lines[0]} entries"
	[ "$firmware" -eq 0 ]
	[ "${lines[0]}" -gt 0 ]
}

@test "mountinfo: no host mounts are visible inside" {
	in_ctr mountinfo 'cat /proc/self/mountinfo'
	[ "$status" -eq 0 ]
	local points leaked
	points=$(echo "$output" | awk '{print $5}')
	leaked=$(echo "$output" | awk '{print $4}' | grep -c "$BUNDLE" || true)
	outcome "host mount points in /proc/self/mountinfo" \
		"$(echo "$points" | grep -cvE '^/(proc|dev|sys)?(/|$)' || true) foreign; bundle path as a mount root: $leaked line(s)"
	! echo "$points" | grep -vE '^/(proc|dev|sys)?(/|$)' || false
	! echo "$points" | grep -F "$BUNDLE" || false
	! echo "$points" | grep -E '^/(work|boot|home|run|var|tmp)' || false
}

@test "network: only lo; an abstract unix socket of the host is unreachable" {
	local name=husk-sec-$$-$BATS_TEST_NUMBER
	python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind("\0" + sys.argv[1])
s.listen(1)
time.sleep(300)' "$name" &
	HOST_PIDS+=($!)
	local i
	for ((i = 0; i < 100; i++)); do grep -q "@$name" /proc/net/unix && break; sleep 0.05; done
	in_ctr net "sec-attack connect-abstract $name; tail -n +3 /proc/net/dev | cut -d: -f1 | xargs"
	outcome "connect to a host abstract unix socket" "$(said "connect-abstract $name")"
	[ "$(verdict "connect-abstract $name")" = ECONNREFUSED ]
	[ "${lines[-1]}" = lo ]
	# the host can connect: the socket is really there
	"$BATS_FILE_TMPDIR/sec-attack" connect-abstract "$name"
}

# ---- devices ----

@test "devices: no mknod by default; with CAP_MKNOD the host's root disk node is made but the device cgroup denies opening it" {
	local majmin maj min
	majmin=$(mountpoint -d /)
	maj=${majmin%:*} min=${majmin#*:}
	local script="sec-attack mknod /dev/hostroot b $maj $min; sec-attack read /dev/hostroot;
		sec-attack mknod /dev/sda-like b 8 0; sec-attack open /dev/sda-like r;
		sec-attack mknod /dev/mem-like c 1 1; sec-attack open /dev/mem-like r;
		sec-attack mknod /dev/kmsg-like c 1 11; sec-attack open /dev/kmsg-like r;
		sec-attack mknod /dev/null-like c 1 3; sec-attack open /dev/null-like rw"
	# the default set has no CAP_MKNOD
	in_ctr nomknod "$script"
	outcome "mknod b $majmin (host root disk), default caps" "$(said "mknod /dev/hostroot")"
	[ "$(verdict "mknod /dev/hostroot")" = EPERM ]
	[ "$(verdict "mknod /dev/null-like")" = EPERM ]
	respec --cap-add MKNOD
	in_ctr devices "$script"
	local mk rd sda mem kmsg null
	mk=$(said "mknod /dev/hostroot") rd=$(said "read /dev/hostroot") sda=$(said "open /dev/sda-like")
	mem=$(said "open /dev/mem-like") kmsg=$(said "open /dev/kmsg-like") null=$(said "open /dev/null-like")
	# privileged, and every device allowed as Docker's --privileged does
	respec --privileged
	update_config '.linux.resources.devices = [{"allow": true, "access": "rwm"}]'
	in_ctr pdevices "$script"
	outcome "mknod b $majmin (host root disk)" "$mk" "$(said "mknod /dev/hostroot")"
	# a sandboxed CI may refuse the disk even to the host itself
	local host_reads=yes
	mknod "$HOST/disk" b "$maj" "$min"
	"$BATS_FILE_TMPDIR/sec-attack" read "$HOST/disk" >/dev/null 2>&1 || host_reads=no
	rm -f "$HOST/disk"
	outcome "read the host root disk via mknod" "$rd" "$(said "read /dev/hostroot")$(
		[ $host_reads = yes ] || echo " (so is the host itself here)")"
	outcome "open b 8:0 (sda)" "$sda" "$(said "open /dev/sda-like")"
	outcome "open c 1:1 (/dev/mem)" "$mem" "$(said "open /dev/mem-like")"
	outcome "open c 1:11 (/dev/kmsg)" "$kmsg" "$(said "open /dev/kmsg-like")"
	outcome "open c 1:3 (/dev/null, allowed)" "$null" "$(said "open /dev/null-like")"
	[ "$mk" = allowed ]
	[ "$rd" = "refused (EPERM)" ]
	[ "$sda" = "refused (EPERM)" ]
	[ "$mem" = "refused (EPERM)" ]
	[ "$kmsg" = "refused (EPERM)" ]
	[ "$null" = allowed ]
	# and privileged, the device cgroup lets them through (no such driver: ENXIO)
	[ "$(verdict "open /dev/kmsg-like")" = OK ]
	[[ "$(verdict "open /dev/sda-like")" == OK || "$(verdict "open /dev/sda-like")" == ENXIO ]]
	[ $host_reads = no ] || [ "$(verdict "read /dev/hostroot")" = OK ]
}

@test "network: no packet or raw ICMP socket by default (no CAP_NET_RAW); ICMP echo sockets for ping are allowed; --cap-add NET_RAW grants raw ones" {
	local script="grep ^CapEff: /proc/self/status; cat /proc/sys/net/ipv4/ping_group_range;
		sec-attack socket-packet; sec-attack socket-raw-icmp; sec-attack socket-icmp-echo"
	local host_range
	host_range=$(cat /proc/sys/net/ipv4/ping_group_range)
	in_ctr rawsock "$script"
	# (a new network namespace starts with "1 0": the value is the config's)
	[ "$(cat /proc/sys/net/ipv4/ping_group_range)" = "$host_range" ]
	local pkt=$(said socket-packet) raw=$(said socket-raw-icmp) echo_=$(said socket-icmp-echo)
	[ "$(verdict socket-packet)" = EPERM ]
	[ "$(verdict socket-raw-icmp)" = EPERM ]
	# ping_group_range is set in the container's own network namespace only
	[ "$(verdict socket-icmp-echo)" = OK ]
	[ "$(echo "${lines[1]}" | xargs)" = "0 0" ]
	respec --cap-add NET_RAW
	in_ctr rawsock2 "$script"
	outcome "packet / raw ICMP / ICMP echo sockets" "$pkt / $raw / $echo_" \
		"with --cap-add NET_RAW: $(said socket-packet) / $(said socket-raw-icmp)"
	[ "$(verdict socket-packet)" = OK ]
	[ "$(verdict socket-raw-icmp)" = OK ]
}

@test "caps: AUDIT_WRITE is not in the default set; spec --cap-add AUDIT_WRITE grants it" {
	in_ctr noaudit 'grep ^CapEff: /proc/self/status'
	[ $((0x$(status_field CapEff) >> 29 & 1)) -eq 0 ]
	respec --cap-add AUDIT_WRITE
	in_ctr audit 'grep ^CapEff: /proc/self/status'
	[ $((0x$(status_field CapEff) >> 29 & 1)) -eq 1 ]
}

@test "devices: no disk, memory or kernel-log device exists in the default /dev" {
	in_ctr devls 'ls /dev | xargs'
	outcome "host devices in /dev" "$output"
	[ "$status" -eq 0 ]
	! echo " $output " | grep -qE ' (sd[a-z]+|vd[a-z]+|nvme[0-9]+|xvd[a-z]+|mem|kmem|port|kmsg|loop[0-9]+|dm-[0-9]+) ' || false
}

# ---- CVE-2019-5736: overwriting the runtime through /proc/PID/exe ----

# private_runtime: run a copy of the runtime that nothing else on the machine
# executes (a running inode answers ETXTBSY and would hide EROFS); also what
# a successful attack would have written to.
private_runtime() {
	cp "$HUSK_RUNTIME" "$BATS_TEST_TMPDIR/husk-runtime"
	HUSK_RUNTIME=$BATS_TEST_TMPDIR/husk-runtime
}

# probe_field NAME: a "NAME: value" line of `sec-5736 probe` in $output.
probe_field() { echo "$output" | sed -n "s/^$1: //p"; }

# not_the_binary: the `sec-5736 probe` in $output found no way to write the
# runtime: no access at all, or an exe that is read-only or sealed and refuses
# O_WRONLY. Read-only is the runtime installed on a read-only mount, which
# needs no guard; the guard gives an empty sealed memfd.
not_the_binary() {
	local fs wr
	[ -n "$(probe_field open)" ] && return 0
	fs=$(probe_field fs) wr=$(probe_field open-wronly)
	[ "$fs" = ro ] || [ "$(probe_field sealed)" = yes ] || return 1
	[[ "$wr" == EROFS || "$wr" == ETXTBSY || "$wr" == EPERM ]]
}

@test "CVE-2019-5736: the waiting init's exe is read-only or sealed, and not the writable binary" {
	private_runtime
	local before pid ino
	before=$(sha256sum <"$HUSK_RUNTIME")
	husk_t create -b "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" exe </dev/null >/dev/null 2>&1
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	ino=$(stat -L -c %d:%i "/proc/$pid/exe")
	run "$BATS_FILE_TMPDIR/sec-5736" probe "$pid"
	echo "$output"
	husk_t start exe
	wait_status exe stopped || true
	outcome "CVE-2019-5736: open /proc/<init>/exe O_WRONLY" \
		"refused ($(probe_field open-wronly)); exe $(probe_field exe) on a $(probe_field fs) fs, sealed: $(probe_field sealed), $(probe_field size) bytes"
	not_the_binary
	# on a writable fs, the exe must not be the binary: not even its inode
	if [ "$(probe_field fs)" = rw ]; then
		[ "$ino" != "$(stat -c %d:%i "$HUSK_RUNTIME")" ]
	fi
	[ "$(sha256sum <"$HUSK_RUNTIME")" = "$before" ]
}

# no_runtime_ran: the run or exec in $status/$output failed to exec the
# entrypoint; had the runtime's code run, it would have printed its version.
no_runtime_ran() {
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Exec format error"* ]]
	[[ "$output" != *"husk-runtime version"* ]]
}

@test "CVE-2019-5736: an entrypoint /proc/self/exe or #!/proc/self/exe does not run the runtime (run and exec)" {
	printf '#!/proc/self/exe --version\n' >"$BUNDLE/rootfs/entry"
	chmod 755 "$BUNDLE/rootfs/entry"
	private_runtime
	local before
	before=$(sha256sum <"$HUSK_RUNTIME")
	set_args /proc/self/exe --version
	run husk_t run -b "$BUNDLE" self </dev/null
	outcome "CVE-2019-5736: entrypoint /proc/self/exe --version" "$(echo "$output" | tail -n 1)"
	no_runtime_ran
	set_args /entry
	run husk_t run -b "$BUNDLE" script </dev/null
	outcome "CVE-2019-5736: entrypoint #!/proc/self/exe --version" "$(echo "$output" | tail -n 1)"
	no_runtime_ran
	set_args sleep 60
	husk_t run -d -b "$BUNDLE" ctr </dev/null >/dev/null 2>&1
	run husk_t exec ctr /proc/self/exe --version </dev/null
	outcome "CVE-2019-5736: exec /proc/self/exe --version" "$(echo "$output" | tail -n 1)"
	no_runtime_ran
	run husk_t exec ctr /entry </dev/null
	outcome "CVE-2019-5736: exec #!/proc/self/exe --version" "$(echo "$output" | tail -n 1)"
	no_runtime_ran
	[ "$(sha256sum <"$HUSK_RUNTIME")" = "$before" ]
}

@test "CVE-2019-5736: from inside, /proc/1/exe of the init waiting for start leads to no writable binary (CAP_SYS_PTRACE too)" {
	private_runtime
	local def
	husk_t create -b "$BUNDLE" exe </dev/null >/dev/null 2>&1
	run husk_t exec exe /bin/sec-5736 probe 1 </dev/null
	echo "$output"
	def="exe '$(probe_field exe)', open: $(probe_field open)"
	not_the_binary
	# CAP_SYS_PTRACE over the host's user namespace passes the init's
	# non-dumpable flag: what it reaches must still not be the binary
	run husk_t exec --cap CAP_SYS_PTRACE exe /bin/sec-5736 probe 1 </dev/null
	echo "$output"
	outcome "CVE-2019-5736: from inside, open /proc/1/exe (waiting init) O_WRONLY" "$def" \
		"with CAP_SYS_PTRACE: exe $(probe_field exe) on a $(probe_field fs) fs, sealed: $(probe_field sealed), open-wronly: $(probe_field open-wronly)"
	[ -n "$(probe_field exe)" ]
	not_the_binary
}

# hunt_execs [SPEC-ARGS...]: a detached container (spec made again with
# SPEC-ARGS if any) hunting exes while the host runs 30 `exec` of a
# #!/proc/self/exe program; its report in $output.
hunt_execs() {
	local i pid
	[ $# -eq 0 ] || respec "$@"
	printf '#!/proc/self/exe\n' >"$BUNDLE/rootfs/evil"
	chmod 755 "$BUNDLE/rootfs/evil"
	# detached: between the execs no runtime process is left running the
	# binary (ETXTBSY), and the hunter goes on trying to reopen it (no `husk
	# state` polling meanwhile: see private_runtime). It hunts until TERM
	# (120 s at most), so that every exec overlaps it however slow the
	# machine, and says "grabbed" as it goes: 30 execs, more (up to 200) until
	# it has grabbed a runtime process.
	set_args /bin/sec-5736 hunt 120
	husk_t run -d --pid-file "$BATS_TEST_TMPDIR/pid" -b "$BUNDLE" hunt </dev/null >"$BATS_TEST_TMPDIR/hunt.out" 2>&1
	local execs=0
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	while [ $execs -lt 30 ] || { [ $execs -lt 200 ] && ! grep -q '^grabbed ' "$BATS_TEST_TMPDIR/hunt.out"; }; do
		husk_t exec hunt /evil >/dev/null 2>&1 </dev/null || true
		execs=$((execs + 1))
	done
	# TERM from here, not by `husk kill`: a runtime running the binary at
	# the end would turn the last refusals into ETXTBSY
	kill -TERM "$pid"
	for ((i = 0; i < 200; i++)); do [ -d "/proc/$pid" ] || break; sleep 0.05; done
	output=$(cat "$BATS_TEST_TMPDIR/hunt.out")
	echo "$output"
	HUNT_EXECS=$((HUNT_EXECS + execs))
	husk_t delete -f hunt >/dev/null 2>&1 || true
}

# hunt_said: the hunt in $output in words.
hunt_said() {
	local writable
	writable=$(grep -c '^WRITABLE' <<<"$output" || true)
	echo "$([ "$writable" = 0 ] && echo refused || echo "WRITABLE $writable")" \
		"($(awk '/^grabs:/ {print $2}' <<<"$output") grabbed: $(grep '^refused' <<<"$output" | awk '{print $NF}' | sort | uniq -c | xargs))"
}

@test "CVE-2019-5736: exec of a #!/proc/self/exe program while the container hunts the runtime's exe (CAP_SYS_PTRACE too)" {
	private_runtime
	local before def grabs=0 g
	HUNT_EXECS=0
	before=$(sha256sum <"$HUSK_RUNTIME")
	hunt_execs
	def=$(hunt_said)
	# the hunter ended on TERM and reported
	g=$(awk '/^grabs:/ {print $2}' <<<"$output")
	[ -n "$g" ]
	grabs=$((grabs + g))
	[ "$(grep -c '^WRITABLE' <<<"$output" || true)" = 0 ]
	# with CAP_SYS_PTRACE the hunter also sees the exec'd processes while
	# they are set up (non-dumpable), as the runtime's children
	hunt_execs --cap-add SYS_PTRACE
	outcome "CVE-2019-5736: reopen a grabbed /proc/<runtime>/exe for writing (#!/proc/self/exe execs)" \
		"$def" "with CAP_SYS_PTRACE: $(hunt_said)"
	g=$(awk '/^grabs:/ {print $2}' <<<"$output")
	[ -n "$g" ]
	grabs=$((grabs + g))
	[ "$(grep -c '^WRITABLE' <<<"$output" || true)" = 0 ]
	[ "$(sha256sum <"$HUSK_RUNTIME")" = "$before" ]
	[ "$grabs" -gt 0 ] || skip "the hunter saw no runtime process in $HUNT_EXECS execs: nothing was attacked"
}

# ---- CVE-2016-9962: the process entering the container by exec ----

# fdhunt_execs N [ptrace]: a detached container running sec-fdhunt while
# the host runs N `husk exec hunt true`, then stops it; its report in
# $output. Host-only fds given to each exec: 3 a directory holding the marker
# file, 4 the marker file.
fdhunt_execs() {
	local n=$1 mode=${2:-} i pid
	echo HUSKSECRET >"$HOST/HUSKSECRET"
	set_args /bin/sec-fdhunt 60 HUSKSECRET ${mode:+"$mode"}
	husk_t run -d --pid-file "$BATS_TEST_TMPDIR/pid" -b "$BUNDLE" hunt </dev/null >"$BATS_TEST_TMPDIR/fdhunt.out" 2>&1
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	for ((i = 0; i < n; i++)); do
		husk_t exec hunt true </dev/null >/dev/null 2>&1 3<"$HOST" 4<"$HOST/HUSKSECRET" || true
		[ -d "/proc/$pid" ] || break # it found enough
	done
	husk_t kill hunt TERM 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do [ -d "/proc/$pid" ] || break; sleep 0.05; done
	output=$(cat "$BATS_TEST_TMPDIR/fdhunt.out")
	echo "$output" | sort | uniq -c
}

@test "CVE-2016-9962: the container cannot ptrace an exec'd process before its seccomp filter is on" {
	fdhunt_execs 60 ptrace
	local traced first
	traced=$(echo "$output" | awk '/^ptraced:/ {print $2}')
	# an example from before the filter, if there is one
	first=$(echo "$output" | grep '^PTRACE' | sort -t= -k4 | head -n 1 | sed 's/^PTRACE pid=[0-9]* //')
	outcome "CVE-2016-9962: PTRACE_SEIZE the runtime while it enters by exec (60 execs)" \
		"$([ "$traced" = 0 ] && echo refused || echo "ALLOWED $traced times, e.g. $first")"
	[ -n "$traced" ]
	[ "$traced" = 0 ]
}

@test "CVE-2016-9962: fds the caller leaks into exec are not reachable from the container through /proc" {
	fdhunt_execs 60
	local leaks first
	leaks=$(echo "$output" | awk '/^leaks:/ {print $2}')
	first=$(echo "$output" | grep '^LEAK' | sort -t= -k5 | head -n 1 | sed 's/^LEAK pid=[0-9]* //')
	outcome "CVE-2016-9962: open /proc/<exec'd pid>/fd/N of a host dir/file the caller left open (60 execs)" \
		"$([ "$leaks" = 0 ] && echo refused || echo "OPENED $leaks times, e.g. $first")"
	[ -n "$leaks" ]
	[ "$leaks" = 0 ]
}

@test "CVE-2016-9962: fds the caller leaks into create are not reachable from the container while it waits for start" {
	# the content differs from the file name: an error message naming the
	# file must not count as reading it
	echo "content-$$-of-the-secret" >"$HOST/HUSKSECRET"
	set_args true
	husk_t create -b "$BUNDLE" waiting </dev/null >/dev/null 2>&1 7<"$HOST"
	run husk_t exec waiting sh -c 'cat /proc/1/fd/7/HUSKSECRET; ls -l /proc/1/fd'
	outcome "CVE-2016-9962: read a host file through /proc/1/fd/N of the init waiting for start" \
		"$([[ "$output" == *content-$$-of-the-secret* ]] && echo "READ the host file" || echo refused)"
	[[ "$output" != *content-$$-of-the-secret* ]]
}

# ---- CVE-2024-21626: a leaked fd as the working directory ----

# What a process started with a leaked host directory as its cwd reaches by
# climbing: device:inode of that directory, then the names in it. Climbing
# (16 levels) from a host directory ends at the host's root, whatever the host
# holds; the host's root is named by device:inode, not by what it contains.
CLIMB='stat -c %d:%i ../../../../../../../../../../../../../../../../; ls ../../../../../../../../../../../../../../../../ | xargs'

@test "CVE-2024-21626: cwd /proc/self/fd/N never reaches a host directory (run and exec)" {
	local n escaped=0 started=0 host_root
	host_root=$(stat -c %d:%i /)
	# busybox stat inside names a directory as the host's stat does: the
	# container's root is the bundle's rootfs, not the host's root
	run_ctr rootprobe stat -c %d:%i /
	[ "$status" -eq 0 ]
	[ "$output" = "$(stat -c %d:%i "$BUNDLE/rootfs")" ]
	[ "$output" != "$host_root" ]
	for n in 3 4 5 6 7 8 9 10 11 12; do
		update_config ".process.cwd = \"/proc/self/fd/$n\""
		run_ctr "cwd$n" sh -c "$CLIMB"
		if [ "$status" -eq 0 ]; then
			started=$((started + 1))
			[ "${lines[0]}" != "$host_root" ] || { echo "fd $n: $output"; escaped=$((escaped + 1)); }
		fi
	done
	update_config '.process.cwd = "/" | .process.args = ["sleep", "60"]'
	husk_t run -d -b "$BUNDLE" cwdexec </dev/null >/dev/null 2>&1
	for n in 3 4 5 6 7 8 9 10 11 12; do
		run husk_t exec --cwd "/proc/self/fd/$n" cwdexec sh -c "$CLIMB"
		if [ "$status" -eq 0 ]; then
			started=$((started + 1))
			[ "${lines[0]}" != "$host_root" ] || { echo "exec fd $n: $output"; escaped=$((escaped + 1)); }
		fi
	done
	outcome "CVE-2024-21626: process.cwd / exec --cwd = /proc/self/fd/3..12" \
		"$([ $escaped = 0 ] && echo refused || echo "ESCAPED $escaped") ($started of 20 started, inside the rootfs)"
	[ "$escaped" = 0 ]
}

# ---- CVE-2021-30465 / CVE-2025-31133: symlinks in the rootfs ----

# host_mounts_under DIR: mount points on the host at or below DIR.
host_mounts_under() { findmnt -rn -o TARGET | grep "^$1" || true; }

@test "CVE-2021-30465: a mount destination symlinked to a host path lands inside the rootfs" {
	mkdir -p "$HOST/outside" "$HOST/src"
	echo victim >"$HOST/outside/file"
	echo from-volume >"$HOST/src/marker"
	ln -s "$HOST/outside" "$BUNDLE/rootfs/abs"
	ln -s "../../../../../../../../../../../../$HOST/outside" "$BUNDLE/rootfs/rel"
	update_config ".mounts += [
		{\"destination\": \"/abs\", \"type\": \"bind\", \"source\": \"$HOST/src\", \"options\": [\"bind\"]},
		{\"destination\": \"/rel\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"}]
		| .process.args = [\"sh\", \"-c\", \"cat /abs/marker; ls -A /rel | wc -l; sleep 60\"]"
	husk_t run -d -b "$BUNDLE" symmount </dev/null >/dev/null 2>&1
	local during after
	sleep 0.2
	during=$(host_mounts_under "$HOST")
	[ -d "$BUNDLE/rootfs/$HOST/outside" ]
	husk_t delete -f symmount
	after=$(host_mounts_under "$HOST")
	outcome "CVE-2021-30465: mount onto a symlink to a host dir" \
		"$([ -z "$during$after" ] && echo "stayed in the rootfs" || echo "ESCAPED: $during $after")"
	[ -z "$during" ]
	[ -z "$after" ]
	[ "$(cat "$HOST/outside/file")" = victim ]
	[ "$(ls -A "$HOST/outside")" = file ]
}

@test "CVE-2025-31133: maskedPaths and readonlyPaths symlinked to host files stay inside the rootfs" {
	echo secret >"$HOST/victim"
	mkdir -p "$HOST/victimdir"
	ln -s "$HOST/victim" "$BUNDLE/rootfs/masklink"
	ln -s "$HOST/victimdir" "$BUNDLE/rootfs/rolink"
	update_config ".linux.maskedPaths += [\"/masklink\"] | .linux.readonlyPaths += [\"/rolink\"]
		| .process.args = [\"sleep\", \"60\"]"
	husk_t run -d -b "$BUNDLE" symmask </dev/null >/dev/null 2>&1
	sleep 0.2
	local during
	during=$(host_mounts_under "$HOST")
	# the host files stay readable, writable and unmasked
	[ "$(cat "$HOST/victim")" = secret ]
	touch "$HOST/victimdir/still-writable"
	husk_t delete -f symmask
	outcome "CVE-2025-31133: maskedPaths/readonlyPaths entry symlinked to a host file" \
		"$([ -z "$during$(host_mounts_under "$HOST")" ] && echo "stayed in the rootfs" || echo "ESCAPED: $during")"
	[ -z "$during" ]
	[ -z "$(host_mounts_under "$HOST")" ]
	[ "$(cat "$HOST/victim")" = secret ]
}

@test "CVE-2025-31133: with /dev from the image, a /dev/null symlinked to a host file is not used" {
	echo secret >"$HOST/victim"
	mkdir -p "$BUNDLE/rootfs/dev"
	ln -s "$HOST/victim" "$BUNDLE/rootfs/dev/null"
	# /proc/sys/kernel/core_pattern: the target that would give a host escape
	ln -s /proc/sys/kernel/core_pattern "$BUNDLE/rootfs/dev/zero"
	update_config 'del(.mounts[] | select(.destination | startswith("/dev")))
		| .root.readonly = false'
	in_ctr devnull 'stat -c "%F %t:%T" /dev/null /proc/keys; sec-attack open /proc/keys w; sec-attack read /proc/keys'
	local types=("${lines[0]}" "${lines[1]}")
	outcome "CVE-2025-31133: /dev/null -> host file, then masking" \
		"/dev/null: ${types[0]}; /proc/keys: ${types[1]}, $(said "read /proc/keys") $(echo "$output" | awk '/^read \/proc\/keys: OK/ {print $4}') bytes"
	[ "$status" -eq 0 ]
	[ "${types[0]}" = "character special file 1:3" ]
	[ "${types[1]}" = "character special file 1:3" ]
	[ "$(cat "$HOST/victim")" = secret ]
	[ ! -L "$BUNDLE/rootfs/dev/null" ]
	[ -z "$(host_mounts_under "$HOST")" ]
}

@test "CVE-2025-31133 race: another container flipping the victim's /dev/null to core_pattern never gets a mask bound to it" {
	# The victim's /dev comes from its rootfs; the attacker container has that
	# directory as a volume and keeps renaming a symlink to
	# /proc/sys/kernel/core_pattern over dev/null and a real null back.
	local victim=$BUNDLE rounds=60 i won=0 started=0 hit
	update_config 'del(.mounts[] | select(.destination | startswith("/dev")))
		| .root.readonly = false
		| .process.args = ["sh", "-c", "stat -L -c \"%F %t:%T\" /proc/keys; sec-attack read /proc/keys; sec-attack open /proc/keys w"]'
	mkdir -p "$victim/rootfs/dev"
	# the attacker
	local abundle=$BATS_TEST_TMPDIR/attacker
	mkdir -p "$abundle"
	cp -a "$(shared_rootfs)" "$abundle/rootfs"
	cp "$BATS_FILE_TMPDIR/sec-attack" "$abundle/rootfs/bin/"
	mkdir -p "$abundle/rootfs/victimdev"
	cat >"$abundle/flip.sh" <<-'EOF'
		cd /victimdev
		while :; do
			ln -sf /proc/sys/kernel/core_pattern n1 2>/dev/null && mv -f n1 null
			mknod n2 c 1 3 2>/dev/null; mv -f n2 null
		done
	EOF
	cp "$abundle/flip.sh" "$abundle/rootfs/flip.sh"
	(cd "$abundle" && "$HUSK_RUNTIME" spec) >/dev/null
	EXTRA_CGROUPS+=("$CGROUP_NAME-attacker")
	jq --arg dev "$victim/rootfs/dev" --arg cg "/$CGROUP_NAME-attacker" '.process.terminal = false
		| .process.args = ["sh", "/flip.sh"] | .linux.cgroupsPath = $cg
		| .mounts += [{"destination": "/victimdev", "type": "bind", "source": $dev, "options": ["rbind"]}]' \
		"$abundle/config.json" >"$abundle/c.json" && mv "$abundle/c.json" "$abundle/config.json"
	husk_t run -d -b "$abundle" flipper </dev/null >/dev/null 2>&1
	for ((i = 0; i < rounds; i++)); do
		run husk_t run -b "$victim" "v$i"
		husk_t delete -f "v$i" >/dev/null 2>&1 || true
		[ "$status" -eq 0 ] || continue
		started=$((started + 1))
		if [[ "$output" != *"character special file 1:3"* ]] || [[ "$output" == *"open /proc/keys: OK"* && "$output" != *"read /proc/keys: OK 0 bytes"* ]]; then
			hit=$output
			won=$((won + 1))
			break # one is enough; a fixed runtime goes through all rounds
		fi
	done
	husk_t delete -f flipper
	[ -z "${hit:-}" ] || echo "a won round: $hit"
	outcome "CVE-2025-31133 race: /dev/null flipped to core_pattern by another container" \
		"$([ $won = 0 ] && echo "never bound ($started/$rounds started)" || echo "WON in round $started: the masked /proc/keys is the host's core_pattern, writable")"
	[ "$won" = 0 ]
}

@test "symlinks: a process.cwd through a symlink to a host dir is created inside the rootfs" {
	mkdir -p "$HOST/outside"
	ln -s "$HOST/outside" "$BUNDLE/rootfs/cwdlink"
	update_config '.process.cwd = "/cwdlink/made-by-runtime"'
	in_ctr cwdlink 'pwd'
	outcome "process.cwd created through a symlink to a host dir" \
		"$([ -e "$HOST/outside/made-by-runtime" ] && echo "ESCAPED (created on the host)" || echo "stayed in the rootfs")"
	[ ! -e "$HOST/outside/made-by-runtime" ]
	[ -z "$(ls -A "$HOST/outside")" ]
}

# ---- file descriptors ----

# fds_of PID: the open fds of PID, seen from the host.
fds_of() { ls "/proc/$1/fd" | sort -n | xargs; }

# wait_file F: until F is not empty.
wait_file() {
	local i
	for ((i = 0; i < 100; i++)); do [ -s "$1" ] && return 0; sleep 0.05; done
	return 1
}

@test "fds: only 0 1 2 inside for run, create+start and exec; --preserve-fds 1 adds 3" {
	local fds_run fds_cs fds_exec fds_pfd t=$BATS_TEST_TMPDIR
	set_args sleep 60
	# the container's processes, looked at from the host: nothing of the
	# runtime (state dir, sync sockets, exec fifo, cgroup dirs) leaks in
	husk_t run --pid-file "$t/run.pid" -b "$BUNDLE" fdrun </dev/null >/dev/null 2>&1 3</etc/hostname 4</etc/passwd 7</dev/null &
	HOST_PIDS+=($!)
	wait_file "$t/run.pid"
	wait_status fdrun running
	fds_run=$(fds_of "$(cat "$t/run.pid")")
	husk_t create --pid-file "$t/cs.pid" -b "$BUNDLE" fdcs </dev/null >/dev/null 2>&1 3</etc/hostname
	husk_t start fdcs 5</etc/hostname
	wait_status fdcs running
	fds_cs=$(fds_of "$(cat "$t/cs.pid")")
	ls -l "/proc/$(cat "$t/cs.pid")/fd"
	husk_t exec -d --pid-file "$t/exec.pid" fdcs sleep 60 </dev/null >/dev/null 2>&1 3</etc/hostname 6</etc/passwd
	wait_file "$t/exec.pid"
	fds_exec=$(fds_of "$(cat "$t/exec.pid")")
	ls -l "/proc/$(cat "$t/exec.pid")/fd"
	husk_t exec -d --preserve-fds 1 --pid-file "$t/pfd.pid" fdcs sleep 60 </dev/null >/dev/null 2>&1 3</etc/hostname
	wait_file "$t/pfd.pid"
	fds_pfd=$(fds_of "$(cat "$t/pfd.pid")")
	# and from inside: what a shell started by exec holds
	run husk_t exec fdcs sh -c 'ls /proc/$$/fd; true'
	outcome "fds leaked into the container (run / create+start / exec)" "$fds_run / $fds_cs / $fds_exec"
	outcome "exec --preserve-fds 1" "$fds_pfd"
	[ "$fds_run" = "0 1 2" ]
	[ "$fds_cs" = "0 1 2" ]
	[ "$fds_exec" = "0 1 2" ]
	[ "$fds_pfd" = "0 1 2 3" ]
	[ "$(echo $output)" = "0 1 2" ]
}

@test "fds: a seccomp profile without close_range still leaves only 0 1 2, also with no /proc to list" {
	local t=$BATS_TEST_TMPDIR fds_create fds_exec
	# close_range refused, and no mount namespace: the runtime cannot fall
	# back to listing /proc/self/fd after the filter is on
	update_config 'del(.hostname) | del(.linux.sysctl) | .linux.namespaces = [] | .linux.seccomp = {
		"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["close_range"], "action": "SCMP_ACT_ERRNO"}]}'
	set_args sleep 60
	husk_t create --pid-file "$t/c.pid" -b "$BUNDLE" fdscmp </dev/null >/dev/null 2>&1 3</etc/hostname 4</etc/passwd
	husk_t start fdscmp
	wait_status fdscmp running
	fds_create=$(fds_of "$(cat "$t/c.pid")")
	husk_t exec -d --pid-file "$t/e.pid" fdscmp sleep 60 </dev/null >/dev/null 2>&1 3</etc/hostname
	wait_file "$t/e.pid"
	fds_exec=$(fds_of "$(cat "$t/e.pid")")
	outcome "fds in the container when seccomp refuses close_range (create / exec)" "$fds_create / $fds_exec"
	[ "$fds_create" = "0 1 2" ]
	[ "$fds_exec" = "0 1 2" ]
}

# ---- exec ----

@test "exec: the process gets the same confinement (caps, no_new_privs, seccomp, no mount)" {
	set_args sleep 60
	husk_t run -d -b "$BUNDLE" ex </dev/null >/dev/null 2>&1
	run husk_t exec ex sh -c 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; mount -t tmpfs x /tmp; sec-attack mount-tmpfs /tmp; sec-attack keyctl; sec-attack unshare-user'
	echo "$output"
	outcome "exec: keyctl / unshare -U / caps" \
		"keyctl: $(said keyctl), unshare: $(said unshare-user); CapEff=$(status_field CapEff) NNP=$(status_field NoNewPrivs) Seccomp=$(status_field Seccomp)"
	[ "$(status_field CapEff)" = $DEFAULT_CAPS ]
	[ "$(status_field CapBnd)" = $DEFAULT_CAPS ]
	[ "$(status_field NoNewPrivs)" = 1 ]
	[ "$(status_field Seccomp)" = 2 ]
	[[ "$output" == *"mount: permission denied (are you root?)"* ||
		"$output" == *"mount: mounting x on /tmp failed: Operation not permitted"* ]]
	[ "$(verdict "mount-tmpfs /tmp")" = EPERM ]
	[ "$(verdict keyctl)" = EPERM ]
	[ "$(verdict unshare-user)" = EPERM ]
}

# ---- the spec options that loosen the profile ----

@test "spec --privileged: mount works, all caps, Seccomp 0, NoNewPrivs 0, nothing masked" {
	respec --privileged
	in_ctr priv 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; sec-attack mount-tmpfs /tmp; grep -c " /proc/" /proc/self/mountinfo; sec-attack read /proc/timer_list'
	local full
	full=$(full_caps)
	outcome "spec --privileged" "-" "CapEff=$(status_field CapEff) Seccomp=$(status_field Seccomp) mount: $(said "mount-tmpfs /tmp")"
	[ "$(status_field CapEff)" = "$full" ]
	[ "$(status_field Seccomp)" = 0 ]
	[ "$(status_field NoNewPrivs)" = 0 ]
	[ "$(verdict "mount-tmpfs /tmp")" = OK ]
	# no mask or read-only bind under /proc
	[ "$(echo "$output" | grep -E '^[0-9]+$')" = 0 ]
	[ "$(echo "$output" | awk '/^read \/proc\/timer_list: OK/ {print $4}')" -gt 0 ]
}

@test "spec --cap-add SYS_ADMIN: mount -t tmpfs works, the other attacks stay refused" {
	local ino
	ino=$(stat -L -c %i /proc/self/ns/pid)
	respec --cap-add SYS_ADMIN
	in_ctr sysadmin "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; sec-attack mount-tmpfs /tmp;
		sec-attack keyctl; sec-attack kexec_load; sec-attack init_module; sec-attack bpf; sec-attack open_by_handle_at;
		sec-attack open /proc/sys/kernel/core_pattern w; sec-attack reboot $ino; sec-attack iopl"
	outcome "spec --cap-add SYS_ADMIN: mount -t tmpfs" "$(said "mount-tmpfs /tmp")"
	# bpf: Docker's profile allows it with CAP_SYS_ADMIN too
	outcome "spec --cap-add SYS_ADMIN: keyctl, kexec_load, init_module, bpf, open_by_handle_at, core_pattern, reboot, iopl" \
		"$(for l in keyctl kexec_load init_module bpf open_by_handle_at "open /proc/sys/kernel/core_pattern" "reboot $ino" iopl; do verdict "$l"; done | xargs)"
	[ "$(status_field CapEff)" = "$(printf '%016x' $((0x$DEFAULT_CAPS | 1 << 21)))" ]
	[ "$(status_field NoNewPrivs)" = 1 ]
	[ "$(status_field Seccomp)" = 2 ]
	[ "$(verdict "mount-tmpfs /tmp")" = OK ]
	[ "$(verdict keyctl)" = EPERM ]
	[ "$(verdict kexec_load)" = EPERM ]
	[ "$(verdict init_module)" = EPERM ]
	[ "$(verdict open_by_handle_at)" = EPERM ]
	[ "$(verdict "open /proc/sys/kernel/core_pattern")" = EROFS ]
	[ "$(verdict "reboot $ino")" = EPERM ]
	[ "$(verdict iopl)" = EPERM ]
}

@test "spec --seccomp unconfined: Seccomp 0, the default caps kept (mount still EPERM)" {
	respec --seccomp unconfined
	in_ctr unconfined 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; sec-attack mount-tmpfs /tmp; sec-attack keyctl'
	outcome "spec --seccomp unconfined" "Seccomp=$(status_field Seccomp) CapEff=$(status_field CapEff) mount: $(said "mount-tmpfs /tmp") keyctl: $(said keyctl)"
	[ "$(status_field Seccomp)" = 0 ]
	[ "$(status_field CapEff)" = $DEFAULT_CAPS ]
	[ "$(status_field NoNewPrivs)" = 1 ]
	[ "$(verdict "mount-tmpfs /tmp")" = EPERM ]
	# without the filter keyctl is the kernel's to allow
	[ "$(verdict keyctl)" = OK ]
}

@test "spec --cap-drop ALL: CapEff 0; even mknod is refused" {
	respec --cap-drop ALL
	in_ctr capdrop 'grep -E "^(CapEff|CapBnd|Seccomp):" /proc/self/status; sec-attack mknod /dev/x c 1 3; sec-attack sethostname x'
	outcome "spec --cap-drop ALL" "CapEff=$(status_field CapEff) mknod: $(said "mknod /dev/x")"
	[ "$(status_field CapEff)" = 0000000000000000 ]
	[ "$(status_field CapBnd)" = 0000000000000000 ]
	[ "$(status_field Seccomp)" = 2 ]
	[ "$(verdict "mknod /dev/x")" = EPERM ]
}
