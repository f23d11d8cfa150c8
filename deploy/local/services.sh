#!/usr/bin/env bash
# The platform's own processes: four HTTP services under gunicorn, outbox relays, consumers.
#
# Usage: deploy/local/services.sh start|stop [NAME…]|status|restart NAME…
#
# Reads <run>/stack.env (written by postgres.sh and kafka.sh) for the database and broker.
# Pid files in <run>/pids, logs in <run>/logs.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
RUN_DIR=${BRANCHWORK_RUN_DIR:-$REPO_ROOT/.run}
VENV=${BRANCHWORK_VENV:-$REPO_ROOT/.venv}
mkdir -p "$RUN_DIR/pids" "$RUN_DIR/logs"

HTTP_SERVICES=(members:8001 activities:8002 notify:8003 audit:8004)
RELAYS=(members activities notify)
# Workers (consumers, schedulers) as service:name, from each service's consumer.WORKERS.
mapfile -t WORKERS < <("$VENV/bin/branchwork" workers)

log() { printf 'services: %s\n' "$*"; }

load_env() {
  [ -f "$RUN_DIR/stack.env" ] || { echo "services: $RUN_DIR/stack.env missing; start PostgreSQL and Kafka first" >&2; exit 1; }
  # shellcheck disable=SC1091
  source "$RUN_DIR/stack.env"
  export PYTHONUNBUFFERED=1
  # The dashboard's development login stays off unless the developer turns it on
  # (BRANCHWORK_DEV_LOGIN=1 make up); even then it answers loopback callers only.
}

running() {
  local pid_file=$RUN_DIR/pids/$1.pid
  [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

start_worker() {
  local name=$1; shift
  if running "$name"; then log "$name already running"; return; fi
  setsid nohup "$@" >>"$RUN_DIR/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN_DIR/pids/$name.pid"
}

start_http() {
  local service=${1%%:*} default_port=${1##*:}
  local var="BRANCHWORK_${service^^}_PORT"
  local port=${!var:-$default_port}
  export "$var=$port"
  start_worker "$service" "$VENV/bin/gunicorn" --bind "127.0.0.1:$port" --worker-class gthread \
    --workers 1 --threads 8 --graceful-timeout 10 --access-logfile - \
    "services.$service.app:create_app()"
}

wait_ready() {
  local service=${1%%:*} default_port=${1##*:}
  local var="BRANCHWORK_${service^^}_PORT"
  local port=${!var:-$default_port}
  for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then return 0; fi
    running "$service" || { echo "services: $service exited; see $RUN_DIR/logs/$service.log" >&2; tail -20 "$RUN_DIR/logs/$service.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "services: $service not ready on port $port after 30 s" >&2
  tail -20 "$RUN_DIR/logs/$service.log" >&2
  exit 1
}

start() {
  load_env
  for spec in "${HTTP_SERVICES[@]}"; do start_http "$spec"; done
  for service in "${RELAYS[@]}"; do start_worker "$service-relay" "$VENV/bin/branchwork" relay "$service"; done
  for spec in "${WORKERS[@]}"; do start_worker "${spec##*:}" "$VENV/bin/branchwork" worker "${spec%%:*}" "${spec##*:}"; done
  for spec in "${HTTP_SERVICES[@]}"; do wait_ready "$spec"; done
  log "all services ready"
}

stop_one() {
  local name=$1 pid_file=$RUN_DIR/pids/$1.pid
  [ -f "$pid_file" ] || return 0
  local pid; pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then
      # Started under setsid, the process leads its own group: take its children (gunicorn workers) too.
      log "$name did not stop in 10 s; killing"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pid_file"
}

all_names() {
  for spec in "${HTTP_SERVICES[@]}"; do echo "${spec%%:*}"; done
  for service in "${RELAYS[@]}"; do echo "$service-relay"; done
  for spec in "${WORKERS[@]}"; do echo "${spec##*:}"; done
}

stop() {
  # Every pid file but the broker's: also stops a worker that no longer exists in the code.
  for pid_file in "$RUN_DIR"/pids/*.pid; do
    [ -e "$pid_file" ] || continue
    name=$(basename "$pid_file" .pid)
    [ "$name" = kafka ] || stop_one "$name"
  done
  log "stopped"
}

status() {
  local down=0
  for name in $(all_names); do
    if running "$name"; then printf '  %-18s running (pid %s)\n' "$name" "$(cat "$RUN_DIR/pids/$name.pid")"
    else printf '  %-18s stopped\n' "$name"; down=1; fi
  done
  return $down
}

restart() {
  # Restart the named processes (e.g. after changing a service's code), starting anything not running.
  for name in "$@"; do stop_one "$name"; done
  start
}

case "${1:-}" in
  start) start ;;
  restart) shift; restart "$@" ;;
  stop) shift; if [ $# -gt 0 ]; then for name in "$@"; do stop_one "$name"; done; else stop; fi ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status|restart NAME..." >&2; exit 2 ;;
esac
