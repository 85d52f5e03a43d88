# shellcheck shell=bash
# Sourced by scripts/vm-e2e and scripts/demo-vm (scripts/demo --vm): the pieces that boot real
# test guests against ivshmemd. Building ivshmemd, the host agent, the NativeAOT guest agent and the
# test guest image; starting and stopping the daemon; booting a guest with exactly the options
# 'ivshmemd qemu-args' prints; following its serial console; cleaning up.
#
# The caller sets
#   REPO            the repository root
#   WORK            its private work directory: consoles (LABEL.console), QEMU pid files
#                   (LABEL.pid), run-test-guest's output (LABEL.out, LABEL.err), ivshmemd.log
#   VM_CONFIG_ARGS  (array, before vm_boot) how 'ivshmemd qemu-args' finds the configuration the
#                   daemon runs: (--config FILE) or (--demo DIR)
#   VM_APPEND       (optional) more guest kernel parameters, e.g. ivshmem.e2e.mib=64
#   VM_VERBOSE      (optional array) (--verbose) copies the guests' consoles to stderr
#   VM_QEMU_OPTIONS (optional array, per vm_boot) more options for 'ivshmemd qemu-args', e.g.
#                   (--no-device): the hot-plug root port only, for a guest whose device is
#                   attached later ('ivshmemd attach') or a migration destination
#   VM_EXEC_PREFIX  (optional array, per vm_boot) runs the guest's QEMU through it, e.g.
#                   (ip netns exec NS) for a guest of another simulated host (scripts/lib/netlab.sh)
#   GUEST_TIMEOUT   (optional) seconds a guest may run in all (default 420)
#   START           (optional) the EPOCHREALTIME vm_elapsed counts from (default: when sourced)
#   FAILED, KEEP    for vm_exit: 1 once fail has shown the logs; 1 to keep WORK
# and has sourced scripts/lib/common.sh (log, fail; its on_fail runs vm_show_logs).
#
# Build outputs are cached in VM_CACHE (default ${IVSHMEM_CACHE:-<repo>/.cache}/vm-e2e), shared by
# both scripts; one build at a time (flock), so concurrent runs wait and then find it up to date.

VM_CACHE="${IVSHMEM_CACHE:-$REPO/.cache}/vm-e2e"
# Guest-side scripts put into the image. Every caller's scripts and packages go into one image, so
# that switching between vm-e2e, the demo and the network tests does not rebuild it.
VM_GUEST_FILES=(
  "$REPO/scripts/guest/e2e-guest:/usr/bin/e2e-guest"
  "$REPO/scripts/guest/demo-guest:/usr/bin/demo-guest"
  "$REPO/scripts/guest/ctl-guest:/usr/bin/ctl-guest"
  "$REPO/scripts/guest/net-guest:/usr/bin/net-guest"
)
# What 'ivshmem-agent net' and its tests need in the guest (docs/guest.md, "The network lab"):
# the tun module, and Debian's unmodified iperf3 with the two libraries that come from
# its own source package and libsctp (libc, libm, libcrypto and the loader come from the host).
VM_GUEST_EXTRAS=(--module tun --deb iperf3 --deb libiperf0 --deb libsctp1)
DAEMON_PID=
: "${START:=$EPOCHREALTIME}"
[ -n "${VM_VERBOSE+set}" ] || VM_VERBOSE=()
[ -n "${VM_CONFIG_ARGS+set}" ] || VM_CONFIG_ARGS=()
[ -n "${VM_EXEC_PREFIX+set}" ] || VM_EXEC_PREFIX=()
[ -n "${VM_QEMU_OPTIONS+set}" ] || VM_QEMU_OPTIONS=()

# ---------------------------------------------------------------------------------------------
# Build

# True when a build output is missing or older than any source it is built from.
vm_stale() {
  local stamp=$1
  [ -f "$stamp" ] || return 0
  [ -n "$(find "$REPO/src" "$REPO/Directory.Build.props" "$REPO/Directory.Packages.props" \
            -newer "$stamp" -type f -not -path '*/bin/*' -not -path '*/obj/*' -print -quit)" ]
}

vm_dotnet_quiet() {
  local logfile=$1; shift
  if ! dotnet "$@" -nologo -v:q -nodeReuse:false >"$logfile" 2>&1; then
    cat "$logfile" >&2
    fail "dotnet $* failed"
  fi
}

# Builds what is stale and sets IVSHMEMD, HOST_AGENT (framework-dependent, for host peers),
# GUEST_AGENT (NativeAOT) and IMAGE (the test guest's directory, for run-test-guest --cache).
vm_build() {
  mkdir -p "$VM_CACHE"
  IVSHMEMD="$VM_CACHE/artifacts/bin/HostDaemon/release/ivshmemd"
  HOST_AGENT="$VM_CACHE/artifacts/bin/IvshmemAgent/release/ivshmem-agent"
  GUEST_AGENT="$VM_CACHE/agent-aot/ivshmem-agent"
  # Why: two runs building into the same artifacts folder at once break each other's builds.
  exec 8>"$VM_CACHE/.build.lock"
  if ! flock -n 8; then
    log "waiting for another build into $VM_CACHE to finish"
    flock 8
  fi
  if vm_stale "$VM_CACHE/.host-built" || [ ! -x "$IVSHMEMD" ] || [ ! -x "$HOST_AGENT" ]; then
    log "building ivshmemd and the host agent (Release) into $VM_CACHE/artifacts"
    vm_dotnet_quiet "$WORK/build-host.log" build "$REPO/src/HostDaemon/HostDaemon.csproj" -c Release --artifacts-path "$VM_CACHE/artifacts"
    vm_dotnet_quiet "$WORK/build-agent.log" build "$REPO/src/GuestDriverShim/Agent/IvshmemAgent.csproj" -c Release --artifacts-path "$VM_CACHE/artifacts"
    touch "$VM_CACHE/.host-built"
  fi
  if vm_stale "$VM_CACHE/.aot-built" || [ ! -x "$GUEST_AGENT" ]; then
    # NativeAOT needs a C toolchain: gcc does when clang is missing (docs/guest.md, "Running it in a guest").
    command -v gcc >/dev/null || fail "gcc is needed to build the NativeAOT agent (apt-get install gcc)"
    log "publishing the NativeAOT ivshmem-agent for the guests"
    vm_dotnet_quiet "$WORK/build-aot.log" publish "$REPO/src/GuestDriverShim/Agent/IvshmemAgent.csproj" -c Release -r linux-x64 \
      -p:PublishAot=true -o "$VM_CACHE/agent-aot" --artifacts-path "$VM_CACHE/artifacts-aot"
    if grep -qiE 'warning (IL|AOT)[0-9]' "$WORK/build-aot.log"; then
      cat "$WORK/build-aot.log" >&2
      fail "the NativeAOT publish has trim/AOT warnings"
    fi
    touch "$VM_CACHE/.aot-built"
  fi
  log "building the guest image (scripts/build-test-guest)"
  local out spec adds=()
  for spec in "${VM_GUEST_FILES[@]}"; do adds+=(--add "$spec"); done
  out=$("$REPO/scripts/build-test-guest" --agent "$GUEST_AGENT" "${adds[@]}" "${VM_GUEST_EXTRAS[@]}" \
          --out "$VM_CACHE/image" 2>"$WORK/build-guest.log") || { cat "$WORK/build-guest.log" >&2; fail "build-test-guest failed"; }
  IMAGE=$(tail -n 1 <<<"$out")
  flock -u 8
  exec 8>&-
}

# ---------------------------------------------------------------------------------------------
# Daemon

# vm_start_daemon CONTROL-SOCKET RUN-ARGS...: starts 'ivshmemd run RUN-ARGS' in the background (its
# log in WORK/ivshmemd.log, its pid in DAEMON_PID) and waits until its control socket answers,
# which it creates after every region socket listens.
vm_start_daemon() {
  local control=$1; shift
  "$IVSHMEMD" run "$@" 2>"$WORK/ivshmemd.log" &
  DAEMON_PID=$!
  for _ in $(seq 300); do
    "$IVSHMEMD" status --socket "$control" >/dev/null 2>&1 && return 0
    kill -0 "$DAEMON_PID" 2>/dev/null || fail "ivshmemd exited at start-up"
    sleep 0.1
  done
  "$IVSHMEMD" status --socket "$control" >/dev/null 2>&1 || fail "ivshmemd did not become ready in 30 s"
}

# Stops the daemon with SIGTERM (how systemd stops it) and returns its exit status.
vm_stop_daemon() {
  local rc=0
  [ -n "$DAEMON_PID" ] || return 0
  kill -TERM "$DAEMON_PID" 2>/dev/null || true
  wait "$DAEMON_PID" || rc=$?
  DAEMON_PID=
  return "$rc"
}

# ---------------------------------------------------------------------------------------------
# Guests

# Prints kvm or tcg: what run-test-guest will use (the same test as its accel_args).
vm_accel() {
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo kvm; else echo tcg; fi
}

# no_timer_check: under software emulation on a busy host the kernel's check of the timer interrupt
# can time out, and with intel-iommu's interrupt remapping it then panics ("timer doesn't work
# through Interrupt-remapped IO-APIC") instead of falling back; the check proves nothing in a VM.
#
# vm_boot LABEL NAME COMMAND [extra run-test-guest args...] [-- extra qemu args]: starts VM NAME in
# the background with the QEMU options 'ivshmemd qemu-args NAME' prints (also left in
# VM_QEMU_ARGS), through VFIO, running COMMAND in the guest. Its console goes to WORK/LABEL.console
# (as it arrives), QEMU's pid to WORK/LABEL.pid; the other functions take the LABEL (a second guest
# of the same NAME needs another LABEL).
vm_boot() {
  local label=$1 name=$2 cmd=$3; shift 3
  local runner=() qemu=() seen_dashes=0 a
  for a in "$@"; do
    if [ "$seen_dashes" = 0 ] && [ "$a" = -- ]; then seen_dashes=1; continue; fi
    if [ "$seen_dashes" = 0 ]; then runner+=("$a"); else qemu+=("$a"); fi
  done
  VM_QEMU_ARGS=()
  mapfile -t VM_QEMU_ARGS < <("$IVSHMEMD" qemu-args "$name" "${VM_CONFIG_ARGS[@]}" "${VM_QEMU_OPTIONS[@]}" --format lines)
  [ ${#VM_QEMU_ARGS[@]} -gt 0 ] || fail "ivshmemd qemu-args $name printed nothing"
  "${VM_EXEC_PREFIX[@]}" "$REPO/scripts/run-test-guest" --cache "$IMAGE" --name "$name" --vfio --mem 512 --timeout "${GUEST_TIMEOUT:-420}" \
    --log "$WORK/$label.console" --append "${VM_APPEND:+$VM_APPEND }no_timer_check" --cmd "$cmd" \
    "${VM_VERBOSE[@]}" "${runner[@]}" -- "${VM_QEMU_ARGS[@]}" -pidfile "$WORK/$label.pid" "${qemu[@]}" \
    >"$WORK/$label.out" 2>"$WORK/$label.err" &
  eval "RUNNER_${label//-/_}=$!"
}

# The pid of the run-test-guest that runs LABEL.
vm_runner_of() { local v="RUNNER_${1//-/_}"; echo "${!v}"; }

# vm_wait_line LABEL REGEX SECONDS: waits until the console of LABEL has a line matching REGEX (ERE)
# and prints it; fails when the guest ends first or the time runs out.
vm_wait_line() {
  local name=$1 regex=$2 seconds=$3 line deadline
  deadline=$(( ${EPOCHREALTIME%[.,]*} + seconds ))
  while :; do
    line=$(grep -aE -m1 "$regex" "$WORK/$name.console" 2>/dev/null || true)
    if [ -n "$line" ]; then printf '%s\n' "${line%$'\r'}"; return 0; fi
    if ! kill -0 "$(vm_runner_of "$name")" 2>/dev/null; then
      sleep 0.2
      line=$(grep -aE -m1 "$regex" "$WORK/$name.console" 2>/dev/null || true)
      if [ -n "$line" ]; then printf '%s\n' "${line%$'\r'}"; return 0; fi
      fail "$name ended before its console showed /$regex/"
    fi
    [ "${EPOCHREALTIME%[.,]*}" -lt "$deadline" ] || fail "$name: no /$regex/ on its console within $seconds s"
    sleep 0.05
  done
}

# vm_elapsed [SINCE]: seconds, to a tenth, since SINCE (an EPOCHREALTIME; default START).
vm_elapsed() {
  local since=${1:-$START}
  local now=${EPOCHREALTIME/[.,]/} start=${since/[.,]/}
  local ds=$(((now - start) / 100000))
  printf '%d.%d' $((ds / 10)) $((ds % 10))
}

# The XXH128 (32 hex digits) in an agent's summary line, or nothing.
vm_xxh_of() { sed -n 's/.*xxh128 \([0-9a-f]\{32\}\).*/\1/p' <<<"$1"; }

# vm_wait_runner LABEL STATUS: waits for LABEL's run-test-guest, which must exit with STATUS.
vm_wait_runner() {
  local name=$1 want=$2 rc=0
  wait "$(vm_runner_of "$name")" || rc=$?
  [ "$rc" = "$want" ] || fail "$name: run-test-guest exited with status $rc, expected $want"
}

# ---------------------------------------------------------------------------------------------
# Failure reporting and cleanup

# The guests' consoles and the daemon's log, to stderr.
vm_show_logs() {
  local f
  for f in "$WORK"/*.console; do
    [ -f "$f" ] || continue
    echo "----- console of $(basename "$f" .console) -----" >&2
    cat "$f" >&2
  done
  for f in "$WORK"/*.err; do
    [ -f "$f" ] || continue
    # run-test-guest repeats the console log there on failure; its own verdict lines suffice.
    grep -a '^run-test-guest' "$f" >&2 || true
  done
  if [ -f "$WORK/ivshmemd.log" ]; then
    echo "----- ivshmemd log -----" >&2
    cat "$WORK/ivshmemd.log" >&2
  fi
  echo "----- end of logs -----" >&2
}

# Why: a failed or interrupted run must leave no QEMU, daemon or socket behind. Only processes the
# caller started are stopped: QEMUs by the pids they wrote, a guest whose QEMU has not written its
# pid file yet through its run-test-guest's children (timeout(1), which passes SIGTERM on to QEMU),
# and the daemon by DAEMON_PID. Leaves WORK itself to the caller.
vm_cleanup() {
  local f pid v runner
  for f in "$WORK"/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null) || continue
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  done
  for v in $(compgen -v RUNNER_ || true); do
    runner=${!v}
    if [ -n "$runner" ] && kill -0 "$runner" 2>/dev/null; then
      pkill -TERM -P "$runner" 2>/dev/null || true
      wait "$runner" 2>/dev/null || true
    fi
  done
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
  fi
  DAEMON_PID=
}

# The caller's EXIT trap: vm_cleanup; the logs when the run failed without fail having shown them;
# WORK removed unless KEEP=1.
vm_exit() {
  local rc=$?
  vm_cleanup
  if [ "$rc" -ne 0 ] && [ "$FAILED" = 0 ]; then vm_show_logs; fi
  if [ "$KEEP" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
