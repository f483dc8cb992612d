#!/bin/sh
# Entrypoint of kubeadm-local-cluster nodes: prepares the container so that
# systemd, containerd and the kubelet can run in it, then becomes /sbin/init.
#
# It works both in privileged containers and in the capability-based mode
# used where --privileged is refused: there the runtime mounts the cgroup
# hierarchies read-only, and a fresh mount (rooted at this container's own
# cgroup, thanks to the private cgroup namespace) replaces each of them.
set -eu

say() { echo "local-cluster-entrypoint: $*" >&2; }

mount_options() {
	# Field 6 of mountinfo holds the per-mount options of mount point $1.
	awk -v mp="$1" '$5 == mp { print $6; exit }' /proc/self/mountinfo
}

super_options() {
	# The super-block options follow the " - fstype source" separator.
	awk -v mp="$1" '$5 == mp { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 3); exit } }' /proc/self/mountinfo
}

is_read_only() {
	case ",$(mount_options "$1")," in *,ro,*) return 0 ;; *) return 1 ;; esac
}

detach() {
	# Detach a read-only cgroup mount at once, even while it is in use. Any
	# Go program (1.25 or later) exec'd into the booting node, such as the
	# kubectl that `up` runs in the master to ask whether the API answers,
	# opens cpu.cfs_quota_us and cpu.cfs_period_us under /sys/fs/cgroup/cpu
	# (cpu.max on cgroup v2) at start and keeps them open, as its runtime
	# follows the CPU limit. A plain umount failed with EBUSY whenever one
	# ran as this loop reached that hierarchy (about once in 20 restores
	# under load), and the node died. Such a program keeps reading the same
	# cgroup through the detached mount until it exits; everything started
	# later sees the fresh mount.
	umount -l "$1"
}

fix_cgroup_v2() {
	if is_read_only /sys/fs/cgroup; then
		mount -o remount,rw,nosuid,nodev,noexec /sys/fs/cgroup ||
			{ detach /sys/fs/cgroup && mount -t cgroup2 -o rw,nosuid,nodev,noexec cgroup2 /sys/fs/cgroup; }
	fi
	# The root of our cgroup namespace may not hold processes once controllers
	# are delegated to children: move everything into init.scope first.
	mkdir -p /sys/fs/cgroup/init.scope
	while read -r pid; do
		echo "$pid" >/sys/fs/cgroup/init.scope/cgroup.procs 2>/dev/null || true
	done </sys/fs/cgroup/cgroup.procs
	sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control
}

fix_cgroup_v1() {
	# Each hierarchy under /sys/fs/cgroup: remount read-write where needed.
	# Remounting in place fails with EBUSY, so unmount and mount afresh.
	if is_read_only /sys/fs/cgroup; then
		mount -o remount,rw /sys/fs/cgroup
	fi
	awk '$5 ~ "^/sys/fs/cgroup/" { print $5 }' /proc/self/mountinfo | while read -r dir; do
		if ! is_read_only "$dir"; then
			continue
		fi
		fstype=$(awk -v mp="$dir" '$5 == mp { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1); exit } }' /proc/self/mountinfo)
		if [ -L "$dir" ] || [ -z "$fstype" ]; then
			continue
		fi
		opts=$(super_options "$dir" | tr ',' '\n' | grep -v -e '^rw$' -e '^ro$' | paste -sd, -)
		detach "$dir"
		if [ "$fstype" = cgroup2 ]; then
			mount -t cgroup2 -o rw,nosuid,nodev,noexec cgroup2 "$dir"
		else
			mount -t cgroup -o "rw,nosuid,nodev,noexec,$opts" cgroup "$dir"
		fi
	done
}

# A node needs a cgroup namespace of its own, rooted at its container's
# cgroup: the engine is asked for one (CgroupnsMode private), but Podman 4's
# Docker-compatible API leaves the container in the host's namespace on a
# cgroup v1 host. The node then sees the host's cgroup paths in
# /proc/self/cgroup (/libpod_parent/libpod-ID) beside hierarchies mounted
# from its own cgroup, and the kubelet cannot find the cgroups it makes.
# Enter one here instead: the view a private namespace gives.
in_host_cgroup_namespace() {
	awk -F: '$3 != "/" { found = 1 } END { exit !found }' /proc/self/cgroup
}
if [ -z "${LOCAL_CLUSTER_OWN_CGROUPNS:-}" ] && in_host_cgroup_namespace; then
	if unshare --cgroup true; then
		say "the engine gave no private cgroup namespace: entering one"
		LOCAL_CLUSTER_OWN_CGROUPNS=1 exec unshare --cgroup "$0" "$@"
	fi
	say "the engine gave no private cgroup namespace and none can be made here: the kubelet may fail"
fi
unset LOCAL_CLUSTER_OWN_CGROUPNS

# The cgroup v1 hierarchies this machine does not mount (commonly hugetlb,
# net_cls,net_prio and perf_event) get no cgroup of the container's from the
# engine: systemd in the node would mount them at their true root, which
# every node of every cluster on this kernel (and the host) shares. Their
# kubelets then fight over the same paths: static pods have the same UID in
# every cluster (a hash of the manifest and the node name), so a kubelet
# could not remove a replaced kube-scheduler pod's hugetlb cgroup while
# another cluster's scheduler ran in it, and never started the new one.
# Each such hierarchy is mounted here, the node's processes moved into a
# cgroup of its own there, and the entrypoint re-executed in a new cgroup
# namespace rooted at it (the hierarchies then mounted afresh, rooted there).
# Those cgroups stay in the host's hierarchy after the container is gone.
node_id() {
	id=$(awk '$5 == "/etc/hostname" { print $4; exit }' /proc/self/mountinfo | grep -o '[0-9a-f]\{64\}' | head -n 1)
	[ -n "$id" ] || id=$(cat /proc/sys/kernel/random/uuid)
	echo "kubeadm-local-cluster-$id"
}

unmounted_hierarchies() {
	# One line per enabled hierarchy no cgroup filesystem is mounted for: its
	# controllers joined by commas, as systemd names its folder.
	awk 'NR > 1 && $2 != 0 && $4 == 1 { if ($2 in h) h[$2] = h[$2] "," $1; else h[$2] = $1 }
	     END { for (k in h) print h[k] }' /proc/cgroups | while read -r names; do
		first=${names%%,*}
		if ! awk -v c="$first" '{
			for (i = 7; i < NF; i++) if ($i == "-") break
			if ($(i + 1) != "cgroup") next
			n = split($(i + 3), o, ","); for (j = 1; j <= n; j++) if (o[j] == c) found = 1
		} END { exit !found }' /proc/self/mountinfo; then
			echo "$names"
		fi
	done
}

own_unmounted_hierarchies() {
	names_list=$(unmounted_hierarchies)
	[ -n "$names_list" ] || return 0
	own=$(node_id)
	moved=""
	for names in $names_list; do
		dir=/sys/fs/cgroup/$names
		mkdir -p "$dir"
		mount -t cgroup -o "rw,nosuid,nodev,noexec,$names" cgroup "$dir" || continue
		if [ -e "$dir/release_agent" ]; then
			mkdir -p "$dir/$own"
			for pid in $(ls /proc | grep '^[0-9][0-9]*$'); do
				echo "$pid" >"$dir/$own/cgroup.procs" 2>/dev/null || true
			done
			moved="$moved $names"
		fi
	done
	if [ -n "$moved" ] && unshare --cgroup true; then
		say "cgroup hierarchies the engine left shared:$moved; this node's own: $own"
		LOCAL_CLUSTER_REMOUNT=$moved exec unshare --cgroup "$0" "$@"
	fi
}

remount_owned_hierarchies() {
	for names in $LOCAL_CLUSTER_REMOUNT; do
		dir=/sys/fs/cgroup/$names
		umount -l "$dir"
		mount -t cgroup -o "rw,nosuid,nodev,noexec,$names" cgroup "$dir"
		# systemd names a joined hierarchy's controllers by links.
		case "$names" in *,*)
			for name in $(echo "$names" | tr ',' ' '); do
				[ -e "/sys/fs/cgroup/$name" ] || ln -s "$names" "/sys/fs/cgroup/$name"
			done
			;;
		esac
	done
}

if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	fix_cgroup_v2
elif [ -n "${LOCAL_CLUSTER_REMOUNT:-}" ]; then
	remount_owned_hierarchies
	unset LOCAL_CLUSTER_REMOUNT
else
	fix_cgroup_v1
	own_unmounted_hierarchies "$@"
fi

# The kubelet propagates mounts between pods and the node.
mount --make-rshared /

# The kubelet's OOM watcher reads /dev/kmsg; without it, point it at the console.
if [ ! -e /dev/kmsg ]; then
	ln -s /dev/console /dev/kmsg
fi

# Pods cannot reach the engine's DNS server at 127.0.0.11 (that address is
# loopback in every network namespace). Make it answer on the node's own
# address too, by the same DNAT the engine uses for 127.0.0.11, and give the
# kubelet a resolv.conf naming that address for pods (CoreDNS forwards there,
# so pods resolve node names and outside names).
setup_dns_for_pods() {
	mkdir -p /etc/kubeadm-local-cluster
	if ! grep -q '^nameserver 127\.0\.0\.11' /etc/resolv.conf; then
		cp /etc/resolv.conf /etc/kubeadm-local-cluster/resolv.conf
		return
	fi
	node_ip=$(ip -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1]; exit }')
	rules=""
	# The engine wrote its rules with the host's iptables flavour.
	for save in iptables-nft-save iptables-legacy-save; do
		rules=$($save -t nat 2>/dev/null | grep -e '-A DOCKER_OUTPUT' || true)
		[ -n "$rules" ] && break
	done
	for proto in udp tcp; do
		port=$(echo "$rules" | awk -v p="$proto" '$0 ~ "-p " p && /--to-destination/ { n = split($NF, a, ":"); print a[n]; exit }')
		if [ -n "$port" ] && [ -n "$node_ip" ]; then
			# PREROUTING for pods, OUTPUT for host-network pods (kube-proxy).
			for chain in PREROUTING OUTPUT; do
				iptables -t nat -A "$chain" -d "$node_ip" -p "$proto" --dport 53 \
					-m comment --comment local-cluster-dns -j DNAT --to-destination "127.0.0.11:$port"
			done
		fi
	done
	# Let packets from pod interfaces be routed to a loopback address.
	sysctl -q -w net.ipv4.conf.all.route_localnet=1
	sed "s/^nameserver 127\.0\.0\.11/nameserver $node_ip/" /etc/resolv.conf >/etc/kubeadm-local-cluster/resolv.conf
}
setup_dns_for_pods || say "pods may not resolve names outside the cluster: DNS setup failed"

exec "$@"
