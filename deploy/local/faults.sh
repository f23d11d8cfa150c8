#!/usr/bin/env bash
# The fault tier: a platform of its own on a three-node Kafka cluster, put through real failures by
# tests/faults (brokers killed, PostgreSQL restarted, workers SIGKILLed, SMTP away), then stopped.
#
# Usage: deploy/local/faults.sh test [pytest arguments]   (default: tests/faults; what `make test-faults` runs)
#        deploy/local/faults.sh up|down|env
#
#   test  start the fault platform afresh, run the tier, write docs/reliability.md's table from the
#         results when it passes, and stop everything, pass or fail
#   up    start the fault platform afresh and leave it running (to explore; `down` stops it)
#   down  stop it
#   env   print the fault platform's variables (source them to use `branchwork` against it)
#
# The fault platform lives in <run>/faults (its own PostgreSQL cluster, brokers, logs) and listens on
# the stack's ports (BRANCHWORK_*_PORT, their defaults otherwise) plus BRANCHWORK_FAULTS_PORT_OFFSET
# (default 100), so it runs beside `make up`'s stack; inside BRANCHWORK_PORT_BLOCK_START..END when set.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
MAIN_RUN_DIR=${BRANCHWORK_RUN_DIR:-$REPO_ROOT/.run}
VENV=${BRANCHWORK_VENV:-$REPO_ROOT/.venv}
OFFSET=${BRANCHWORK_FAULTS_PORT_OFFSET:-100}

log() { printf 'faults: %s\n' "$*"; }
die() { printf 'faults: ERROR: %s\n' "$*" >&2; exit 1; }

# name:default of every port the stack listens on; the brokers take two more pairs at +10 and +20.
PORTS=(PG_PORT:55432 KAFKA_PORT:19092 KAFKA_CONTROLLER_PORT:19093 MEMBERS_PORT:8001 ACTIVITIES_PORT:8002
       NOTIFY_PORT:8003 AUDIT_PORT:8004 SMTP_PORT:2525)

fault_environment() {
  local spec var port
  export BRANCHWORK_RUN_DIR=$MAIN_RUN_DIR/faults
  export BRANCHWORK_KAFKA_NODES=3
  export BRANCHWORK_KAFKA_LIBS=$MAIN_RUN_DIR/kafka/libs
  export BRANCHWORK_FAULT_TIER=1
  # A broker restarted after SIGKILL recovers its logs first; on a busy machine that takes a while.
  export BRANCHWORK_KAFKA_START_TIMEOUT=${BRANCHWORK_KAFKA_START_TIMEOUT:-300}
  # Deliveries retried within seconds, not the production half-minute, so an SMTP outage fits a test;
  # twelve attempts give up only after about 95 s, far longer than the outage, as an hour is in production.
  export BRANCHWORK_NOTIFY_RETRY_BASE_SECONDS=${BRANCHWORK_NOTIFY_RETRY_BASE_SECONDS:-1}
  export BRANCHWORK_NOTIFY_RETRY_CAP_SECONDS=${BRANCHWORK_NOTIFY_RETRY_CAP_SECONDS:-10}
  export BRANCHWORK_NOTIFY_MAX_ATTEMPTS=${BRANCHWORK_NOTIFY_MAX_ATTEMPTS:-12}
  for spec in "${PORTS[@]}"; do
    var=BRANCHWORK_${spec%%:*}
    port=$(( ${!var:-${spec##*:}} + OFFSET ))
    export "$var=$port"
    check_in_block "$var" "$port"
    case $var in *KAFKA*) check_in_block "$var (node 3)" $((port + 20)) ;; esac
  done
}

check_in_block() {
  local start=${BRANCHWORK_PORT_BLOCK_START:-} end=${BRANCHWORK_PORT_BLOCK_END:-}
  [[ -z $start || -z $end ]] && return 0
  (( $2 >= start && $2 <= end )) ||
    die "$1 would be $2, outside the port block $start..$end; set BRANCHWORK_FAULTS_PORT_OFFSET"
}

stop_all() {
  "$SCRIPT_DIR/services.sh" stop || true
  "$SCRIPT_DIR/kafka.sh" stop || true
  "$SCRIPT_DIR/postgres.sh" stop || true
}

# A fresh platform each run: the figures of docs/reliability.md count this run's commands only.
up() {
  "$SCRIPT_DIR/prereqs.sh"
  "$SCRIPT_DIR/venv.sh"
  stop_all >/dev/null
  "$SCRIPT_DIR/postgres.sh" reset >/dev/null
  rm -rf "$BRANCHWORK_RUN_DIR"
  "$SCRIPT_DIR/postgres.sh" start
  "$SCRIPT_DIR/kafka.sh" start
  # shellcheck disable=SC1091
  source "$BRANCHWORK_RUN_DIR/stack.env"
  "$VENV/bin/branchwork" setup
  "$SCRIPT_DIR/services.sh" start
  log "up in $BRANCHWORK_RUN_DIR: members on 127.0.0.1:$BRANCHWORK_MEMBERS_PORT, Kafka $BRANCHWORK_KAFKA_BOOTSTRAP"
}

run_tests() {
  local status=0
  trap stop_all EXIT
  up
  # shellcheck disable=SC1091
  source "$BRANCHWORK_RUN_DIR/stack.env"
  cd "$REPO_ROOT"
  "$VENV/bin/python" -m pytest --durations=0 "${@:-tests/faults}" || status=$?
  if ((status == 0)); then
    "$VENV/bin/python" -m tests.faults.results "$BRANCHWORK_RUN_DIR/results.json" docs/reliability.md
  fi
  return $status
}

fault_environment
case "${1:-}" in
  test) shift; run_tests "$@" ;;
  up) up ;;
  down) stop_all ;;
  env)
    env | grep -E '^BRANCHWORK_' | sed 's/^/export /'
    [[ -f $BRANCHWORK_RUN_DIR/stack.env ]] && cat "$BRANCHWORK_RUN_DIR/stack.env"
    ;;
  *) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
