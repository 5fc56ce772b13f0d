#!/usr/bin/env bash
# A two-hypervisor, Proxmox-like lab in network namespaces, with faults that make ping slow the
# way it happens in the field (a rate-limited link plus a bulk flow that congests it).
#
#   hc-vm1 eth0 ─ [hc-vio1 br0] ─ tap100i0 ┐hc-hv1 vmbr0┌ eno1 ═╗
#                                                               ║ hc-fab sw0 ── hc-stor eth0
#   hc-vm2 eth0 ─ [hc-vio2 br0] ─ tap200i0 ┘hc-hv2 vmbr0└ eno1 ═╝
#   + management bridge hc-mgmt (root namespace, 10.250.0.1) with a mgmt0 leg in every node.
#
# Everything this script creates is named hc-* (namespaces, root-namespace links) or lives inside
# those namespaces; background processes are tracked by pid files in the state dir, so `down`
# removes exactly what `up`/`start-pipeline`/`fault` made, and nothing else.
#
# Usage: build/lab.sh up|down|status|fault fabric|nic|vif|flap-vif|flap-fabric|clear|measure [N]|stp on FD|off|flap-tap|qlimit on|off|bond up|traffic burst|flood [S]|start-pipeline|stop-pipeline|demo
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${HC_LAB_STATE:-$repo/.lab}"
pids="$state/pids"
logs="$state/logs"

# The correlator listens on the management bridge, not loopback, so the lab runs with TLS like a
# real site: a CA of its own in $state/pki (made by `capture pki`), a server certificate for
# 10.250.0.1, one certificate per agent node and an operator certificate for the CLI, which this
# script (and tests/Lab.Tests) pass through HOPCAPTURE_CA/HOPCAPTURE_CERT/HOPCAPTURE_KEY.
correlator_url="https://10.250.0.1:7400"
correlator_dll="$repo/src/Correlator/bin/Release/net10.0/hopcapture-correlator.dll"
agent_dll="$repo/src/Agent/bin/Release/net10.0/hopcapture-agent.dll"
cli_dll="$repo/src/Cli/bin/Release/net10.0/capture.dll"

pki="$state/pki"
export HOPCAPTURE_CA="$pki/ca.crt" HOPCAPTURE_CERT="$pki/client-lab.crt" HOPCAPTURE_KEY="$pki/client-lab.key"

# How long a fault's bulk flow runs at most; `fault clear` (or `down`) stops it earlier.
fault_seconds="${HC_FAULT_SECONDS:-60}"

all_ns=(hc-vm1 hc-vio1 hc-hv1 hc-fab hc-hv2 hc-vio2 hc-vm2 hc-stor)
# Created later by `vm add` while the pipeline runs (issue 10); removed by `down` like the rest.
extra_ns=(hc-vm3 hc-vio3)
# node name -> management address (the nodes that run agents, plus the storage host).
declare -A mgmt_ip=([vm1]=10.250.0.11 [hv1]=10.250.0.12 [hv2]=10.250.0.13 [vm2]=10.250.0.14 [stor]=10.250.0.15)

say() { printf 'lab: %s\n' "$*"; }
die() { printf 'lab: %s\n' "$*" >&2; exit 1; }
need_root() { [[ $EUID -eq 0 ]] || die "must run as root (network namespaces, tc, capture)"; }
nsx() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

# ---------------------------------------------------------------- background processes

# spawn NAME NS|root CMD...: start CMD in the background in its own session (so a group kill
# also reaches children such as the iperf3 under `timeout`), log to logs/NAME.log, record
# "pid starttime" so a recycled pid is never killed by mistake.
spawn() {
    local name="$1" ns="$2"; shift 2
    mkdir -p "$pids" "$logs"
    # The daemon must not inherit descriptors above stderr: run under `flock LOCK build/lab.sh …`,
    # the lock's descriptor would live on in it and hold the lab lock until the pipeline stops.
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd="${fd##*/}"
            ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
        done
        if [[ "$ns" == root ]]; then
            exec setsid "$@" >"$logs/$name.log" 2>&1 </dev/null
        else
            exec setsid ip netns exec "$ns" "$@" >"$logs/$name.log" 2>&1 </dev/null
        fi
    ) &
    local pid=$!
    echo "$pid $(starttime "$pid")" >"$pids/$name.pid"
}

starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# alive NAME: the process recorded for NAME still runs (same pid and same start time).
alive() {
    local f="$pids/$1.pid" pid st
    [[ -f "$f" ]] || return 1
    read -r pid st <"$f" || return 1
    [[ -n "$pid" && -d "/proc/$pid" && "$(starttime "$pid")" == "$st" ]]
}

# stop NAME: TERM the process group, wait up to 5 s, then KILL. Removes the pid file.
stop() {
    local name="$1" f="$pids/$1.pid" pid st i
    [[ -f "$f" ]] || return 0
    read -r pid st <"$f" || true
    if alive "$name"; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do alive "$name" || break; sleep 0.1; done
        if alive "$name"; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$f"
}

stop_matching() { # stop every recorded process whose name starts with $1
    local f
    for f in "$pids/$1"*.pid; do [[ -e "$f" ]] && stop "$(basename "$f" .pid)"; done
    return 0
}

# Wait until `cmd` succeeds or the deadline passes. poll SECONDS CMD...
poll() {
    local secs="$1"; shift
    local end=$((SECONDS + secs))
    while ((SECONDS < end)); do "$@" && return 0; sleep 0.2; done
    "$@"
}

# ---------------------------------------------------------------- topology

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

new_ns() {
    ip netns add "$1"
    nsx "$1" ip link set lo up
    # No IPv6 in the lab: router/neighbour solicitations would only add noise to captures.
    nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# bridge NS NAME: a Proxmox-style bridge: STP off, forward delay 0 so ports forward at once.
bridge() {
    ip -n "$1" link add "$2" type bridge stp_state 0 forward_delay 0
    ip -n "$1" link set "$2" up
}

mgmt_leg() { # mgmt_leg NODE: veth hc-m-NODE (root, on hc-mgmt) <-> mgmt0 (in hc-NODE)
    local node="$1"
    ip link add "hc-m-$node" type veth peer name mgmt0 netns "hc-$node"
    ip link set "hc-m-$node" master hc-mgmt up
    ip -n "hc-$node" addr add "${mgmt_ip[$node]}/24" dev mgmt0
    ip -n "hc-$node" link set mgmt0 up
}

# hypervisor N TAP VMIP: guest hc-vmN, virtio hop hc-vioN, hypervisor hc-hvN.
hypervisor() {
    local n="$1" tap="$2" vmip="$3"
    local vm="hc-vm$n" vio="hc-vio$n" hv="hc-hv$n"
    # Guest NIC eth0 <-> g0 in the virtio hop; h0 in the virtio hop <-> tap in the hypervisor.
    # The extra hop exists so a fault can sit *between* the guest NIC and the tap (see `fault vif`).
    ip -n "$vm" link add eth0 type veth peer name g0 netns "$vio"
    ip -n "$vio" link add h0 type veth peer name "$tap" netns "$hv"
    bridge "$vio" br0
    ip -n "$vio" link set g0 master br0 up
    ip -n "$vio" link set h0 master br0 up
    ip -n "$vm" addr add "$vmip/24" dev eth0
    ip -n "$vm" link set eth0 up
    # Hypervisor: tap and physical NIC are ports of vmbr0, which carries the node's address.
    bridge "$hv" vmbr0
    ip -n "$hv" addr add "10.77.0.$n/24" dev vmbr0
    ip -n "$hv" link set "$tap" master vmbr0 up
    ip -n "$hv" link add eno1 type veth peer name "p-hv$n" netns hc-fab
    ip -n "$hv" link set eno1 master vmbr0 up
    ip -n hc-fab link set "p-hv$n" master sw0 up
}

# ---------------------------------------------------------------- VMs that come and go (issue 10)

# VM 3 only: guest hc-vm3 (10.77.0.13) behind virtio hop hc-vio3 and tap300i0 on a hypervisor's
# vmbr0, the way Proxmox creates a tap when a VM starts. The hv agents are started with
# tap300i0 configured, so they wait for it, capture it once it exists and report it gone after.
vm_host() { # the hypervisor namespace that holds tap300i0, or nothing
    local hv
    for hv in hc-hv1 hc-hv2; do
        ip -n "$hv" link show tap300i0 >/dev/null 2>&1 && { echo "$hv"; return; }
    done
}

vm_plug() { # vm_plug HV: a new tap300i0 in hc-HV, its peer h0 in hc-vio3's br0
    ip -n hc-vio3 link add h0 type veth peer name tap300i0 netns "hc-$1"
    ip -n hc-vio3 link set h0 master br0 up
    ip -n "hc-$1" link set tap300i0 master vmbr0 up
}

vm_check() { [[ "${1:-}" == 3 ]] || die "vm: only VM 3 can be added, deleted or moved (its tap is tap300i0)"; }
hv_check() { [[ "${1:-}" =~ ^hv[12]$ ]] || die "vm: the hypervisor is hv1 or hv2, not '${1:-}'"; }

cmd_vm() {
    need_root
    local action="${1:-}" n="${2:-}" hv="${3:-}"
    case "$action" in
    add)
        vm_check "$n"; hv_check "$hv"
        ns_exists hc-vm3 && die "vm add: VM 3 exists already (on $(vm_host || echo 'no hypervisor'))"
        new_ns hc-vm3
        new_ns hc-vio3
        ip -n hc-vm3 link add eth0 type veth peer name g0 netns hc-vio3
        bridge hc-vio3 br0
        ip -n hc-vio3 link set g0 master br0 up
        ip -n hc-vm3 addr add 10.77.0.13/24 dev eth0
        ip -n hc-vm3 link set eth0 up
        vm_plug "$hv"
        poll 10 nsx hc-vm3 ping -c 1 -W 1 -q 10.77.0.12 >/dev/null || die "vm add: vm3 cannot ping vm2"
        say "vm add: vm3 10.77.0.13 on $hv (tap300i0); it answers pings to vm2"
        ;;
    del)
        vm_check "$n"
        local host; host="$(vm_host)"
        [[ -n "$host" ]] && ip -n "$host" link del tap300i0
        local ns
        for ns in hc-vm3 hc-vio3; do ns_exists "$ns" && ip netns del "$ns"; done
        say "vm del: vm3 removed${host:+ (tap300i0 deleted on ${host#hc-})}"
        ;;
    move)
        vm_check "$n"; hv_check "$hv"
        ns_exists hc-vm3 || die "vm move: VM 3 does not exist (build/lab.sh vm add 3 hv1)"
        local from; from="$(vm_host)"
        [[ "$from" == "hc-$hv" ]] && die "vm move: VM 3 is on $hv already"
        # A live migration as the hypervisors see it: the tap goes on the source, a new one
        # (another ifindex) comes on the target; the guest keeps its address and MAC.
        [[ -n "$from" ]] && ip -n "$from" link del tap300i0
        vm_plug "$hv"
        poll 10 nsx hc-vm3 ping -c 1 -W 1 -q 10.77.0.12 >/dev/null || die "vm move: vm3 cannot ping vm2 from $hv"
        say "vm move: vm3 moved ${from:+from ${from#hc-} }to $hv (tap300i0)"
        ;;
    *) die "usage: build/lab.sh vm add 3 hv1 | vm del 3 | vm move 3 hv2" ;;
    esac
}

cmd_up() {
    need_root
    # `up` always starts from nothing: leftovers of a crashed run would make a confusing lab.
    teardown quiet
    mkdir -p "$pids" "$logs"
    say "creating namespaces ${all_ns[*]}"
    for ns in "${all_ns[@]}"; do new_ns "$ns"; done

    ip link add hc-mgmt type bridge stp_state 0 forward_delay 0
    ip addr add 10.250.0.1/24 dev hc-mgmt
    ip link set hc-mgmt up
    for node in vm1 hv1 hv2 vm2 stor; do mgmt_leg "$node"; done

    bridge hc-fab sw0
    hypervisor 1 tap100i0 10.77.0.11
    hypervisor 2 tap200i0 10.77.0.12

    ip -n hc-stor link add eth0 type veth peer name p-stor netns hc-fab
    ip -n hc-fab link set p-stor master sw0 up
    ip -n hc-stor addr add 10.77.0.3/24 dev eth0
    ip -n hc-stor link set eth0 up

    # Prove the data path and the management path before declaring victory.
    poll 10 nsx hc-vm1 ping -c 1 -W 1 -q 10.77.0.12 >/dev/null ||
        die "up: vm1 cannot ping vm2 (10.77.0.12); see 'build/lab.sh status'"
    poll 10 nsx hc-hv2 ping -c 1 -W 1 -q 10.250.0.1 >/dev/null ||
        die "up: hv2 cannot reach the management address 10.250.0.1"
    say "up: vm1 10.77.0.11 -> vm2 10.77.0.12 answers; management 10.250.0.0/24 on hc-mgmt"
}

# teardown [quiet]: safe after a half-failed `up` and when run twice.
teardown() {
    local quiet="${1:-}"
    stop_matching fault-
    stop_matching measure-
    stop_matching agent-
    stop_matching correlator
    stop_matching ping-
    local ns pid
    for ns in "${all_ns[@]}" "${extra_ns[@]}"; do
        ns_exists "$ns" || continue
        # Anything still running inside our own namespaces was started by this lab (e.g. by
        # hand via `ip netns exec`); it would keep the namespace alive after `ip netns del`.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    # Root-namespace links: the bridge and veth legs whose peers died with the namespaces.
    local link
    for link in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^hc-' || true); do
        ip link del "$link" 2>/dev/null || true
    done
    rm -rf "$pids"
    [[ -n "$quiet" ]] || say "down: removed namespaces, hc-* links and lab processes (logs kept in $logs)"
}

cmd_down() { need_root; teardown; }

cmd_status() {
    local ns n
    echo "namespaces:"
    for ns in "${all_ns[@]}"; do
        if ns_exists "$ns"; then
            printf '  %-8s up   ' "$ns"
            ip -n "$ns" -br addr show | awk '$1!="lo"{printf "%s %s  ", $1, $3}'
            echo
        else
            printf '  %-8s -\n' "$ns"
        fi
    done
    echo "root links:"; ip -br link show | awk '$1 ~ /^hc-/{print "  " $1, $2}'
    echo "faults (tbf):"
    for ns in hc-fab hc-hv1 hc-vio1; do
        ns_exists "$ns" || continue
        tc -n "$ns" qdisc show | awk -v ns="$ns" '/tbf/{print "  " ns ": " $0}'
    done
    echo "processes:"
    if [[ -d "$pids" ]]; then
        for f in "$pids"/*.pid; do
            [[ -e "$f" ]] || continue
            n="$(basename "$f" .pid)"
            if alive "$n"; then echo "  $n running (log $logs/$n.log)"; else echo "  $n exited (log $logs/$n.log)"; fi
        done
    fi
    echo "correlator: $correlator_url"
}

# ---------------------------------------------------------------- faults
#
# Capture rule that decides where each fault goes: libpcap sees an outgoing packet only when the
# qdisc hands it to the driver, i.e. AFTER the interface's queue. A queue on an interface that is
# itself a capture point (outbound) is therefore charged to the segment BEFORE that point. Each
# fault below puts its queue where the delay lands between exactly the intended pair of points.
#
# Sizing: tbf 10 mbit with 120 ms of queue (latency) and a UDP flow at 12 Mbit/s, ~20 % above the
# rate, keeps the queue full: every ping waits ~120 ms behind it, and only the ~1/6 of packets that
# arrive at a full queue are dropped, so ping still mostly gets answers.

tbf() { # tbf NS DEV
    tc -n "$1" qdisc replace dev "$2" root tbf rate 10mbit burst 16kb latency 120ms
    fault_ns="$1" fault_dev="$2"
}

backlog() { # bytes queued in the root qdisc of NS DEV
    tc -n "$1" -s qdisc show dev "$2" root | awk '$1=="backlog"{sub("b$","",$2); print $2; exit}'
}

queue_filled() {
    local b
    b="$(backlog "$1" "$2")"
    [[ "${b:-0}" =~ ^[0-9]+$ ]] && ((b >= 30000))
}

# bulk NAME SERVER_NS SERVER_IP CLIENT_NS [iperf3 client args]: a bounded UDP flood.
bulk() {
    local name="$1" sns="$2" sip="$3" cns="$4"; shift 4
    spawn "fault-$name-server" "$sns" timeout $((fault_seconds + 20)) iperf3 -s -1 -B "$sip" -p 5201
    # The server must listen before the client connects.
    poll 10 nsx "$sns" bash -c "ss -Hltn 'sport = :5201' | grep -q ." ||
        die "fault: iperf3 server in $sns did not start (see $logs/fault-$name-server.log)"
    spawn "fault-$name-client" "$cns" timeout $((fault_seconds + 10)) \
        iperf3 -c "$sip" -p 5201 -u -b 12M -l 1200 -t "$fault_seconds" "$@"
}

# flap NS DEV CYCLES DOWN_S PERIOD_S: take a link down for DOWN_S seconds every PERIOD_S seconds,
# CYCLES times, in the foreground (bounded: CYCLES x PERIOD_S). Prints "down <unix s> up <unix s>"
# per cycle so callers know exactly how long the path was dark. The link is brought back up
# whatever happens (a trap), so an interrupted flap never leaves the lab broken.
flap() {
    local ns="$1" dev="$2" cycles="$3" down="$4" period="$5" i t_down t_up
    [[ "$cycles" =~ ^[0-9]+$ && "$cycles" -ge 1 && "$cycles" -le 20 ]] || die "fault: cycles must be 1-20, got '$cycles'"
    [[ "$down" =~ ^[0-9]+([.][0-9]+)?$ && "$period" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "fault: down and period are seconds"
    awk -v d="$down" -v p="$period" 'BEGIN { exit !(d > 0 && p > d && p <= 120) }' || die "fault: need 0 < down < period <= 120 s"
    trap "ip -n '$ns' link set '$dev' up 2>/dev/null || true" EXIT INT TERM
    for ((i = 1; i <= cycles; i++)); do
        t_down="$(date +%s.%N)"
        ip -n "$ns" link set "$dev" down
        sleep "$down"
        ip -n "$ns" link set "$dev" up
        t_up="$(date +%s.%N)"
        printf 'flap %d down %s up %s\n' "$i" "$t_down" "$t_up"
        ((i < cycles)) && sleep "$(awk -v d="$down" -v p="$period" 'BEGIN { print p - d }')"
    done
    trap - EXIT INT TERM
}

clear_faults() {
    stop_matching fault-
    local ns dev ns_dev
    for ns_dev in hc-fab:p-hv1 hc-hv1:eno1 hc-vio1:h0; do
        ns="${ns_dev%%:*}" dev="${ns_dev#*:}"
        ns_exists "$ns" && tc -n "$ns" qdisc del dev "$dev" root 2>/dev/null || true
    done
    # A flap that was killed hard (SIGKILL skips its trap) must not leave a link down.
    ns_exists hc-vio1 && ip -n hc-vio1 link set h0 up 2>/dev/null || true
    ns_exists hc-fab && ip -n hc-fab link set p-hv2 up 2>/dev/null || true
}

cmd_fault() {
    need_root
    ns_exists hc-fab || die "fault: the lab is not up (build/lab.sh up)"
    local target="${1:-}"
    case "$target" in
    fabric)
        clear_faults
        # The REPLY leg inside the switch: the queue is on the fabric's port toward hv1, which is
        # not a capture point. vm2's reply leaves hv2 eno1 (captured) and waits here before it
        # reaches hv1 eno1 (captured inbound): the delay lies between two physical NICs on
        # different nodes -> `fabric`. (A queue on hv2 eno1 itself would be charged to hv2's `nic`.)
        # Bulk: storage replication from hc-stor to hv1, sharing that port with the reply.
        tbf hc-fab p-hv1
        bulk fabric hc-hv1 10.77.0.1 hc-stor
        ;;
    nic)
        clear_faults
        # The source hypervisor's physical NIC egress: the request enters hv1 at tap100i0
        # (captured inbound), crosses vmbr0 and waits in eno1's qdisc; eno1's outbound capture
        # happens after that qdisc, so the delay lies between tap100i0 and eno1 on hv1 -> `nic`.
        # Bulk: hv1 itself sending to the storage host through the same NIC.
        tbf hc-hv1 eno1
        bulk nic hc-stor 10.77.0.3 hc-hv1 -B 10.77.0.1
        ;;
    vif)
        clear_faults
        # The virtio hop: the queue is on h0 in hc-vio1, the egress toward the tap (request leg).
        # vm1 eth0 captures the request outbound before it (eth0 has no queue of its own), and
        # hv1 tap100i0 captures it inbound after it -> `vif`. A queue on vm1 eth0 would be
        # invisible (charged before the first point); one on tap100i0 would delay the reply
        # after the tap's outbound capture, which is also `vif` but on the other leg.
        # Bulk: the guest uploading to its hypervisor (a backup), through the same virtio queue.
        tbf hc-vio1 h0
        bulk vif hc-hv1 10.77.0.1 hc-vm1
        ;;
    flap-vif | flap-fabric)
        clear_faults
        # flap-vif: vm1's virtio hop (h0 in hc-vio1, the tap's peer) goes dark: requests leave vm1
        # eth0 (captured) and vanish before hv1 tap100i0 -> lost in `vif`, request leg.
        # flap-fabric: the switch port toward hv2 goes dark: requests leave hv1 eno1 (captured)
        # and never reach hv2 eno1 -> lost in `fabric`, request leg.
        local cycles="${2:-3}" down="${3:-3}" period="${4:-6}"
        if [[ "$target" == flap-vif ]]; then flap hc-vio1 h0 "$cycles" "$down" "$period"; else flap hc-fab p-hv2 "$cycles" "$down" "$period"; fi
        say "fault: $target done ($cycles x ${down}s down every ${period}s)"
        return 0
        ;;
    clear)
        clear_faults
        say "fault: cleared"
        return 0
        ;;
    *) die "fault: expected fabric|nic|vif|flap-vif|flap-fabric|clear, got '${target}'" ;;
    esac
    # Return once the queue holds >= 30 kB (24 ms at 10 mbit), so a ping sent next is delayed.
    if ! poll 15 queue_filled "$fault_ns" "$fault_dev"; then
        tail -n 3 "$logs/fault-$target-client.log" >&2
        die "fault: the $target queue did not fill within 15 s (backlog $(backlog "$fault_ns" "$fault_dev") bytes)"
    fi
    say "fault: $target congested, queue $(backlog "$fault_ns" "$fault_dev") bytes, for up to ${fault_seconds}s (build/lab.sh fault clear to stop)"
}

# ---------------------------------------------------------------- host causes (issue 15)
#
# Host-side causes of freezes, made in the kernel the way they happen on a Proxmox node: kernel
# STP on hv1's vmbr0 with a short forward delay, a VM's tap flapping (a VM restart or re-plug),
# and a tap whose queue is too short for a burst. Kept in their own functions and subcommands.

ports_forwarding() { # every port of hv1's vmbr0 forwards (3 = BR_STATE_FORWARDING)
    local state
    for state in $(nsx hc-hv1 sh -c 'cat /sys/class/net/vmbr0/brif/*/state'); do [[ "$state" == 3 ]] || return 1; done
}

# stp on FD | stp off: kernel STP on hv1's vmbr0 with a forward delay of FD seconds (2-30), or
# off with forward delay 0 (the lab's and seed 000's fixed setting). Returns once every port forwards.
cmd_stp() {
    need_root
    ns_exists hc-hv1 || die "stp: the lab is not up (build/lab.sh up)"
    local mode="${1:-}" fd="${2:-2}"
    case "$mode" in
    on)
        [[ "$fd" =~ ^[0-9]+$ ]] && ((fd >= 2 && fd <= 30)) || die "stp on: the forward delay is whole seconds 2-30, got '$fd'"
        ip -n hc-hv1 link set vmbr0 type bridge forward_delay $((fd * 100)) stp_state 1
        # Turning STP on sends every port through listening and learning once: wait for that.
        poll $((2 * fd + 10)) ports_forwarding || die "stp on: vmbr0's ports did not reach forwarding within $((2 * fd + 10)) s"
        say "stp: on for hv1 vmbr0, forward delay ${fd} s; every port forwards"
        ;;
    off)
        # STP first: the kernel refuses a forward delay below 2 s while STP is on.
        ip -n hc-hv1 link set vmbr0 type bridge stp_state 0
        ip -n hc-hv1 link set vmbr0 type bridge forward_delay 0
        poll 10 ports_forwarding || die "stp off: vmbr0's ports do not forward"
        say "stp: off for hv1 vmbr0 (forward delay 0)"
        ;;
    *) die "usage: build/lab.sh stp on FD | stp off" ;;
    esac
}

# flap-tap [CYCLES DOWN PERIOD]: vm1's tap100i0 on hv1 goes down DOWN s every PERIOD s (default
# 1 1 2), as a VM restart or NIC re-plug does; prints "flap N down T up T" like `fault flap-*`.
cmd_flap_tap() {
    need_root
    ns_exists hc-hv1 || die "flap-tap: the lab is not up (build/lab.sh up)"
    flap hc-hv1 tap100i0 "${1:-1}" "${2:-1}" "${3:-2}"
    say "flap-tap: done"
}

# qlimit on | off: a tap queue too short for a burst: tbf 2 mbit with 6 kB of queue on hv1's
# tap100i0 (egress toward vm1) and a 12 Mbit/s UDP flow from the storage host to vm1 through it,
# so replies to vm1 are dropped in that qdisc (after hv1 eno1's capture, before tap100i0's).
cmd_qlimit() {
    need_root
    ns_exists hc-hv1 || die "qlimit: the lab is not up (build/lab.sh up)"
    case "${1:-}" in
    on)
        stop_matching fault-qlimit
        tc -n hc-hv1 qdisc replace dev tap100i0 root tbf rate 2mbit burst 4kb limit 6kb
        bulk qlimit hc-vm1 10.77.0.11 hc-stor
        say "qlimit: tap100i0 queue 6 kB at 2 mbit under a 12 Mbit/s flow to vm1 (build/lab.sh qlimit off to stop)"
        ;;
    off)
        stop_matching fault-qlimit
        tc -n hc-hv1 qdisc del dev tap100i0 root 2>/dev/null || true
        say "qlimit: off"
        ;;
    *) die "usage: build/lab.sh qlimit on | qlimit off" ;;
    esac
}

# ---------------------------------------------------------------- traffic context (issue 14)
#
# `bond up`: hv1's uplink becomes a two-slave "bond" (the bonding driver does not exist in these
# namespaces): a second link eno2 (hv1, 10.78.0.1) <-> eth1 (hc-stor, 10.78.0.3), not bridged, and
# the hv1 agent restarted with eno1 and eno2 as slaves of the logical point bond0 — what an
# engineer declares for a layer3+4 bond — and a 32 MiB packet ring per interface (capture pcap).
# Probes still cross eno1; storage traffic can use either.
# `traffic burst [SECONDS]`: the fabric fault as a bounded burst with the sender's own report:
# the switch port toward hv1 rate-limited (as `fault fabric`), storage replication from hc-stor
# to hv1 (UDP 12 Mbit/s, 1200-byte datagrams, port 5201) for SECONDS (default 8) in the
# foreground, its iperf3 JSON report kept in $state/traffic-burst.json; with the bond up, also a
# light flow (1 Mbit/s, port 5202) over eno2, so both slaves carry something. Leaves no fault.

bond_ready() { ip -n hc-hv1 link show eno2 >/dev/null 2>&1; }

cmd_bond() {
    need_root
    [[ "${1:-}" == up ]] || die "usage: build/lab.sh bond up"
    ns_exists hc-hv1 || die "bond: the lab is not up (build/lab.sh up)"
    alive correlator || die "bond: the pipeline is not running (build/lab.sh start-pipeline)"
    if ! bond_ready; then
        ip -n hc-hv1 link add eno2 type veth peer name eth1 netns hc-stor
        ip -n hc-hv1 addr add 10.78.0.1/24 dev eno2
        ip -n hc-hv1 link set eno2 up
        ip -n hc-stor addr add 10.78.0.3/24 dev eth1
        ip -n hc-stor link set eth1 up
    fi
    stop agent-hv1
    spawn agent-hv1 hc-hv1 dotnet "$agent_dll" --node hv1 --state-dir "$state/agents/hv1" --correlator "$correlator_url" $(agent_tls hv1) \
        --iface tap100i0=vif --iface eno1=nic:bond0 --iface eno2=nic:bond0 --iface tap300i0=vif --Agent:Traffic:RingMb=32
    poll 60 agents_connected || die "bond: the hv1 agent did not reconnect within 60 s (see $logs/agent-hv1.log)"
    poll 10 nsx hc-stor ping -c 1 -W 1 -q 10.78.0.1 >/dev/null || die "bond: hc-stor cannot reach hv1 over eno2"
    say "bond: hv1 eno1 + eno2 are slaves of bond0 (eno2 <-> hc-stor eth1, 10.78.0.0/24); hv1 agent restarted"
}

# `traffic flood [SECONDS]`: hc-stor sends hv1 as many 64-byte UDP datagrams as it can (no rate
# limit, port 5203) for SECONDS (default 5), the iperf3 JSON report in $state/traffic-flood.json:
# the load under which the agent's accounting cost and drops are measured.
traffic_flood() {
    local secs="$1"
    spawn fault-flood-server hc-hv1 timeout $((secs + 30)) iperf3 -s -1 -B 10.77.0.1 -p 5203
    poll 10 nsx hc-hv1 bash -c "ss -Hltn 'sport = :5203' | grep -q ." || die "traffic: iperf3 server in hc-hv1 did not start"
    local rc=0
    nsx hc-stor iperf3 -c 10.77.0.1 -p 5203 -u -b 0 -l 64 -t "$secs" --json >"$state/traffic-flood.json" || rc=$?
    stop_matching fault-
    ((rc == 0)) || die "traffic: iperf3 failed ($rc); see $state/traffic-flood.json"
    say "traffic flood: $(jq -r '"sent \(.end.sum.packets) datagrams of 64 bytes in \(.end.sum.seconds | floor) s (\(.end.sum.packets / .end.sum.seconds | floor) per s), \(.end.sum.lost_packets) lost"' "$state/traffic-flood.json") (report $state/traffic-flood.json)"
}

cmd_traffic() {
    need_root
    local secs="${2:-8}"
    if [[ "${1:-}" == flood ]]; then
        secs="${2:-5}"
        [[ "$secs" =~ ^[0-9]+$ && "$secs" -ge 1 && "$secs" -le 60 ]] || die "traffic: SECONDS must be 1-60, got '$secs'"
        ns_exists hc-fab || die "traffic: the lab is not up (build/lab.sh up)"
        clear_faults
        traffic_flood "$secs"
        return 0
    fi
    [[ "${1:-}" == burst ]] || die "usage: build/lab.sh traffic burst|flood [SECONDS]"
    [[ "$secs" =~ ^[0-9]+$ && "$secs" -ge 1 && "$secs" -le 60 ]] || die "traffic: SECONDS must be 1-60, got '$secs'"
    ns_exists hc-fab || die "traffic: the lab is not up (build/lab.sh up)"
    clear_faults
    tbf hc-fab p-hv1
    spawn fault-burst-server hc-hv1 timeout $((secs + 30)) iperf3 -s -1 -B 10.77.0.1 -p 5201
    if bond_ready; then
        spawn fault-light-server hc-hv1 timeout $((secs + 30)) iperf3 -s -1 -B 10.78.0.1 -p 5202
    fi
    poll 10 nsx hc-hv1 bash -c "ss -Hltn 'sport = :5201' | grep -q ." || die "traffic: iperf3 server in hc-hv1 did not start"
    if bond_ready; then
        poll 10 nsx hc-hv1 bash -c "ss -Hltn 'sport = :5202' | grep -q ." || die "traffic: iperf3 server on eno2 did not start"
        spawn fault-light-client hc-stor timeout $((secs + 10)) iperf3 -c 10.78.0.1 -p 5202 -u -b 1M -l 1200 -t "$secs"
    fi
    local rc=0
    nsx hc-stor iperf3 -c 10.77.0.1 -p 5201 -u -b 12M -l 1200 -t "$secs" --json >"$state/traffic-burst.json" || rc=$?
    clear_faults
    ((rc == 0)) || die "traffic: iperf3 failed ($rc); see $state/traffic-burst.json"
    say "traffic burst: $(jq -r '"sent \(.end.sum.bytes) bytes in \(.end.sum.packets) datagrams from \(.start.connected[0].local_host):\(.start.connected[0].local_port) to \(.start.connected[0].remote_host):\(.start.connected[0].remote_port), \(.end.sum.lost_packets) lost"' "$state/traffic-burst.json") (report $state/traffic-burst.json)"
}

# ---------------------------------------------------------------- measure (tcpdump, no product)

# capture points: NAME NS IFACE, sender side first
points=("vm1/eth0 hc-vm1 eth0" "hv1/tap100i0 hc-hv1 tap100i0" "hv1/eno1 hc-hv1 eno1"
    "hv2/eno1 hc-hv2 eno1" "hv2/tap200i0 hc-hv2 tap200i0" "vm2/eth0 hc-vm2 eth0")

# measure [COUNT]: tcpdump on the six capture points while vm1 pings vm2 every 50 ms, then print
# each point's round trip (reply ts - request ts, one clock) and the loss seen by ping. Consecutive
# differences are what the product attributes to vif / nic / fabric.
cmd_measure() {
    need_root
    ns_exists hc-vm1 || die "measure: the lab is not up (build/lab.sh up)"
    local count="${1:-100}" p name ns dev i=0 out="$state/measure"
    rm -rf "$out"; mkdir -p "$out"
    for p in "${points[@]}"; do
        read -r name ns dev <<<"$p"
        spawn "measure-$i" "$ns" timeout 120 tcpdump -l -n -tt -i "$dev" icmp and host 10.77.0.11 and host 10.77.0.12
        i=$((i + 1))
    done
    for ((i = 0; i < ${#points[@]}; i++)); do
        poll 10 grep -q 'listening on' "$logs/measure-$i.log" || die "measure: tcpdump $i did not start"
    done
    nsx hc-vm1 ping -q -i 0.05 -c "$count" -W 1 10.77.0.12 | tail -n 2 | sed 's/^/  ping: /' || true
    sleep 0.5 # let tcpdump print the last replies; bounded, not a wait-for-condition
    stop_matching measure-
    printf '  %-14s %8s %10s %10s %10s\n' point probes "R p50 ms" "R p90 ms" "R max ms"
    i=0
    for p in "${points[@]}"; do
        read -r name ns dev <<<"$p"
        awk '/echo request/{for(k=1;k<=NF;k++) if($k=="seq") {s=$(k+1); sub(",","",s); q[s]=$1}}
             /echo reply/  {for(k=1;k<=NF;k++) if($k=="seq") {s=$(k+1); sub(",","",s); r[s]=$1}}
             END{for(s in q) if(s in r) printf "%.3f\n", (r[s]-q[s])*1000}' "$logs/measure-$i.log" |
            sort -n >"$out/$i.rtt"
        awk -v name="$name" '{v[NR]=$1} END{ if(NR==0){printf "  %-14s %8d\n", name, 0; exit}
            i9 = int(NR * 0.9 + 0.5); if (i9 < 1) i9 = 1
            printf "  %-14s %8d %10.3f %10.3f %10.3f\n", name, NR, v[int((NR+1)/2)], v[i9], v[NR]}' "$out/$i.rtt"
        i=$((i + 1))
    done
}

# ---------------------------------------------------------------- pipeline

correlator_ready() {
    alive correlator || { tail -n 20 "$logs/correlator.log" >&2; die "start-pipeline: the correlator exited"; }
    grep -q 'correlator listening on' "$logs/correlator.log"
}

connected_agents() {
    dotnet "$cli_dll" --correlator "$correlator_url" --json agents 2>/dev/null | grep -Eo '"connected": *true' | wc -l
}

agents_connected() {
    local a
    for a in vm1 hv1 hv2 vm2; do
        alive "agent-$a" || { tail -n 20 "$logs/agent-$a.log" >&2; die "start-pipeline: agent $a exited"; }
    done
    (($(connected_agents) >= 4))
}

# lab_pki: the lab's CA (kept across runs in $state/pki) and fresh certificates for the
# correlator (10.250.0.1), each agent node, and the CLI (role operator: the demo runs trace).
lab_pki() {
    local node
    [[ -f "$pki/ca.crt" ]] || dotnet "$cli_dll" pki init --dir "$pki" --name "HopCapture lab CA" >/dev/null
    dotnet "$cli_dll" pki issue-server 10.250.0.1 --dir "$pki" >/dev/null
    for node in vm1 hv1 hv2 vm2; do
        dotnet "$cli_dll" pki issue-node "$node" --dir "$pki" >/dev/null
    done
    dotnet "$cli_dll" pki issue-client lab --role operator --dir "$pki" >/dev/null
    say "pki: CA and certificates in $pki"
}

agent_tls() { # the agent flags for node $1's certificate
    echo "--Agent:Tls:Certificate=$pki/agent-$1.crt --Agent:Tls:Key=$pki/agent-$1.key --Agent:Tls:Ca=$pki/ca.crt"
}

cmd_start_pipeline() {
    need_root
    ns_exists hc-vm1 || die "start-pipeline: the lab is not up (build/lab.sh up)"
    local dll
    for dll in "$correlator_dll" "$agent_dll" "$cli_dll"; do
        [[ -f "$dll" ]] || die "start-pipeline: $dll is missing (dotnet build Capture.sln -c Release)"
    done
    if alive correlator; then
        say "start-pipeline: already running (build/lab.sh stop-pipeline to restart)"
        return 0
    fi
    stop_matching agent-
    lab_pki
    # A fresh database per pipeline, so every run (and every test fixture) starts from nothing.
    rm -rf "$state/lab.db" "$state/lab.db-wal" "$state/lab.db-shm" "$state/lab.db.journal" "$state"/lab.db.journal.foreign-*
    # Likewise each agent's identity and spool (a spool left over would replay an old run).
    rm -rf "$state/agents"
    # HC_CORRELATOR_CONFIG: a correlator config file (alert rules, probe plans) for this pipeline.
    spawn correlator root dotnet "$correlator_dll" --listen 10.250.0.1:7400 --db "$state/lab.db" \
        --Correlator:Tls:Certificate="$pki/server.crt" --Correlator:Tls:Key="$pki/server.key" --Correlator:Tls:ClientCa="$pki/ca.crt" \
        --Correlator:Engine:Settle=00:00:01 ${HC_CORRELATOR_CONFIG:+--config "$HC_CORRELATOR_CONFIG"}
    poll 60 correlator_ready || { tail -n 20 "$logs/correlator.log" >&2; die "start-pipeline: the correlator did not report 'listening' within 60 s"; }
    say "correlator: $(grep -m1 'correlator listening on' "$logs/correlator.log")"

    spawn agent-vm1 hc-vm1 dotnet "$agent_dll" --node vm1 --state-dir "$state/agents/vm1" --correlator "$correlator_url" $(agent_tls vm1) --iface eth0=guest
    spawn agent-hv1 hc-hv1 dotnet "$agent_dll" --node hv1 --state-dir "$state/agents/hv1" --correlator "$correlator_url" $(agent_tls hv1) --iface tap100i0=vif --iface eno1=nic --iface tap300i0=vif
    spawn agent-hv2 hc-hv2 dotnet "$agent_dll" --node hv2 --state-dir "$state/agents/hv2" --correlator "$correlator_url" $(agent_tls hv2) --iface tap200i0=vif --iface eno1=nic --iface tap300i0=vif
    spawn agent-vm2 hc-vm2 dotnet "$agent_dll" --node vm2 --state-dir "$state/agents/vm2" --correlator "$correlator_url" $(agent_tls vm2) --iface eth0=guest
    if ! poll 90 agents_connected; then
        for a in vm1 hv1 hv2 vm2; do echo "--- agent $a"; tail -n 5 "$logs/agent-$a.log"; done >&2
        die "start-pipeline: only $(connected_agents) of 4 agents connected within 90 s"
    fi
    say "agents: vm1, hv1, hv2, vm2 connected to $correlator_url (logs in $logs)"
}

cmd_stop_pipeline() {
    need_root
    # Agents first, so their last batches reach a correlator that is still listening.
    stop_matching agent-
    stop correlator
    say "pipeline stopped"
}

# ---------------------------------------------------------------- demo

cli() { dotnet "$cli_dll" --correlator "$correlator_url" "$@"; }

slow_matched() { # how many slow vm1 -> vm2 probes the correlator holds
    cli --json probes --src 10.77.0.11 --dst 10.77.0.12 --since 5m --min-rtt 20ms --limit 1 2>/dev/null |
        grep -Eo '"matched": *"?[0-9]+' | grep -Eo '[0-9]+$' || echo 0
}

# Settled: some slow probes, and no new ones since the previous poll (probes finalise ~1 s
# after their last observation).
demo_last=-1
demo_probes_settled() {
    local n
    n="$(slow_matched)"
    if ((n > 0 && n == demo_last)); then return 0; fi
    demo_last="$n"
    sleep 1
    return 1
}

cmd_demo() {
    need_root
    say "1/7 dependencies"; "$repo/build/deps.sh"
    say "2/7 build (Release)"
    (cd "$repo" && dotnet build Capture.sln -c Release --nologo -v q -clp:ErrorsOnly) || die "demo: build failed"
    say "3/7 lab up"; cmd_up
    say "4/7 correlator + agents"; cmd_start_pipeline
    say "5/7 baseline: vm1 pings vm2 (5 s), then the fabric congests the reply leg (10 s)"
    nsx hc-vm1 ping -q -i 0.2 -c 25 -W 1 10.77.0.12 | tail -n 1 | sed 's/^/  baseline /'
    cmd_fault fabric
    nsx hc-vm1 ping -q -i 0.05 -c 200 -W 1 10.77.0.12 | tail -n 2 | sed 's/^/  congested /' || true
    cmd_fault clear
    say "6/7 findings (waiting for the correlator to finalise the probes)"
    poll 30 demo_probes_settled || say "only $(slow_matched) slow probes correlated after 30 s; showing what there is"
    echo; echo "\$ capture paths --since 5m"; cli paths --since 5m || true
    echo; echo "\$ capture probes --src 10.77.0.11 --dst 10.77.0.12 --since 5m --min-rtt 20ms --order rtt --limit 10"
    cli probes --src 10.77.0.11 --dst 10.77.0.12 --since 5m --min-rtt 20ms --order rtt --limit 10 || true
    local id
    id="$(cli --json probes --src 10.77.0.11 --dst 10.77.0.12 --since 5m --min-rtt 20ms --order rtt --limit 1 2>/dev/null |
        grep -Eo '"id": *"?[0-9]+' | head -n 1 | grep -Eo '[0-9]+$' || true)"
    if [[ -n "$id" ]]; then echo; echo "\$ capture explain $id"; cli explain "$id" || true; fi
    echo
    say "7/7 freezes: vm1's virtio hop goes dark 2 s every 5 s, three times, while vm1 pings vm2 every 100 ms"
    nsx hc-vm1 ping -q -i 0.1 -c 180 -W 1 10.77.0.12 >"$state/demo-ping.log" 2>&1 &
    local ping_pid=$!
    sleep 1
    cmd_fault flap-vif 3 2 5 | sed 's/^/  /'
    wait "$ping_pid" || true
    tail -n 2 "$state/demo-ping.log" | sed 's/^/  flapping /'
    # The last probes finalise ~1 s after their reply; give the engine that long.
    poll 10 bash -c "dotnet '$cli_dll' --correlator '$correlator_url' --json freezes --since 1m 2>/dev/null | grep -q '\"periodic\": *true'" || true
    echo; echo "\$ capture freezes --since 1m"; cli freezes --since 1m || true
    echo; echo "\$ capture loss --since 1m"; cli loss --since 1m || true
    local lost
    lost="$(cli --json probes --src 10.77.0.11 --dst 10.77.0.12 --since 1m --lost --limit 1 2>/dev/null |
        grep -Eo '"id": *"?[0-9]+' | head -n 1 | grep -Eo '[0-9]+$' || true)"
    if [[ -n "$lost" ]]; then echo; echo "\$ capture explain $lost"; cli explain "$lost" || true; fi
    echo
    say "the lab is still up: try 'dotnet $cli_dll --correlator $correlator_url --ca $HOPCAPTURE_CA --cert $HOPCAPTURE_CERT --key $HOPCAPTURE_KEY agents', 'build/lab.sh fault nic', 'build/lab.sh status'"
    say "when done: build/lab.sh down"
}

usage() {
    cat <<EOF
usage: build/lab.sh COMMAND
  up               create the namespaces, bridges and veths (removes leftovers first)
  down             stop lab processes and remove everything named hc-* (safe to repeat)
  status           namespaces, addresses, active faults, processes
  fault fabric     congest the switch port toward hv1 (reply leg)   -> verdict fabric
  fault nic        congest hv1's physical NIC egress (request leg)  -> verdict nic
  fault vif        congest the virtio hop of vm1 (request leg)      -> verdict vif
  fault flap-vif [CYCLES DOWN PERIOD]     vm1's virtio hop down DOWN s every PERIOD s (default 3 3 6) -> freezes in vif
  fault flap-fabric [CYCLES DOWN PERIOD]  the switch port toward hv2, likewise                    -> freezes in fabric
  fault clear      stop the bulk flow and remove the rate limit
  measure [N]      tcpdump every capture point while vm1 pings vm2 N times; print round trips
  stp on FD | off  kernel STP on hv1's vmbr0 with forward delay FD s (2-30), or off (delay 0)
  flap-tap [CYCLES DOWN PERIOD]  vm1's tap100i0 on hv1 down DOWN s every PERIOD s (default 1 1 2)
  qlimit on | off  a 6 kB tbf queue on hv1's tap100i0 under a 12 Mbit/s flow to vm1 (queue drops)
  vm add 3 HV      create VM 3 (hc-vm3, 10.77.0.13) with tap300i0 on HV's vmbr0 (hv1|hv2), as a VM start does
  vm del 3         delete VM 3 and its tap
  vm move 3 HV     live-migrate VM 3: delete tap300i0 on its hypervisor, re-create it on HV
  bond up          hv1's uplink as a two-slave bond0: eno1 + a second link eno2 to hc-stor (agent restarted)
  traffic burst [S] the fabric fault for S seconds (default 8) with the sender's iperf3 report in the state dir
  traffic flood [S] hc-stor floods hv1 with 64-byte UDP for S seconds (default 5), no rate limit
  start-pipeline   start the correlator (root ns, $correlator_url) and the four agents
  stop-pipeline    stop them
  demo             deps, build, up, pipeline, a fabric fault, and the findings via the CLI
state dir: $state (override with HC_LAB_STATE)
EOF
}

main() {
    local cmd="${1:-}"
    [[ $# -gt 0 ]] && shift
    case "$cmd" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    fault) cmd_fault "$@" ;;
    measure) cmd_measure "$@" ;;
    vm) cmd_vm "$@" ;;
    stp) cmd_stp "$@" ;;
    flap-tap) cmd_flap_tap "$@" ;;
    qlimit) cmd_qlimit "$@" ;;
    bond) cmd_bond "$@" ;;
    traffic) cmd_traffic "$@" ;;
    start-pipeline) cmd_start_pipeline ;;
    stop-pipeline) cmd_stop_pipeline ;;
    demo) cmd_demo ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
    esac
}

main "$@"
