#!/usr/bin/env bash
# The platform's own processes: four HTTP services and the secretaries' pages under gunicorn, outbox
# relays, workers, and a supervisor that restarts any of them that dies, as Kubernetes would restart a container.
#
# Usage: deploy/local/services.sh start|stop [NAME…]|status|restart NAME…
#
#   start         start every process not running, wait for the HTTP services, start the supervisor
#   stop [NAME…]  stop the supervisor and every process, or only the processes named (which the
#                 supervisor then leaves stopped: stopping on purpose is not a crash)
#   status        each process with its pid and how often the supervisor restarted it
#   restart NAME… stop the processes named, then start everything not running
#
# Reads <run>/stack.env (written by postgres.sh and kafka.sh) for the database and broker.
# Pid files in <run>/pids, logs in <run>/logs (the supervisor's in supervisor.log), restarts in
# <run>/restarts/NAME (one line each). BRANCHWORK_SUPERVISOR=0 starts no supervisor.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
RUN_DIR=${BRANCHWORK_RUN_DIR:-$REPO_ROOT/.run}
VENV=${BRANCHWORK_VENV:-$REPO_ROOT/.venv}
PIDS=$RUN_DIR/pids
RESTARTS=$RUN_DIR/restarts
mkdir -p "$PIDS" "$RUN_DIR/logs" "$RESTARTS"

# …and the secretaries' pages (services/web), beside the dashboard's port unless BRANCHWORK_WEB_PORT says.
HTTP_SERVICES=(members:8001 activities:8002 notify:8003 audit:8004 "web:$(( ${BRANCHWORK_AUDIT_PORT:-8004} + 1 ))")
RELAYS=(members activities notify)
# Workers (consumers, schedulers) as service:name, as each service's bootstrap declares them.
mapfile -t WORKERS < <("$VENV/bin/branchwork" workers)

SUPERVISOR=supervisor
# Restart backoff: 1 s after a first death, doubling for each death that follows within
# STABLE_SECONDS of the last restart, at most MAX_BACKOFF seconds (Kubernetes' CrashLoopBackOff).
MAX_BACKOFF=30
STABLE_SECONDS=60

log() { printf 'services: %s\n' "$*"; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

load_env() {
  [ -f "$RUN_DIR/stack.env" ] || { echo "services: $RUN_DIR/stack.env missing; start PostgreSQL and Kafka first" >&2; exit 1; }
  # shellcheck disable=SC1091
  source "$RUN_DIR/stack.env"
  export PYTHONUNBUFFERED=1
  # The dashboard's development login stays off unless the developer turns it on
  # (BRANCHWORK_DEV_LOGIN=1 make up); even then it answers loopback callers only.
}

# Pid files change only under this lock, so the supervisor never restarts a process that
# `stop` is taking down, nor starts one a second time.
with_lock() {
  local status=0
  exec 9>"$PIDS/.lock"
  flock 9
  "$@" || status=$?
  flock -u 9
  exec 9>&-
  return $status
}

alive() { kill -0 "$1" 2>/dev/null; }

running() {
  local pid_file=$PIDS/$1.pid pid
  [ -f "$pid_file" ] && read -r pid <"$pid_file" && alive "$pid"
}

# ---------------------------------------------------------------- what each process runs

http_port() {
  local spec var
  for spec in "${HTTP_SERVICES[@]}"; do
    if [ "${spec%%:*}" = "$1" ]; then
      var="BRANCHWORK_${1^^}_PORT"
      echo "${!var:-${spec##*:}}"
      return
    fi
  done
}

# The command line of the process called NAME.
command_of() {
  local name=$1 spec port
  port=$(http_port "$name")
  if [ -n "$port" ]; then
    # BRANCHWORK_HTTP_WORKERS processes of BRANCHWORK_HTTP_THREADS threads; each sizes its pool to its threads.
    echo "$VENV/bin/gunicorn --bind 127.0.0.1:$port --worker-class gthread"
    echo " --workers ${BRANCHWORK_HTTP_WORKERS:-1} --threads ${BRANCHWORK_HTTP_THREADS:-8}"
    echo " --graceful-timeout 10 --access-logfile - services.$name.app:create_app()"
    return
  fi
  if [ "${name%-relay}" != "$name" ]; then
    echo "$VENV/bin/branchwork relay ${name%-relay}"
    return
  fi
  for spec in "${WORKERS[@]}"; do
    [ "${spec##*:}" = "$name" ] && { echo "$VENV/bin/branchwork worker ${spec%%:*} $name"; return; }
  done
  echo "services: no process called $name" >&2
  return 1
}

all_names() {
  for spec in "${HTTP_SERVICES[@]}"; do echo "${spec%%:*}"; done
  for service in "${RELAYS[@]}"; do echo "$service-relay"; done
  for spec in "${WORKERS[@]}"; do echo "${spec##*:}"; done
}

# Start NAME under setsid (it leads its own process group); the caller holds the lock.
launch() {
  local name=$1 cmd
  cmd=$(command_of "$name" | tr -d '\n')
  # shellcheck disable=SC2086
  setsid nohup $cmd >>"$RUN_DIR/logs/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$PIDS/$name.pid"
}

start_one() {
  if running "$1"; then log "$1 already running"; return; fi
  launch "$1"
}

wait_ready() {
  local service=$1 port
  port=$(http_port "$service")
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
  local name spec
  load_env
  for name in $(all_names); do with_lock start_one "$name"; done
  for spec in "${HTTP_SERVICES[@]}"; do wait_ready "${spec%%:*}"; done
  start_supervisor
  log "all services ready"
}

# ---------------------------------------------------------------- stopping

# Stop NAME…: each is taken out of the supervisor's sight before its signal (a process stopped on
# purpose stays stopped), all are signalled at once, and any still running after 10 s is killed with
# its process group (started under setsid, each leads its own: gunicorn's workers go too).
stop_these() {
  local name pid i left names=() pids=()
  for name in "$@"; do
    with_lock mv -f "$PIDS/$name.pid" "$PIDS/$name.stopping" 2>/dev/null || continue
    read -r pid <"$PIDS/$name.stopping" || continue
    names+=("$name")
    pids+=("$pid")
    kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 40); do
    left=0
    for pid in "${pids[@]}"; do alive "$pid" && left=1; done
    ((left)) || break
    sleep 0.25
  done
  for i in "${!pids[@]}"; do
    if alive "${pids[$i]}"; then
      log "${names[$i]} did not stop in 10 s; killing"
      kill -KILL -- "-${pids[$i]}" 2>/dev/null || kill -KILL "${pids[$i]}" 2>/dev/null || true
    fi
    rm -f "$PIDS/${names[$i]}.stopping"
  done
}

stop() {
  local pid_file name names=()
  stop_these "$SUPERVISOR"
  # Every pid file but the brokers': also stops a worker that no longer exists in the code.
  for pid_file in "$PIDS"/*.pid; do
    [ -e "$pid_file" ] || continue
    name=$(basename "$pid_file" .pid)
    case "$name" in kafka | kafka-*) ;; *) names+=("$name") ;; esac
  done
  stop_these "${names[@]}"
  log "stopped"
}

restart() {
  # Restart the named processes (e.g. after changing a service's code), starting anything not running.
  stop_these "$@"
  start
}

# ---------------------------------------------------------------- the supervisor

start_supervisor() {
  [ "${BRANCHWORK_SUPERVISOR:-1}" = 0 ] && return 0
  if running "$SUPERVISOR"; then return 0; fi
  # A fresh supervisor starts counting restarts again, as new pods do.
  rm -f "$RESTARTS"/*
  setsid nohup "$0" supervise >>"$RUN_DIR/logs/$SUPERVISOR.log" 2>&1 </dev/null 9>&- &
  echo $! >"$PIDS/$SUPERVISOR.pid"
}

declare -A CRASHES=() LAST_RESTART=() DUE=()

# Called with the lock held: NAME's pid file is there but its process is gone.
revive() {
  local name=$1 pid=$2 at delay count
  at=$(date +%s)
  if [ -z "${DUE[$name]:-}" ]; then
    if (( at - ${LAST_RESTART[$name]:-0} > STABLE_SECONDS )); then CRASHES[$name]=0; fi
    delay=$(( 1 << ${CRASHES[$name]:-0} ))
    (( delay > MAX_BACKOFF )) && delay=$MAX_BACKOFF
    DUE[$name]=$(( at + delay ))
    echo "$(now) $name (pid $pid) died; restarting in ${delay}s"
  fi
  (( at >= DUE[$name] )) || return 0
  # Whatever it left behind (gunicorn's workers) goes with it, as with a container.
  kill -KILL -- "-$pid" 2>/dev/null || true
  launch "$name"
  unset "DUE[$name]"
  CRASHES[$name]=$(( ${CRASHES[$name]:-0} + 1 ))
  LAST_RESTART[$name]=$at
  echo "$(now) restarted (pid $pid died; now pid $(cat "$PIDS/$name.pid"))" >>"$RESTARTS/$name"
  count=$(wc -l <"$RESTARTS/$name")
  echo "$(now) restarted $name: pid $(cat "$PIDS/$name.pid"), restart $count"
  echo "services: supervisor restarted $name at $(now) after pid $pid died (restart $count)" \
    >>"$RUN_DIR/logs/$name.log"
}

check_all() {
  local name pid
  for name in "${NAMES[@]}"; do
    [ -f "$PIDS/$name.pid" ] || { unset "DUE[$name]"; continue; }  # never started, or stopped on purpose
    read -r pid <"$PIDS/$name.pid" || continue
    alive "$pid" || revive "$name" "$pid"
  done
}

supervise() {
  load_env
  mapfile -t NAMES < <(all_names)
  echo "$(now) supervisor (pid $$) watching ${#NAMES[@]} processes"
  trap 'echo "$(now) supervisor stopped"; exit 0' TERM INT
  exec 9>"$PIDS/.lock"
  while true; do
    flock 9
    check_all
    flock -u 9
    sleep 1 &
    wait $!
  done
}

# ---------------------------------------------------------------- status

status() {
  local name down=0 restarts pid last
  for name in $(all_names) "$SUPERVISOR"; do
    restarts=""
    if [ -s "$RESTARTS/$name" ]; then
      last=$(tail -n 1 "$RESTARTS/$name" | cut -d' ' -f1)
      restarts="  restarts $(wc -l <"$RESTARTS/$name"), last $last"
    fi
    if running "$name"; then
      read -r pid <"$PIDS/$name.pid"
      printf '  %-22s running (pid %s)%s\n' "$name" "$pid" "$restarts"
    elif [ "$name" = "$SUPERVISOR" ] && [ "${BRANCHWORK_SUPERVISOR:-1}" = 0 ]; then
      printf '  %-22s off (BRANCHWORK_SUPERVISOR=0)\n' "$name"
    else
      printf '  %-22s stopped%s\n' "$name" "$restarts"
      down=1
    fi
  done
  return $down
}

case "${1:-}" in
  start) start ;;
  restart) shift; restart "$@" ;;
  stop) shift; if [ $# -gt 0 ]; then stop_these "$@"; else stop; fi ;;
  status) status ;;
  supervise) supervise ;;
  *) echo "usage: $0 start|stop [NAME...]|status|restart NAME..." >&2; exit 2 ;;
esac
