# shellcheck shell=bash
# Sourced by scripts/net-e2e and scripts/net-bench (after scripts/lib/vm.sh): the network lab for
# 'ivshmem-agent net'. Two simulated hosts, each a network namespace with a Linux bridge:
#
#   host 1 (netns NETLAB_NS1)                         host 2 (netns NETLAB_NS2)
#   ivshmemd: region "lan" for vm-a, vm-b             ivshmemd: region "lan" for vm-c (its own
#   vm-a 10.70.0.1 --tap-a--+                         config, sockets and state directory)
#                           br0 --wan====wan-- br0 --tap-c-- vm-c 10.70.0.3
#   vm-b 10.70.0.2 --tap-b--+   (veth; tc netem on both ends: NETLAB_RATE, NETLAB_DELAY each way)
#
# vm-a and vm-b share host 1's region, so they are co-resident; vm-c is on the other host and reachable
# only over the network. The guests' QEMUs run inside their host's namespace with a tap device on its
# bridge (virtio-net), and each guest runs scripts/guest/ctl-guest, so the host can drive it command by
# command over a second serial port (netlab_ctl, netlab_run). Why namespaces: the lab must not touch
# the machine's own network (no bridge, route or firewall rule outside them), and two runs at once
# get separate namespaces. Needs root (namespaces, taps). docs/guest.md, "The network lab", says more.
#
# The caller sets what vm.sh needs (REPO, WORK, FAILED, KEEP; vm_build before netlab_up) and calls
# netlab_cleanup from its EXIT trap (before vm_exit's removal of WORK).

NETLAB_SUBNET=10.70.0
# The link between the two hosts: 1 Gbit/s and 0.25 ms each way (0.5 ms round trip), a gigabit
# link between two racks. docs/guest.md, "The network lab", says why these values.
: "${NETLAB_RATE:=1gbit}" "${NETLAB_DELAY:=250us}"
# The region every host serves; net needs at least 2 peers, the benchmark varies it.
: "${NETLAB_REGION_SIZE:=64M}" "${NETLAB_REGION_PEERS:=4}"
NETLAB_NS1='' NETLAB_NS2='' DAEMON2_PID='' NETLAB_DELAYED=0 NETLAB_LINK=''
declare -A NETLAB_ADDR=([vm-a]=$NETLAB_SUBNET.1 [vm-b]=$NETLAB_SUBNET.2 [vm-c]=$NETLAB_SUBNET.3)

# Why: fail before anything is built or booted, with what to do.
netlab_require_root() {
  [ "$(id -u)" -eq 0 ] || die "needs root: network namespaces, a bridge and tap devices (run as root)"
  command -v ip >/dev/null && command -v tc >/dev/null || die "needs ip and tc (apt-get install iproute2)"
  [ -c /dev/net/tun ] || die "/dev/net/tun is missing (modprobe tun)"
}

# ---------------------------------------------------------------------------------------------
# Network

# netlab_network_up: both namespaces, their bridges and taps, and the veth link with netem.
netlab_network_up() {
  local tag=$$ ns
  NETLAB_NS1="ivl$tag-h1" NETLAB_NS2="ivl$tag-h2"
  for ns in "$NETLAB_NS1" "$NETLAB_NS2"; do
    ip netns add "$ns" || fail "ip netns add $ns failed"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add br0 type bridge
    ip -n "$ns" link set br0 up
  done
  netlab_tap "$NETLAB_NS1" tap-a
  netlab_tap "$NETLAB_NS1" tap-b
  netlab_tap "$NETLAB_NS2" tap-c
  ip link add wan netns "$NETLAB_NS1" type veth peer name wan netns "$NETLAB_NS2" ||
    fail "could not create the veth pair between the two hosts"
  for ns in "$NETLAB_NS1" "$NETLAB_NS2"; do
    ip -n "$ns" link set wan master br0 up
    netlab_shape "$ns"
  done
  log "network: host 1 = netns $NETLAB_NS1, host 2 = netns $NETLAB_NS2, link: $NETLAB_LINK"
}

# netlab_shape NS: shapes what leaves NS through its end of the link (so the two ends shape the two
# directions). netem when the kernel has it; otherwise tbf for the rate alone, and NETLAB_DELAYED=0:
# a kernel built without CONFIG_NET_SCH_NETEM (this project's development machine) cannot delay.
netlab_shape() {
  local err
  if err=$(tc -n "$1" qdisc add dev wan root netem delay "$NETLAB_DELAY" rate "$NETLAB_RATE" 2>&1); then
    NETLAB_DELAYED=1 NETLAB_LINK="tc netem, rate $NETLAB_RATE, delay $NETLAB_DELAY each way"
    return 0
  fi
  # Why burst 1mb: a GSO packet on a veth is up to 64 KiB, and the bucket must hold several.
  tc -n "$1" qdisc add dev wan root tbf rate "$NETLAB_RATE" burst 1mb latency 20ms ||
    fail "neither tc netem ($err) nor tbf works on $1's end of the link"
  NETLAB_DELAYED=0 NETLAB_LINK="tc tbf, rate $NETLAB_RATE, no added delay (tc netem: ${err//$'\n'/ })"
}

netlab_tap() {
  ip -n "$1" tuntap add dev "$2" mode tap || fail "ip tuntap add $2 in $1 failed"
  ip -n "$1" link set "$2" master br0 up
}

# Removes both namespaces; every device in them (bridge, taps, veth) goes with them.
netlab_network_down() {
  local ns
  for ns in "$NETLAB_NS1" "$NETLAB_NS2"; do
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
  done
  NETLAB_NS1='' NETLAB_NS2=''
}

# ---------------------------------------------------------------------------------------------
# Daemons: one per host, each with its own configuration, sockets and state directory

# netlab_config HOST VM...: writes WORK/HOST/ivshmemd.yaml with one region "lan" for the VMs.
netlab_config() {
  local host=$1; shift
  local dir="$WORK/$host" vms
  mkdir -p "$dir/state"
  vms=$(IFS=,; echo "$*")
  cat >"$dir/ivshmemd.yaml" <<EOF
runtime_directory: $dir
control_socket: $dir/control.sock
state_directory: $dir/state
regions:
  - name: lan
    size: $NETLAB_REGION_SIZE
    vectors: 2
    vms: [${vms//,/, }]
    max_peers: $NETLAB_REGION_PEERS
EOF
  "$IVSHMEMD" check-config "$dir/ivshmemd.yaml" >/dev/null 2>"$WORK/$host-check.log" ||
    fail "ivshmemd check-config refused $dir/ivshmemd.yaml: $(cat "$WORK/$host-check.log")"
}

# netlab_daemons_up: host 1's daemon (vm.sh's DAEMON_PID, log WORK/ivshmemd.log) and host 2's, run
# inside host 2's namespace (DAEMON2_PID, log WORK/ivshmemd-host2.log). Each host's region lists
# NETLAB_HOST1_VMS / NETLAB_HOST2_VMS (scripts/migrate-e2e lists vm-b on both: it moves between them).
netlab_daemons_up() {
  # shellcheck disable=SC2086 # word lists
  netlab_config host1 ${NETLAB_HOST1_VMS:-vm-a vm-b}
  # shellcheck disable=SC2086
  netlab_config host2 ${NETLAB_HOST2_VMS:-vm-c}
  vm_start_daemon "$WORK/host1/control.sock" --config "$WORK/host1/ivshmemd.yaml"
  ip netns exec "$NETLAB_NS2" "$IVSHMEMD" run --config "$WORK/host2/ivshmemd.yaml" 2>"$WORK/ivshmemd-host2.log" &
  DAEMON2_PID=$!
  for _ in $(seq 300); do
    "$IVSHMEMD" status --socket "$WORK/host2/control.sock" >/dev/null 2>&1 && break
    kill -0 "$DAEMON2_PID" 2>/dev/null || fail "host 2's ivshmemd exited at start-up"
    sleep 0.1
  done
  "$IVSHMEMD" status --socket "$WORK/host2/control.sock" >/dev/null 2>&1 || fail "host 2's ivshmemd did not become ready"
  log "ivshmemd: host 1 serves ${NETLAB_HOST1_VMS:-vm-a vm-b} ($WORK/host1), host 2 serves ${NETLAB_HOST2_VMS:-vm-c} ($WORK/host2)"
}

# Host 1's daemon's status as JSON (its per-ring byte counters are the ring's own account).
netlab_status1() { "$IVSHMEMD" status --socket "$WORK/host1/control.sock" --json; }

# ---------------------------------------------------------------------------------------------
# Guests

# netlab_boot NAME [--hotplug | --hotplug-empty]: boots vm-a, vm-b or vm-c on its host (namespace,
# daemon, tap) running ctl-guest, with its address on virtio-net and a second serial port for
# commands (WORK/NAME.ctl.in). Its ivshmem device sits on the hot-plug root port 'ivshmemd qemu-args'
# gives it. --hotplug also gives QEMU a QMP socket (WORK/NAME.qmp), so that netlab_detach can unplug
# the device; --hotplug-empty boots it with the root port and the QMP socket but without the device
# (qemu-args --no-device), for netlab_attach to add it.
netlab_boot() {
  local name=$1 mode=${2:-} host ns tap n qmp=()
  case $name in
    vm-a) host=host1 ns=$NETLAB_NS1 tap=tap-a n=1 ;;
    vm-b) host=host1 ns=$NETLAB_NS1 tap=tap-b n=2 ;;
    vm-c) host=host2 ns=$NETLAB_NS2 tap=tap-c n=3 ;;
    *) fail "netlab_boot: no guest '$name' in the lab" ;;
  esac
  # QEMU holds both FIFOs open read-write, so a writer's close is never an end of file for it.
  rm -f "$WORK/$name.ctl.in" "$WORK/$name.ctl.out"
  mkfifo "$WORK/$name.ctl.in" "$WORK/$name.ctl.out"
  VM_CONFIG_ARGS=(--config "$WORK/$host/ivshmemd.yaml")
  VM_EXEC_PREFIX=(ip netns exec "$ns")
  VM_QEMU_OPTIONS=() VM_APPEND=''
  case $mode in
    '') ;;
    --hotplug) qmp=(-qmp "unix:$WORK/$name.qmp,server=on,wait=off") ;;
    # With no device at boot, /init must not insist on one (it loads the vfio modules all the same).
    --hotplug-empty) qmp=(-qmp "unix:$WORK/$name.qmp,server=on,wait=off") VM_QEMU_OPTIONS=(--no-device) VM_APPEND=ivshmem.hotplug=1 ;;
    *) fail "netlab_boot: unknown option '$mode'" ;;
  esac
  # 768 MiB: the 256 MiB file of the nc check lives in the sender's memory (/tmp).
  vm_boot "$name" "$name" ctl-guest --ip "${NETLAB_ADDR[$name]}/24" --mem 768 -- \
    -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" -device "virtio-net-pci,netdev=n0,mac=52:54:00:70:00:0$n" \
    -chardev "pipe,id=ctl,path=$WORK/$name.ctl" -serial chardev:ctl "${qmp[@]}"
  VM_EXEC_PREFIX=() VM_QEMU_OPTIONS=() VM_APPEND=''
}

# ---------------------------------------------------------------------------------------------
# Hot-plug, through the product's own commands (docs/migration.md, "Attach" and "Detach")

# The host (host1, host2) whose daemon serves NAME in the lab.
netlab_host_of() { case $1 in vm-c) echo host2 ;; *) echo host1 ;; esac; }

# netlab_attach NAME [LABEL [HOST]]: 'ivshmemd attach NAME' on HOST (default: NAME's host), through
# the QMP socket of LABEL (default NAME); prints the command's line. Sets HOTPLUG_MS (the command's
# wall time).
netlab_attach() {
  local name=$1 label=${2:-$1} host=${3:-$(netlab_host_of "$1")} t out
  t=$EPOCHREALTIME
  out=$("$IVSHMEMD" attach "$name" --qmp "$WORK/$label.qmp" --config "$WORK/$host/ivshmemd.yaml" 2>&1) ||
    fail "ivshmemd attach $name failed: $out"
  HOTPLUG_MS=$(( (${EPOCHREALTIME/[.,]/} - ${t/[.,]/}) / 1000 ))
  printf '%s\n' "$out"
}

# netlab_detach NAME SECONDS [LABEL [HOST]]: 'ivshmemd detach NAME --timeout SECONDS' (device_del, the guest's
# release, DEVICE_DELETED, chardev-remove, the daemon sees QEMU's connection close); prints the
# command's line and sets HOTPLUG_MS. Never attach again into the same QEMU process: QEMU 7.2 crashes
# then, and ivshmemd attach refuses it (docs/migration.md, "Re-attaching into the same QEMU process").
netlab_detach() {
  local name=$1 seconds=$2 label=${3:-$1} host=${4:-$(netlab_host_of "$1")} t out
  t=$EPOCHREALTIME
  out=$("$IVSHMEMD" detach "$name" --qmp "$WORK/$label.qmp" --timeout "$seconds" --config "$WORK/$host/ivshmemd.yaml" 2>&1) ||
    fail "ivshmemd detach $name failed: $out"
  HOTPLUG_MS=$(( (${EPOCHREALTIME/[.,]/} - ${t/[.,]/}) / 1000 ))
  printf '%s\n' "$out"
}

# netlab_ready NAME...: waits until each guest's ctl-guest listens.
netlab_ready() {
  local name
  for name in "$@"; do vm_wait_line "$name" "CTL: listening" 240 >/dev/null; done
  log "guests ready: $* ($(vm_elapsed) s since the start)"
}

# netlab_ctl NAME COMMAND: sends a shell command to the guest; it runs in the background there.
# Sets CTL_ID, what netlab_wait and netlab_output take.
netlab_ctl() {
  local name=$1 cmd=$2
  # A clock reading, not a counter: callers run this in command substitutions (subshells), where a
  # counter's increment would be lost and an ID reused; the console still holds the old answer.
  CTL_ID="c${EPOCHREALTIME/[.,]/}"
  printf '%s %s\n' "$CTL_ID" "$(printf '%s' "$cmd" | base64 -w0)" >"$WORK/$name.ctl.in"
}

# netlab_wait NAME ID SECONDS: waits for the command's end and returns its exit status.
netlab_wait() {
  local line
  line=$(vm_wait_line "$1" "CTL: $2 rc=[0-9]+" "$3")
  return "${line##*rc=}"
}

# netlab_output NAME ID: what the command printed.
netlab_output() {
  tr -d '\r' <"$WORK/$1.console" |
    awk -v b="CTL: $2 output begin" -v e="CTL: $2 rc=" 'index($0, e) == 1 { on = 0 } on { print } $0 == b { on = 1 }'
}

# netlab_run NAME SECONDS COMMAND: runs the command, fails unless it exits 0, prints its output.
netlab_run() {
  local name=$1 seconds=$2 cmd=$3 rc=0
  netlab_ctl "$name" "$cmd"
  netlab_wait "$name" "$CTL_ID" "$seconds" || rc=$?
  [ "$rc" = 0 ] || fail "$name: '$cmd' exited with status $rc: $(netlab_output "$name" "$CTL_ID" | tail -n 20)"
  netlab_output "$name" "$CTL_ID"
}

# netlab_poweroff NAME...: ends each guest's ctl-guest (the guest powers off) and waits for it.
netlab_poweroff() {
  local name
  for name in "$@"; do printf 'exit\n' >"$WORK/$name.ctl.in"; done
  for name in "$@"; do vm_wait_runner "$name" 0; done
}

# ---------------------------------------------------------------------------------------------
# Measuring (scripts/guest/net-guest does the guest's half)

# True when the agent has the 'net' command (asked of the host build, the same source as the guests').
# (An unknown command's --help also exits 0, with the general usage: look for the command's manual.)
netlab_has_net() { "$HOST_AGENT" net --help 2>/dev/null | grep -q 'ivshmem-agent net '; }

# netlab_measure NAME SECONDS COMMAND: runs COMMAND in the guest between two readings of its
# interface counters; fails unless it exits 0. Sets MEASURED (the whole answer); read it with
# netlab_delta and netlab_measured_output.
netlab_measure() {
  MEASURED=$(netlab_run "$1" "$2" "net-guest measure $3")
}

# netlab_delta DEV FIELD: how much a counter of the last netlab_measure grew (FIELD: rx_bytes,
# tx_bytes, rx_packets, tx_packets); 0 for a device that was not there before and after.
netlab_delta() {
  awk -v dev="$1" -v field="$2" '
    BEGIN { split("rx_bytes tx_bytes rx_packets tx_packets", f, " "); for (i in f) col[f[i]] = i + 2 }
    $1 == "BEFORE" && $2 == dev { before = $col[field]; b = 1 }
    $1 == "AFTER" && $2 == dev { after = $col[field]; a = 1 }
    END { printf "%.0f\n", (a && b) ? after - before : 0 }' <<<"$MEASURED"
}

# What the measured command printed.
netlab_measured_output() {
  awk '$0 == "OUTPUT end" { on = 0 } on { print } $0 == "OUTPUT begin" { on = 1 }' <<<"$MEASURED"
}

# netlab_iperf NAME SECONDS IPERF3-ARGS: iperf3 -J in the guest through netlab_measure; sets
# IPERF_JSON (its report).
netlab_iperf() {
  netlab_measure "$1" "$2" "iperf3 -J $3"
  IPERF_JSON=$(netlab_measured_output)
  jq -e . >/dev/null 2>&1 <<<"$IPERF_JSON" || fail "$1: iperf3 $3 printed no JSON report: $IPERF_JSON"
}

# Bytes an iperf3 TCP run delivered (the receiver's count, from IPERF_JSON): every one of them has
# crossed the path. (The sender's count includes what was still in its socket buffer at the end.)
netlab_iperf_bytes() { jq -r '.end.sum_received.bytes | floor' <<<"$IPERF_JSON"; }
# Its throughput in Mbit/s (10^6 bit/s), as the receiver counted it.
netlab_iperf_mbps() { jq -r '.end.sum_received.bits_per_second / 1e6 | . * 10 | round / 10' <<<"$IPERF_JSON"; }

# netlab_ping NAME ADDR COUNT: busybox ping; prints "min avg max" in ms.
netlab_ping() {
  local out
  out=$(netlab_run "$1" 120 "ping -c $3 -i 0.2 $2")
  sed -n 's|.*min/avg/max = \([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\) ms.*|\1 \2 \3|p' <<<"$out"
}

# The guests' consoles, both daemons' logs (fail calls it through the caller's on_fail).
netlab_show_logs() {
  vm_show_logs
  if [ -f "$WORK/ivshmemd-host2.log" ]; then
    echo "----- host 2's ivshmemd log -----" >&2
    cat "$WORK/ivshmemd-host2.log" >&2
  fi
}

# ---------------------------------------------------------------------------------------------
# Cleanup

# Stops the guests and host 1's daemon (vm_cleanup), host 2's daemon, and removes the namespaces.
netlab_cleanup() {
  vm_cleanup
  if [ -n "$DAEMON2_PID" ] && kill -0 "$DAEMON2_PID" 2>/dev/null; then
    kill -TERM "$DAEMON2_PID" 2>/dev/null || true
    wait "$DAEMON2_PID" 2>/dev/null || true
  fi
  DAEMON2_PID=
  netlab_network_down
}
