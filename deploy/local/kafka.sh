#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft, combined broker+controller).
#
# Usage: deploy/local/kafka.sh fetch|start|stop|status|topics
#
#   fetch   download the broker jars (pinned in deploy/kafka/pom.xml) into <run>/kafka/libs
#   start   fetch if needed, format storage once, start the broker, wait until it answers
#   stop    stop the broker (SIGTERM, then SIGKILL after 30 s)
#   status  exit 0 when the broker is running and answers, 1 otherwise
#   topics  create the Branchwork topics and their .dlq siblings (idempotent)
#
# Environment:
#   BRANCHWORK_RUN_DIR               run folder (default: <repo>/.run)
#   BRANCHWORK_KAFKA_PORT            client port, 127.0.0.1 only (default: 19092)
#   BRANCHWORK_KAFKA_CONTROLLER_PORT controller port (default: 19093)
#   BRANCHWORK_KAFKA_START_TIMEOUT   seconds to wait for the broker (default: 90)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
KAFKA_DEPLOY_DIR="$REPO_ROOT/deploy/kafka"

RUN_DIR=${BRANCHWORK_RUN_DIR:-$REPO_ROOT/.run}
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)

PORT=${BRANCHWORK_KAFKA_PORT:-19092}
CONTROLLER_PORT=${BRANCHWORK_KAFKA_CONTROLLER_PORT:-19093}
START_TIMEOUT=${BRANCHWORK_KAFKA_START_TIMEOUT:-90}
BOOTSTRAP="127.0.0.1:$PORT"

KAFKA_DIR="$RUN_DIR/kafka"
LIBS_DIR="$KAFKA_DIR/libs"
DATA_DIR="$KAFKA_DIR/data"
CONFIG_FILE="$KAFKA_DIR/server.properties"
CLUSTER_ID_FILE="$KAFKA_DIR/cluster.id"
LOG_DIR="$RUN_DIR/logs"
LOG_FILE="$LOG_DIR/kafka.log"
STDOUT_FILE="$LOG_DIR/kafka.stdout.log"
PID_FILE="$RUN_DIR/pids/kafka.pid"

TOPICS=(
  branchwork.members.events
  branchwork.activities.events
  branchwork.notify.events
)
TOPIC_PARTITIONS=6

# JVM flags for short-lived CLI tools: start fast, stay small.
TOOL_JVM_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto)

log() { printf 'kafka: %s\n' "$*"; }
die() { printf 'kafka: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------- stack.env

# Quote a value for a shell-sourceable line only when it needs it.
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

# ---------------------------------------------------------------- jars

pom_digest() { sha1sum "$KAFKA_DEPLOY_DIR/pom.xml" | cut -c1-40; }

libs_ready() {
  [[ -f $LIBS_DIR/.pom.sha1 ]] && [[ $(cat "$LIBS_DIR/.pom.sha1") == "$(pom_digest)" ]]
}

cmd_fetch() {
  if libs_ready; then
    log "jars already present in $LIBS_DIR"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found; run deploy/local/prereqs.sh"
  log "fetching Kafka jars with Maven into $LIBS_DIR ..."
  local tmp="$KAFKA_DIR/libs.tmp"
  rm -rf "$tmp"
  mkdir -p "$KAFKA_DIR"
  mvn -q -B -Dstyle.color=never -f "$KAFKA_DEPLOY_DIR/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime ||
    die "Maven could not fetch the Kafka jars (see output above)"
  pom_digest >"$tmp/.pom.sha1"
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars"
}

# ---------------------------------------------------------------- java helpers

kafka_java() {
  java "${TOOL_JVM_OPTS[@]}" -cp "$LIBS_DIR/*" "$@"
}

topic_command() {
  kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" "$@"
}

# ---------------------------------------------------------------- process state

is_our_broker() {
  pid_alive "$1" &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $CONFIG_FILE"
}

# The broker's pid, from the pid file; if that file was lost (e.g. the run folder
# was deleted under a running broker), the java process started with this run
# folder's exact server.properties path.
broker_pid() {
  local pid f
  if [[ -f $PID_FILE ]]; then
    pid=$(cat "$PID_FILE")
    if [[ $pid =~ ^[0-9]+$ ]] && is_our_broker "$pid"; then
      printf '%s' "$pid"
      return 0
    fi
  fi
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    if is_our_broker "$pid"; then
      mkdir -p "$(dirname "$PID_FILE")"
      echo "$pid" >"$PID_FILE"
      printf '%s' "$pid"
      return 0
    fi
  done
  return 1
}

# True while the process exists and is not a zombie waiting to be reaped.
pid_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

show_log_tail() {
  local f
  for f in "$LOG_FILE" "$STDOUT_FILE"; do
    if [[ -s $f ]]; then
      printf '%s\n' "---- last lines of $f ----" >&2
      tail -n 40 "$f" >&2
    fi
  done
}

# ---------------------------------------------------------------- config + storage

write_config() {
  mkdir -p "$DATA_DIR" "$LOG_DIR" "$(dirname "$PID_FILE")"
  cat >"$CONFIG_FILE" <<EOF
# Generated by deploy/local/kafka.sh; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR

num.partitions=6
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0

offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

num.network.threads=2
num.io.threads=4
log.retention.hours=168
EOF
}

cluster_id() {
  if [[ ! -s $CLUSTER_ID_FILE ]]; then
    kafka_java kafka.tools.StorageTool random-uuid | tail -n 1 | tr -d '[:space:]' >"$CLUSTER_ID_FILE.tmp"
    [[ -s $CLUSTER_ID_FILE.tmp ]] || die "could not generate a cluster id"
    mv "$CLUSTER_ID_FILE.tmp" "$CLUSTER_ID_FILE"
  fi
  cat "$CLUSTER_ID_FILE"
}

format_storage() {
  [[ -f $DATA_DIR/meta.properties ]] && return 0
  log "formatting storage in $DATA_DIR"
  kafka_java kafka.tools.StorageTool format --standalone \
    -t "$(cluster_id)" -c "$CONFIG_FILE" >>"$STDOUT_FILE" 2>&1 || {
    show_log_tail
    die "storage format failed"
  }
}

# ---------------------------------------------------------------- start / wait / stop

launch_broker() {
  : >"$STDOUT_FILE"
  local log4j_config="$KAFKA_DEPLOY_DIR/log4j2.yaml"
  nohup setsid java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dkafka.logs.dir="$LOG_DIR" -Dlog4j2.configurationFile="$log4j_config" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$CONFIG_FILE" \
    </dev/null >>"$STDOUT_FILE" 2>&1 &
  echo $! >"$PID_FILE"
}

broker_answers() {
  timeout 30 java "${TOOL_JVM_OPTS[@]}" -cp "$LIBS_DIR/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1
}

wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT))
  local pid
  pid=$(cat "$PID_FILE")
  while ((SECONDS < deadline)); do
    if ! pid_alive "$pid"; then
      rm -f "$PID_FILE"
      show_log_tail
      die "broker process exited during startup"
    fi
    if port_open "$PORT" && broker_answers; then
      return 0
    fi
    sleep 1
  done
  show_log_tail
  log "broker did not answer within ${START_TIMEOUT}s; stopping it"
  terminate "$pid"
  rm -f "$PID_FILE"
  die "broker did not answer on $BOOTSTRAP within ${START_TIMEOUT}s"
}

cmd_start() {
  local pid started=$SECONDS
  if pid=$(broker_pid); then
    log "already running (pid $pid) on $BOOTSTRAP"
    set_stack_env BRANCHWORK_KAFKA_BOOTSTRAP "$BOOTSTRAP"
    return 0
  fi
  rm -f "$PID_FILE"
  command -v java >/dev/null || die "java not found; run deploy/local/prereqs.sh"
  port_open "$PORT" && die "port $PORT is already in use by another process"
  port_open "$CONTROLLER_PORT" && die "port $CONTROLLER_PORT is already in use by another process"
  cmd_fetch
  write_config
  format_storage
  log "starting broker on $BOOTSTRAP (controller 127.0.0.1:$CONTROLLER_PORT)"
  launch_broker
  wait_ready
  set_stack_env BRANCHWORK_KAFKA_BOOTSTRAP "$BOOTSTRAP"
  log "ready (pid $(cat "$PID_FILE")) in $((SECONDS - started))s; log: $LOG_FILE"
}

# terminate PID: SIGTERM, wait up to 30 s, then SIGKILL.
terminate() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    pid_alive "$pid" || return 0
    sleep 1
  done
  log "still running after 30s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 10; i++)); do
    pid_alive "$pid" || return 0
    sleep 1
  done
  die "process $pid did not exit"
}

cmd_stop() {
  local pid
  if ! pid=$(broker_pid); then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping broker (pid $pid)"
  terminate "$pid"
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  local pid
  if ! pid=$(broker_pid); then
    log "not running"
    return 1
  fi
  if port_open "$PORT" && broker_answers; then
    log "running (pid $pid) on $BOOTSTRAP"
    return 0
  fi
  log "process $pid is up but $BOOTSTRAP does not answer"
  return 1
}

# ---------------------------------------------------------------- topics

cmd_topics() {
  broker_pid >/dev/null || die "broker is not running; run: $0 start"
  local existing wanted=() t
  existing=$(topic_command --list 2>/dev/null) || die "could not list topics on $BOOTSTRAP"
  for t in "${TOPICS[@]}"; do
    wanted+=("$t" "$t.dlq")
  done
  for t in "${wanted[@]}"; do
    if grep -qxF "$t" <<<"$existing"; then
      log "topic $t exists"
      continue
    fi
    topic_command --create --if-not-exists --topic "$t" \
      --partitions "$TOPIC_PARTITIONS" --replication-factor 1 >/dev/null ||
      die "could not create topic $t"
    log "topic $t created"
  done
}

# ---------------------------------------------------------------- main

main() {
  case "${1:-}" in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    topics) cmd_topics ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
