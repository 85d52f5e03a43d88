# shellcheck shell=bash
# Sourced first by every script in scripts/: the messages, the usage error and the failure exit,
# defined once. (The guest-side scripts in scripts/guest run under busybox sh in the test guest and
# do not use it.)
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"     # from scripts/NAME
#
# Sets, unless the script set them before sourcing:
#   REPO        the repository root
#   PROG        the script's name, as messages start ("vm-e2e: ...")
#   LOG_FD      where log writes: 2 (standard error, the default) or 1
#   DIE_STATUS  the exit status of die (default 1)
#   FAILED      0; fail sets it to 1 (cleanup traps read it, e.g. to show logs only once)
# Defines:
#   log MESSAGE...          "PROG: MESSAGE" on LOG_FD; log_prefix says what comes before MESSAGE,
#                           and a script redefines it for a clock or a guest's name
#   die MESSAGE...          "PROG: error: MESSAGE" on standard error, exit DIE_STATUS
#   usage_error MESSAGE...  "PROG: MESSAGE (see --help)" on standard error, exit 2
#   fail MESSAGE...         a check failed: "FAIL: MESSAGE" through log on standard error, FAILED=1,
#                           the script's on_fail hook (e.g. show the logs), exit 1
#   title MESSAGE...        "== MESSAGE" on standard output (the demos' steps)
#   indent [MORE]           copies standard input indented by three spaces and MORE
#   parse_size SIZE         prints SIZE (bytes, or a number with K, M, G, T: powers of 1024) in bytes;
#                           a usage error when it is not one, or not 1 byte..1T

: "${REPO:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${PROG:=$(basename "$0")}"
: "${LOG_FD:=2}"
: "${DIE_STATUS:=1}"
FAILED=0

log_prefix() { printf '%s: ' "$PROG"; }
log() { printf '%s%s\n' "$(log_prefix)" "$*" >&"$LOG_FD"; }
die() { printf '%serror: %s\n' "$(log_prefix)" "$*" >&2; exit "$DIE_STATUS"; }
usage_error() { printf '%s: %s (see --help)\n' "$PROG" "$*" >&2; exit 2; }
on_fail() { :; }
fail() {
  FAILED=1
  LOG_FD=2 log "FAIL: $*"
  on_fail
  exit 1
}
title() { printf '== %s\n' "$*"; }
indent() { sed "s/^/   ${1:-}/"; }

parse_size() {
  [[ $1 =~ ^([0-9]{1,13})([KMGT]?)$ ]] ||
    usage_error "'$1' is not a size; write bytes or a number with K, M, G, e.g. 256M"
  local unit
  case ${BASH_REMATCH[2]} in
    K) unit=$((1 << 10)) ;; M) unit=$((1 << 20)) ;; G) unit=$((1 << 30)) ;; T) unit=$((1 << 40)) ;; *) unit=1 ;;
  esac
  local bytes=$((10#${BASH_REMATCH[1]} * unit))
  [ "$bytes" -ge 1 ] || usage_error "the size must be at least 1 byte, not '$1'"
  [ "$bytes" -le $((1 << 40)) ] || usage_error "the size must be at most 1T, not '$1'"
  printf '%s\n' "$bytes"
}
