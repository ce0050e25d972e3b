#!/usr/bin/env bash
# Run a command inside a qemu guest booted on a pure cgroup v2 hierarchy.
#
#   tests/vm/run-lane.sh [--keep] [--interactive] -- COMMAND [ARG...]
#
# The guest is Debian 12's cloud kernel (downloaded with apt-get download,
# never installed on the host) plus a throw-away initramfs holding busybox,
# bash, bats, jq, a few host tools with their libraries and a copy of the
# husk tree (build/ included) at the same absolute path as on the host.
# COMMAND runs as root in that tree; this script exits with its exit code.
#
#   --keep         keep the scratch dir (initramfs, console.log, disk image)
#   -i, --interactive  the command gets the serial console as its terminal
#                  (e.g. `-i -- bash`); Ctrl-A x kills qemu
#
# Exit codes: the guest command's own; 124 when HUSK_VM_TIMEOUT expired;
# 125 when the lane itself failed (no exit marker from the guest, setup
# error); 2 for a usage error.
#
# Environment (all optional):
#   HUSK_VM_CACHE       kernel/busybox/bats cache  (/var/cache/husk-vm)
#   HUSK_VM_SRC         tree copied into the guest (this repository)
#   HUSK_VM_SRC_EXCLUDE tar --exclude patterns for that copy
#                       (".git ./build-*": build/ goes in, build-asan/ not)
#   HUSK_VM_TIMEOUT     seconds before the guest is killed (900), counted from
#                       its start; the command sees it as HUSK_VM_TIMEOUT (and
#                       the kernel's uptime), so that it can stop in time
#   HUSK_VM_MEM         guest memory in MiB (2048)
#   HUSK_VM_SMP         guest CPUs (2)
#   HUSK_VM_CPU         qemu CPU model (max)
#   HUSK_VM_DISK_MB     size of the scratch virtio disk /dev/vda, 0 = none (64)
#   HUSK_VM_EXTRA_BINS  more host programs (names or absolute paths) copied
#                       in with their libraries; pkg:NAME takes every program
#                       of the installed Debian package NAME
#   HUSK_VM_DEFAULT_BINS replaces the default list (DEFAULT_BINS below); bash
#                       and jq are always there
#   HUSK_VM_EXTRA_PATHS host files or directories copied in as they are (their
#                       ELF files' libraries too). Python, for instance:
#                       HUSK_VM_EXTRA_BINS=/usr/bin/python3
#                       HUSK_VM_EXTRA_PATHS=/usr/lib/python3.11
#   HUSK_VM_MODULES     kernel modules loaded in the guest (deps added)
#   HUSK_VM_PASS_ENV    names of host variables exported to the command
#                       (CI and the test suite's own limits: "CI
#                       HUSK_TEST_TIMEOUT HUSK_TIMEOUT"); those unset on the
#                       host are left out
#   HUSK_VM_KERNEL_PKG  exact kernel package (default: what
#                       linux-image-cloud-amd64 depends on)
#   HUSK_VM_APPEND      extra kernel command line
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd -P)
readonly SCRIPT_DIR REPO_ROOT

CACHE=${HUSK_VM_CACHE:-/var/cache/husk-vm}
SRC=${HUSK_VM_SRC:-$REPO_ROOT}
SRC_EXCLUDE=${HUSK_VM_SRC_EXCLUDE-.git ./build-*}
TIMEOUT=${HUSK_VM_TIMEOUT:-900}
MEM=${HUSK_VM_MEM:-2048}
SMP=${HUSK_VM_SMP:-2}
CPU=${HUSK_VM_CPU:-max}
DISK_MB=${HUSK_VM_DISK_MB:-64}
# The host's GNU/util-linux/procps tools rather than busybox applets, whose
# options differ (stat -f, losetup --show, setpriv --reuid, mountpoint...);
# shadow's useradd & co. for the rootless tests.
DEFAULT_BINS="dash pkg:coreutils pkg:util-linux pkg:mount grep sed find xargs
	tar diff script ps pgrep pkill ip getent useradd userdel groupadd groupdel
	newuidmap newgidmap"
EXTRA_BINS="${HUSK_VM_DEFAULT_BINS-$DEFAULT_BINS} ${HUSK_VM_EXTRA_BINS:-}"
MODULES=${HUSK_VM_MODULES-virtio_pci virtio_blk loop overlay veth bridge dummy}
PASS_ENV=${HUSK_VM_PASS_ENV-CI HUSK_TEST_TIMEOUT HUSK_TIMEOUT}
KERNEL_META=linux-image-cloud-amd64
# Tools the lane cannot do without, whatever HUSK_VM_EXTRA_BINS says.
readonly REQUIRED_BINS="bash jq"

# Guest kernel command line. mitigations=off: the guest is a throw-away
# test box and TCG pays dearly for page-table isolation and retpolines.
CMDLINE="console=ttyS0 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all"
CMDLINE+=" quiet panic=-1 mitigations=off rdinit=/init"

keep=0
interactive=0
work=""
qemu_pid=""
tail_pid=""

log() { printf 'husk-vm: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 125
}

usage() {
	sed -n '2,/^set -Eeuo/{/^set -Eeuo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# Ends only what this script started, by PID, and removes the scratch dir.
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() {
	local rc=$?
	if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	if [[ -n $tail_pid ]] && kill -0 "$tail_pid" 2>/dev/null; then
		kill "$tail_pid" 2>/dev/null || true
		wait "$tail_pid" 2>/dev/null || true
	fi
	# qemu's stdio backend puts a terminal in raw mode.
	if ((interactive)) && [[ -t 0 ]]; then stty sane 2>/dev/null || true; fi
	if [[ -n $work ]]; then
		if ((keep)); then
			log "kept $work (initramfs.cpio, console.log, disk.raw)"
		else
			rm -rf -- "$work"
		fi
	fi
	exit "$rc"
}

parse_args() {
	while (($#)); do
		case $1 in
		--keep) keep=1 ;;
		-i | --interactive) interactive=1 ;;
		-h | --help)
			usage
			exit 0
			;;
		--)
			shift
			break
			;;
		*)
			usage >&2
			exit 2
			;;
		esac
		shift
	done
	if (($# == 0)); then
		usage >&2
		exit 2
	fi
	COMMAND=("$@")
}

# --- host packages and cache -------------------------------------------------

apt_updated=0
apt_update_once() {
	((apt_updated)) && return 0
	apt_updated=1
	log "apt-get update"
	apt-get update -qq >&2 || log "apt-get update failed"
}

# Installs Debian package $2 unless command $1 is already there.
ensure_host_tool() {
	command -v "$1" >/dev/null 2>&1 && return 0
	log "installing $2 (for $1)"
	apt_update_once
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "$2" >&2 || die "cannot install $2"
}

# Prints the candidate version of package $1, or nothing.
candidate_version() {
	local ver
	ver=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
	if [[ -z $ver || $ver == "(none)" ]]; then
		apt_update_once
		ver=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
	fi
	[[ $ver == "(none)" ]] && ver=""
	printf '%s\n' "$ver"
}

# Prints the exact kernel package behind the cloud meta-package.
resolve_kernel_pkg() {
	if [[ -n ${HUSK_VM_KERNEL_PKG:-} ]]; then
		printf '%s\n' "$HUSK_VM_KERNEL_PKG"
		return
	fi
	local pkg
	pkg=$(apt-cache depends "$KERNEL_META" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ {print $2; exit}')
	if [[ -z $pkg ]]; then
		apt_update_once
		pkg=$(apt-cache depends "$KERNEL_META" 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-/ {print $2; exit}')
	fi
	printf '%s\n' "$pkg"
}

# Prints the name of the (first) directory under $1/lib/modules.
kernel_version_in() {
	local d
	for d in "$1"/lib/modules/*/; do
		[[ -d $d ]] && basename "$d" && return 0
	done
	die "no modules directory in $1"
}

# Prints the newest (by version sort) of the existing paths given.
newest_existing() {
	local p
	for p in "$@"; do [[ -e $p ]] && printf '%s\n' "$p"; done | sort -V | tail -n1
}

# Post-extraction hook for kernel packages: generate modules.dep, which the
# package leaves to depmod at install time.
# shellcheck disable=SC2317 # called through fetch_deb's hook argument
prepare_kernel_tree() {
	local root=$1 kver
	kver=$(kernel_version_in "$root")
	"$BUSYBOX" depmod -b "$root" "$kver" || die "depmod for $kver failed"
}

# Makes sure package $1 is extracted under $CACHE/debs and prints that dir.
# Downloads with apt-get download (nothing is installed on the host);
# falls back to the newest cached copy when apt has no candidate (offline).
fetch_deb() {
	local pkg=$1 hook=${2:-} ver dir tmp
	ver=$(candidate_version "$pkg")
	if [[ -z $ver ]]; then
		dir=$(newest_existing "$CACHE/debs/${pkg}_"*/.complete)
		[[ -n $dir ]] || die "apt knows no package $pkg and none is cached"
		log "no apt candidate for $pkg, using cached ${dir%/.complete}"
		dirname "$dir"
		return
	fi
	dir=$CACHE/debs/${pkg}_${ver//:/%}
	if [[ ! -e $dir/.complete ]]; then
		log "downloading $pkg $ver"
		tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
		# Sandbox user root: the _apt user cannot write into our temp dir.
		(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root \
			"$pkg=$ver") >&2 || {
			rm -rf "$tmp"
			die "apt-get download $pkg=$ver failed"
		}
		dpkg-deb -x "$tmp"/*.deb "$tmp/root" || {
			rm -rf "$tmp"
			die "cannot unpack $pkg"
		}
		[[ -z $hook ]] || "$hook" "$tmp/root"
		touch "$tmp/root/.complete"
		rm -rf "$dir"
		mv "$tmp/root" "$dir"
		rm -rf "$tmp"
	fi
	printf '%s\n' "$dir"
}

# Fills BUSYBOX, BATS_ROOT, KERNEL_ROOT, KVER, VMLINUZ, under a lock so
# that concurrent lanes do not race on the shared cache.
prepare_cache() {
	local kpkg lockfd dir key resolved=$CACHE/resolved.env
	mkdir -p "$CACHE/debs"
	exec {lockfd}>"$CACHE/.lock"
	flock "$lockfd"
	# Left by a lane killed mid-download; only lock holders create them.
	rm -rf "$CACHE"/.fetch.*

	# apt-cache takes ~0.5 s a call: while the apt lists are unchanged
	# (apt-get update renames files into the directory), reuse what the
	# last run resolved.
	key="$(stat -c %Y /var/lib/apt/lists 2>/dev/null) ${HUSK_VM_KERNEL_PKG:-}"
	if [[ -f $resolved ]]; then
		local RESOLVED_KEY=""
		# shellcheck source=/dev/null
		. "$resolved"
		if [[ $RESOLVED_KEY == "$key" && -f $VMLINUZ && -x $BUSYBOX &&
			-e $BATS_ROOT/.complete && -e $KERNEL_ROOT/.complete ]]; then
			exec {lockfd}>&-
			return 0
		fi
	fi

	dir=$(fetch_deb busybox-static)
	BUSYBOX=$dir/bin/busybox
	[[ -x $BUSYBOX ]] || BUSYBOX=$dir/usr/bin/busybox
	[[ -x $BUSYBOX ]] || die "no busybox binary in $dir"

	BATS_ROOT=$(fetch_deb bats)
	[[ -x $BATS_ROOT/usr/bin/bats ]] || die "no bats in $BATS_ROOT"

	kpkg=$(resolve_kernel_pkg)
	if [[ -z $kpkg ]]; then
		# Offline and apt lists gone: take whatever cloud kernel is cached.
		kpkg=$(newest_existing "$CACHE"/debs/linux-image-*-cloud-amd64_*/.complete)
		[[ -n $kpkg ]] || die "cannot resolve the package behind $KERNEL_META"
		kpkg=$(basename "$(dirname "$kpkg")")
		kpkg=${kpkg%%_*}
	fi
	KERNEL_ROOT=$(fetch_deb "$kpkg" prepare_kernel_tree)
	KVER=$(kernel_version_in "$KERNEL_ROOT")
	VMLINUZ=$KERNEL_ROOT/boot/vmlinuz-$KVER
	[[ -f $VMLINUZ ]] || die "no kernel image in $KERNEL_ROOT"

	printf 'RESOLVED_KEY=%q BUSYBOX=%q BATS_ROOT=%q\n' "$key" "$BUSYBOX" "$BATS_ROOT" >"$resolved"
	printf 'KERNEL_ROOT=%q KVER=%q VMLINUZ=%q\n' "$KERNEL_ROOT" "$KVER" "$VMLINUZ" >>"$resolved"
	exec {lockfd}>&-
}

# --- initramfs ---------------------------------------------------------------

declare -A queued=()
host_files=()

# Queues host file $1 for copy_queued_files. /lib/x and /usr/lib/x are the
# same file in the merged-/usr image: queue only one of them.
queue_host_file() {
	local key=$1
	case $key in
	/bin/* | /sbin/* | /lib/* | /lib64/*) key=/usr$key ;;
	esac
	[[ -n ${queued[$key]:-} ]] && return 0
	queued[$key]=1
	host_files+=("${1#/}")
}

# Copies the queued host files to the same paths in the image, following
# symlinks; one cp for all, relative to / so that --parents goes through
# the image's /bin -> usr/bin style links.
copy_queued_files() {
	((${#host_files[@]})) || return 0
	(cd / && cp -L --parents --preserve=mode -t "$stage" "${host_files[@]}") ||
		die "cannot copy host files into the image"
	host_files=()
}

# ELF files whose shared libraries copy_needed_libs will bring in.
elfs=()

# Prints the libraries ELF file $1 loads, absolute paths, and ?NAME for
# each one not found. ldd fails for static programs: expected.
libs_of() {
	{ ldd "$1" 2>/dev/null || true; } | awk '
		/=> not found/ { print "?" $1; next }
		{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'
}

# Copies the shared libraries (and loader) of all $elfs. ldd costs ~10 ms a
# file and the image has ~250 of them, so its answers are kept in
# $CACHE/ldd.cache, keyed by size, mtime and path.
copy_needed_libs() {
	local cache=$CACHE/ldd.cache tmp key size mtime f libs lib
	local -A known=()
	((${#elfs[@]})) || return 0
	if [[ -r $cache ]]; then
		while IFS=$'\t' read -r key libs; do known[$key]=$libs; done <"$cache"
	fi
	tmp=$(mktemp "$CACHE/.ldd.XXXXXX")
	while read -r size mtime f; do
		key="$size $mtime $f"
		[[ -n ${known[$key]+set} ]] || known[$key]=$(libs_of "$f" | tr '\n' ' ')
		printf '%s\t%s\n' "$key" "${known[$key]}" >>"$tmp"
		for lib in ${known[$key]}; do
			case $lib in
			\?*) log "warning: $f needs ${lib#\?}, which the host lacks" ;;
			"$SRC"/*) ;; # part of the tree, copied with it
			*) queue_host_file "$lib" ;;
			esac
		done
	done < <(stat -L -c '%s %Y %n' -- "${elfs[@]}" || true) # a rebuild may remove some
	mv -f "$tmp" "$cache"
	copy_queued_files
}

is_elf() {
	local magic=""
	IFS= read -r -n 4 -d '' magic <"$1" 2>/dev/null || true
	[[ $magic == $'\x7fELF' ]]
}

# Merged-/usr skeleton, like Debian 12, so #!/bin/bash and ldd's
# /lib/x86_64-linux-gnu paths land where the host has them.
make_skeleton() {
	local d
	mkdir -p "$stage"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev}
	mkdir -p "$stage"/{tmp,run,root,mnt,var/tmp,husk-vm,sys/fs/cgroup}
	for d in bin sbin lib lib64; do ln -s "usr/$d" "$stage/$d"; done
	chmod 1777 "$stage/tmp" "$stage/var/tmp"
	chmod 0700 "$stage/root"
	# Without it the kernel starts /init with no stdio; stage 1 copes anyway.
	mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true

	cat >"$stage/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/bash
		daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
		bin:x:2:2:bin:/bin:/usr/sbin/nologin
		nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
	EOF
	cat >"$stage/etc/group" <<-'EOF'
		root:x:0:
		daemon:x:1:
		bin:x:2:
		tty:x:5:
		disk:x:6:
		users:x:100:
		nogroup:x:65534:
	EOF
	# shadow files for useradd; no passwords anywhere.
	awk -F: '{print $1 ":*:19000:0:99999:7:::"}' "$stage/etc/passwd" >"$stage/etc/shadow"
	awk -F: '{print $1 ":*::"}' "$stage/etc/group" >"$stage/etc/gshadow"
	chmod 0640 "$stage/etc/shadow" "$stage/etc/gshadow"
	for d in /etc/login.defs /etc/default/useradd; do
		[[ -f $d ]] && mkdir -p "$stage${d%/*}" && cp "$d" "$stage$d"
	done
	printf 'root:100000:65536\n' >"$stage/etc/subuid"
	printf 'root:100000:65536\n' >"$stage/etc/subgid"
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' \
		>"$stage/etc/nsswitch.conf"
	printf '127.0.0.1\tlocalhost husk-vm\n::1\tlocalhost ip6-localhost\n' \
		>"$stage/etc/hosts"
	echo husk-vm >"$stage/etc/hostname"
	ln -s ../proc/self/mounts "$stage/etc/mtab"
	[[ -f /etc/os-release ]] && cp /etc/os-release "$stage/etc/os-release"
	# glibc's C.UTF-8 is a compiled locale, not built in; 400 KiB.
	if [[ -d /usr/lib/locale/C.utf8 ]]; then
		mkdir -p "$stage/usr/lib/locale"
		cp -r /usr/lib/locale/C.utf8 "$stage/usr/lib/locale/"
	fi
	return 0
}

# Prints the absolute paths of host programs named by $EXTRA_BINS word $1.
resolve_host_programs() {
	local name=$1 path
	if [[ $name == pkg:* ]]; then
		dpkg -L "${name#pkg:}" 2>/dev/null | grep -E '^(/usr)?/s?bin/[^/]+$' ||
			log "warning: package ${name#pkg:} is not installed on the host"
		return 0
	fi
	path=$(command -v "$name" 2>/dev/null) || path=""
	if [[ $path == /* ]]; then
		printf '%s\n' "$path"
	else
		log "warning: the host lacks $name, the guest will too"
	fi
}

install_tools() {
	local name path applet dest
	for name in $REQUIRED_BINS; do
		command -v "$name" >/dev/null || die "the host lacks $name"
	done
	# Host programs first, so busybox fills in only what is missing.
	for name in $REQUIRED_BINS $EXTRA_BINS; do
		while read -r path; do
			[[ -e $path ]] || continue
			queue_host_file "$path"
			is_elf "$path" && elfs+=("$path")
		done < <(resolve_host_programs "$name")
	done
	copy_queued_files
	# /bin/sh: dash as on Debian, else bash. Never busybox: its sh runs its
	# own applets in preference to the real tools on PATH.
	if [[ -x $stage/usr/bin/dash ]]; then
		ln -sf dash "$stage/usr/bin/sh"
	else
		ln -sf bash "$stage/usr/bin/sh"
	fi

	cp "$BUSYBOX" "$stage/usr/bin/busybox"
	while read -r applet; do
		dest=${applet##*/}
		[[ -e $stage/usr/bin/$dest || -e $stage/usr/sbin/$dest ]] && continue
		case $applet in
		sbin/* | usr/sbin/*) ln -s /usr/bin/busybox "$stage/usr/sbin/$dest" ;;
		*) ln -s /usr/bin/busybox "$stage/usr/bin/$dest" ;;
		esac
	done < <("$BUSYBOX" --list-full)

	install_extra_paths

	# bats is bash scripts; take its whole package payload except docs.
	(cd "$BATS_ROOT" && tar -cf - --exclude=./usr/share ./usr) |
		tar -C "$stage" -xf -
}

# Copies $HUSK_VM_EXTRA_PATHS and queues their ELF files for ldd.
install_extra_paths() {
	local p f
	for p in ${HUSK_VM_EXTRA_PATHS:-}; do
		[[ $p == /* && -e $p ]] || die "HUSK_VM_EXTRA_PATHS: no such absolute path: $p"
		(cd / && cp -a --parents "${p#/}" "$stage") || die "cannot copy $p"
		while IFS= read -r -d '' f; do
			is_elf "$f" && elfs+=("$f")
		done < <(find "$p" -type f \( -perm -u+x -o -name '*.so*' \) -print0)
	done
}

install_modules() {
	local -A dep_of=() key_of=() emitted=()
	local line key name mod out
	local moddir=$KERNEL_ROOT/lib/modules/$KVER
	mkdir -p "$stage/lib/modules/$KVER"
	: >"$stage/husk-vm/modules.list"
	while IFS= read -r line; do
		key=${line%%:*}
		name=${key##*/}
		name=${name%%.ko*}
		key_of[${name//-/_}]=$key
		dep_of[$key]=${line#*:}
	done <"$moddir/modules.dep"

	# Depth-first: dependencies are listed (and loaded) before their users.
	emit() {
		local k=$1 d
		[[ -n ${emitted[$k]:-} ]] && return 0
		emitted[$k]=1
		for d in ${dep_of[$k]}; do emit "$d"; done
		out=${k%.xz}
		out=${out%.zst}
		out=${out%.gz}
		mkdir -p "$stage/lib/modules/$KVER/$(dirname "$out")"
		case $k in
		*.xz) xz -dc "$moddir/$k" ;;
		*.zst) zstd -qdc "$moddir/$k" ;;
		*.gz) gzip -dc "$moddir/$k" ;;
		*) cat "$moddir/$k" ;;
		esac >"$stage/lib/modules/$KVER/$out"
		echo "$out" >>"$stage/husk-vm/modules.list"
	}
	for mod in $MODULES; do
		mod=${mod//-/_}
		if [[ -n ${key_of[$mod]:-} ]]; then
			emit "${key_of[$mod]}"
		elif grep -q "/$mod.ko" "$moddir/modules.builtin"; then
			: # built into the kernel
		else
			log "warning: no module $mod in $KVER"
		fi
	done
}

copy_tree() {
	local -a excludes=()
	local pat f
	set -f # the patterns are for tar, not for the shell
	for pat in $SRC_EXCLUDE; do excludes+=("--exclude=$pat"); done
	set +f
	mkdir -p "$stage$SRC"
	# Others may be editing the tree right now: tar's exit 1 ("file changed
	# as we read it") is expected, anything worse is not.
	{
		tar -C "$SRC" "${excludes[@]}" --warning=no-file-changed \
			--warning=no-file-removed -cf - . || (($? == 1))
	} | tar -C "$stage$SRC" -xf -
	# Programs and test helpers the project built need their libraries too;
	# the copy is what the guest gets, its host twin is what ldd reads.
	while IFS= read -r -d '' f; do
		f=${f#"$stage"}
		is_elf "$f" && elfs+=("$f")
	done < <(find "$stage$SRC" -type f -perm -u+x -print0 || true)
	return 0
}

# Writes the command and its environment for stage 2 to run with bash.
write_guest_command() {
	local name
	{
		echo "#!/bin/bash"
		echo "# Generated by tests/vm/run-lane.sh"
		echo "export HOME=/root USER=root LOGNAME=root"
		if [[ -d $stage/usr/lib/locale/C.utf8 ]]; then
			echo "export LANG=C.UTF-8"
		else
			echo "export LANG=C"
		fi
		echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		if ((interactive)); then
			printf 'export TERM=%q\n' "${TERM:-vt100}"
		else
			echo "export TERM=dumb"
		fi
		echo "export HUSK_VM=1"
		printf 'export HUSK_VM_SRC=%q HUSK_VM_KERNEL=%q\n' "$SRC" "$KVER"
		echo "export HUSK_VM_TIMEOUT=$TIMEOUT"
		if ((DISK_MB > 0)); then echo "export HUSK_VM_BLOCKDEV=/dev/vda"; fi
		for name in $PASS_ENV; do
			[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "bad name in HUSK_VM_PASS_ENV: $name"
			if [[ -v $name ]]; then printf 'export %s=%q\n' "$name" "${!name}"; fi
		done
		# shellcheck disable=SC2016 # expanded in the guest
		echo 'cd -- "$HUSK_VM_SRC" || exit 126'
		printf 'exec'
		printf ' %q' "${COMMAND[@]}"
		printf '\n'
	} >"$stage/husk-vm/cmd.sh"
	# Host paths copied in, one a line: no tmpfs may hide them.
	# shellcheck disable=SC2086 # a space-separated list, like install_extra_paths
	printf '%s\n' "$SRC" ${HUSK_VM_EXTRA_PATHS:-} >"$stage/husk-vm/keep-paths"
	# Plain words only: busybox sh sources this file.
	{
		((DISK_MB > 0)) && echo "VM_BLOCKDEV=/dev/vda"
		echo "VM_INTERACTIVE=$interactive"
	} >"$stage/husk-vm/guest.conf"
}

build_initramfs() {
	local t0=$SECONDS
	stage=$work/root
	make_skeleton
	install_tools
	install_modules
	copy_tree
	copy_needed_libs
	install -m 0755 "$SCRIPT_DIR/guest/init" "$stage/init"
	install -m 0755 "$SCRIPT_DIR/guest/stage2" "$stage/husk-vm/stage2"
	write_guest_command
	# Uncompressed: unpacking is faster than decompressing under TCG.
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		"$BUSYBOX" cpio -o -H newc -R 0:0 >"$work/initramfs.cpio") 2>/dev/null ||
		die "cannot write the initramfs"
	rm -rf "$stage"
	log "initramfs $(du -h "$work/initramfs.cpio" | cut -f1) in $((SECONDS - t0))s"
}

# --- boot ----------------------------------------------------------------------

boot_guest() {
	# shellcheck disable=SC2054 # commas inside qemu option values
	local -a qemu=(qemu-system-x86_64
		-machine pc -accel tcg,thread=multi -cpu "$CPU"
		-m "$MEM" -smp "$SMP"
		-nodefaults -no-user-config -display none -serial mon:stdio
		-no-reboot
		-kernel "$VMLINUZ" -initrd "$work/initramfs.cpio"
		-append "$CMDLINE ${HUSK_VM_APPEND:-}")
	if ((DISK_MB > 0)); then
		truncate -s "${DISK_MB}M" "$work/disk.raw"
		qemu+=(-drive "file=$work/disk.raw,format=raw,if=virtio,cache=unsafe")
	fi

	local log=$work/console.log start=$SECONDS deadline=$((SECONDS + TIMEOUT))
	: >"$log"
	log "booting $KVER (timeout ${TIMEOUT}s)"
	if ((interactive)); then
		# Explicit: without it bash hands background jobs /dev/null.
		"${qemu[@]}" <&0 >"$log" 2>&1 &
	else
		"${qemu[@]}" </dev/null >"$log" 2>&1 &
	fi
	qemu_pid=$!
	# Stream the console; tail leaves by itself once qemu is gone.
	tail -n +1 -f --pid="$qemu_pid" "$log" &
	tail_pid=$!

	local timed_out=0
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			timed_out=1
			log "timeout after ${TIMEOUT}s, killing qemu"
			kill "$qemu_pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=""
	wait "$tail_pid" 2>/dev/null || true
	tail_pid=""

	local rc ready
	rc=$(tr -d '\r' <"$log" | sed -n 's/^HUSK-VM-EXIT=\([0-9]\{1,3\}\)$/\1/p' | tail -n1)
	ready=$(tr -d '\r' <"$log" | sed -n 's/^HUSK-VM-READY uptime=\([0-9.]*\)s.*/\1/p' | tail -n1)
	if ((timed_out)); then
		GUEST_RC=124
	elif [[ -z $rc ]]; then
		log "error: the guest ended without an exit marker"
		GUEST_RC=125
	else
		GUEST_RC=$rc
	fi
	log "guest exit $GUEST_RC after $((SECONDS - start))s of its ${TIMEOUT}s limit" \
		"(kernel uptime at command start: ${ready:-?}s)"
}

main() {
	parse_args "$@"
	[[ $TIMEOUT =~ ^[0-9]+$ && $DISK_MB =~ ^[0-9]+$ ]] ||
		die "HUSK_VM_TIMEOUT and HUSK_VM_DISK_MB must be integers"
	SRC=$(realpath -e "$SRC") || die "no such tree: ${HUSK_VM_SRC:-}"
	case $SRC in
	/ | /proc | /proc/* | /sys | /sys/* | /dev | /dev/*)
		die "cannot place $SRC in the guest"
		;;
	esac

	trap cleanup EXIT
	# An unexpected failure must not pass for the guest command's status.
	trap 'log "error: unexpected failure (line $LINENO: $BASH_COMMAND)"; exit 125' ERR
	trap 'exit 130' INT
	trap 'exit 143' TERM

	ensure_host_tool qemu-system-x86_64 qemu-system-x86
	ensure_host_tool apt-get apt
	ensure_host_tool dpkg-deb dpkg
	ensure_host_tool flock util-linux
	ensure_host_tool jq jq
	prepare_cache

	work=$(mktemp -d "${TMPDIR:-/tmp}/husk-vm.XXXXXX")
	build_initramfs
	boot_guest
	exit "$GUEST_RC"
}

main "$@"
