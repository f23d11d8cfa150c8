#!/usr/bin/env bash
# Local PostgreSQL for development and CI.
#
# Usage: deploy/local/postgres.sh start|stop|status|reset
#
#   start   create the private cluster once, start it, wait until it accepts connections
#   stop    stop it (pg_ctl stop -m fast)
#   status  exit 0 when the server accepts connections, 1 otherwise
#   reset   stop it and delete its data folder
#
# With BRANCHWORK_PG_DSN set, that existing server is used instead: nothing is
# started or stopped, start/status only check that it answers.
#
# Environment:
#   BRANCHWORK_RUN_DIR        run folder (default: <repo>/.run)
#   BRANCHWORK_PG_PORT        port of the private cluster, 127.0.0.1 only (default: 55432)
#   BRANCHWORK_PG_DSN         use this existing server instead of a private cluster
#   BRANCHWORK_PG_START_TIMEOUT seconds to wait for the server (default: 60)
#
# PostgreSQL refuses to run as root: as root the cluster runs as user postgres and
# its data lives in /var/tmp/branchwork-pg-<hash of the run folder>/ (the run folder
# may be under /root, which postgres cannot reach). That path is recorded in
# <run>/postgres/datadir.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)

RUN_DIR=${BRANCHWORK_RUN_DIR:-$REPO_ROOT/.run}
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)

PORT=${BRANCHWORK_PG_PORT:-55432}
START_TIMEOUT=${BRANCHWORK_PG_START_TIMEOUT:-60}
EXTERNAL_DSN=${BRANCHWORK_PG_DSN:-}
LOCAL_DSN="postgresql://postgres@127.0.0.1:$PORT/postgres"

LOG_DIR="$RUN_DIR/logs"
LOG_FILE="$LOG_DIR/postgres.log"
STATE_DIR="$RUN_DIR/postgres"
DATADIR_RECORD="$STATE_DIR/datadir"
PG_USER=postgres

log() { printf 'postgres: %s\n' "$*"; }
die() { printf 'postgres: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# ---------------------------------------------------------------- stack.env

shell_quote() {
  if [[ $1 =~ ^[A-Za-z0-9_@%+=:,./-]*$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# set_stack_env NAME VALUE: replace only this variable's line in <run>/stack.env.
set_stack_env() {
  local name=$1 value=$2 file="$RUN_DIR/stack.env" tmp
  (
    flock 9
    tmp=$(mktemp "$RUN_DIR/.stack.env.XXXXXX")
    if [[ -f $file ]]; then
      grep -v "^export $name=" "$file" >"$tmp" || true
    fi
    printf 'export %s=%s\n' "$name" "$(shell_quote "$value")" >>"$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$file"
  ) 9>"$RUN_DIR/.stack.env.lock"
}

# ---------------------------------------------------------------- binaries

find_bindir() {
  local d
  if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
    echo /usr/lib/postgresql/15/bin
    return
  fi
  if command -v pg_config >/dev/null; then
    d=$(pg_config --bindir 2>/dev/null || true)
    if [[ -n $d && -x $d/initdb ]]; then
      echo "$d"
      return
    fi
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x $d/initdb ]]; then
      echo "$d"
      return
    fi
  done
  d=$(command -v initdb || true)
  [[ -n $d ]] || die "PostgreSQL server binaries (initdb, pg_ctl) not found; run deploy/local/prereqs.sh"
  dirname "$d"
}

# pg_tool NAME: the path of a PostgreSQL program, preferring the server's bin folder.
pg_tool() {
  if [[ -x $BIN_DIR/$1 ]]; then
    echo "$BIN_DIR/$1"
  else
    command -v "$1" || die "$1 not found; run deploy/local/prereqs.sh"
  fi
}

# ---------------------------------------------------------------- layout

# The folder that holds data/ (the cluster) and the unix socket.
pg_base_dir() {
  if is_root; then
    echo "/var/tmp/branchwork-pg-$(printf '%s' "$RUN_DIR" | sha1sum | cut -c1-12)"
  else
    echo "$STATE_DIR"
  fi
}

# Run a command as the cluster owner (postgres when we are root).
as_pg() {
  if is_root; then
    (cd / && runuser -u "$PG_USER" -- "$@")
  else
    "$@"
  fi
}

ensure_pg_user() {
  is_root || return 0
  id -u "$PG_USER" >/dev/null 2>&1 && return 0
  log "creating system user $PG_USER"
  useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql \
    --shell /bin/bash "$PG_USER"
}

# True while the process exists and is not a zombie waiting to be reaped.
pid_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

show_log_tail() {
  if [[ -s $LOG_FILE ]]; then
    printf '%s\n' "---- last lines of $LOG_FILE ----" >&2
    tail -n 40 "$LOG_FILE" >&2
  fi
}

# ---------------------------------------------------------------- cluster

pick_locale() {
  if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
    echo C.UTF-8
  else
    echo C
  fi
}

init_cluster() {
  [[ -f $DATA_DIR/PG_VERSION ]] && return 0
  log "initializing cluster in $DATA_DIR"
  mkdir -p "$BASE_DIR"
  if is_root; then
    chown "$PG_USER:$PG_USER" "$BASE_DIR"
    chmod 755 "$BASE_DIR"
  fi
  as_pg "$(pg_tool initdb)" -D "$DATA_DIR" -U postgres -E UTF8 --locale="$(pick_locale)" \
    --auth-local=trust --auth-host=trust >>"$LOG_FILE" 2>&1 || {
    show_log_tail
    die "initdb failed"
  }
  echo "include_if_exists = 'branchwork.conf'" | as_pg tee -a "$DATA_DIR/postgresql.conf" >/dev/null
}

# Settings rewritten on every start (the port may change between runs).
write_settings() {
  as_pg tee "$DATA_DIR/branchwork.conf" >/dev/null <<EOF
# Generated by deploy/local/postgres.sh; rewritten on every start.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$BASE_DIR'
max_connections = 300
shared_buffers = 128MB
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

server_running() {
  [[ -f $DATA_DIR/PG_VERSION ]] || return 1
  as_pg "$(pg_tool pg_ctl)" status -D "$DATA_DIR" >/dev/null 2>&1
}

accepting() {
  "$(pg_tool pg_isready)" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -t 2
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    accepting && return 0
    if ! server_running; then
      show_log_tail
      die "server exited during startup"
    fi
    sleep 0.5
  done
  show_log_tail
  die "server did not accept connections on 127.0.0.1:$PORT within ${START_TIMEOUT}s"
}

launch_server() {
  # The server's output goes to the log through an inherited file descriptor,
  # so the log can live in a folder the postgres user cannot reach.
  as_pg "$(pg_tool pg_ctl)" start -D "$DATA_DIR" -w -t "$START_TIMEOUT" -s \
    >>"$LOG_FILE" 2>&1 </dev/null || {
    show_log_tail
    die "pg_ctl start failed"
  }
}

# ---------------------------------------------------------------- external server

external_check() {
  command -v psql >/dev/null || die "psql not found; run deploy/local/prereqs.sh"
  psql "$EXTERNAL_DSN" -X -q -A -t -c 'select 1' >/dev/null 2>&1
}

external_cmd() {
  case "$1" in
    start)
      external_check || die "BRANCHWORK_PG_DSN is set but the server does not answer"
      set_stack_env BRANCHWORK_PG_ADMIN_DSN "$EXTERNAL_DSN"
      log "using external server from BRANCHWORK_PG_DSN"
      ;;
    status)
      if external_check; then
        log "external server answers"
      else
        log "external server from BRANCHWORK_PG_DSN does not answer"
        return 1
      fi
      ;;
    stop | reset) log "external server from BRANCHWORK_PG_DSN: nothing to $1" ;;
  esac
}

# ---------------------------------------------------------------- commands

cmd_start() {
  local started=$SECONDS running_port
  mkdir -p "$LOG_DIR" "$STATE_DIR"
  ensure_pg_user
  echo "$BASE_DIR" >"$DATADIR_RECORD"
  if server_running; then
    running_port=$(sed -n 4p "$DATA_DIR/postmaster.pid" 2>/dev/null || true)
    if [[ -n $running_port && $running_port != "$PORT" ]]; then
      die "already running on port $running_port, not $PORT; stop it first"
    fi
    wait_ready
    log "already running on 127.0.0.1:$PORT (data: $DATA_DIR)"
    set_stack_env BRANCHWORK_PG_ADMIN_DSN "$LOCAL_DSN"
    return 0
  fi
  port_open "$PORT" && die "port $PORT is already in use by another process"
  init_cluster
  write_settings
  log "starting on 127.0.0.1:$PORT (data: $DATA_DIR)"
  launch_server
  wait_ready
  set_stack_env BRANCHWORK_PG_ADMIN_DSN "$LOCAL_DSN"
  log "ready in $((SECONDS - started))s; log: $LOG_FILE"
}

postmaster_pid() {
  [[ -f $DATA_DIR/postmaster.pid ]] && head -n 1 "$DATA_DIR/postmaster.pid"
}

cmd_stop() {
  local pid i
  if ! server_running; then
    log "not running"
    return 0
  fi
  pid=$(postmaster_pid || true)
  log "stopping (pid ${pid:-?})"
  if ! as_pg "$(pg_tool pg_ctl)" stop -D "$DATA_DIR" -m fast -w -t 30 -s >>"$LOG_FILE" 2>&1; then
    log "fast shutdown timed out; sending SIGQUIT, then SIGKILL"
    if [[ $pid =~ ^[0-9]+$ ]]; then
      kill -QUIT "$pid" 2>/dev/null || true
      for ((i = 0; i < 10; i++)); do
        pid_alive "$pid" || break
        sleep 1
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  if [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid"; then
    die "postmaster $pid did not exit"
  fi
  log "stopped"
}

cmd_status() {
  if ! server_running; then
    log "not running"
    return 1
  fi
  if accepting && "$(pg_tool psql)" -X -q -A -t -h 127.0.0.1 -p "$PORT" -U postgres -d postgres \
    -c 'select 1' >/dev/null 2>&1; then
    log "running (pid $(postmaster_pid)) on 127.0.0.1:$PORT (data: $DATA_DIR)"
    return 0
  fi
  log "running but not accepting connections on 127.0.0.1:$PORT"
  return 1
}

cmd_reset() {
  cmd_stop
  log "deleting $BASE_DIR"
  if [[ $BASE_DIR == "$STATE_DIR" ]]; then
    rm -rf "$STATE_DIR"
  else
    rm -rf "$BASE_DIR"
    rm -f "$DATADIR_RECORD"
  fi
}

# ---------------------------------------------------------------- main

main() {
  local cmd=${1:-}
  case "$cmd" in
    start | stop | status | reset) ;;
    -h | --help | help)
      usage
      return 0
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
  if [[ -n $EXTERNAL_DSN ]]; then
    external_cmd "$cmd"
    return
  fi
  BIN_DIR=$(find_bindir)
  if [[ -s $DATADIR_RECORD ]]; then
    BASE_DIR=$(cat "$DATADIR_RECORD")
  else
    BASE_DIR=$(pg_base_dir)
  fi
  DATA_DIR="$BASE_DIR/data"
  "cmd_$cmd"
}

main "$@"
