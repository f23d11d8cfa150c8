#!/usr/bin/env bash
# Local Apache Kafka (KRaft, every node a combined broker+controller): one node by default,
# or a three-node cluster (replication factor 3, min.insync.replicas=2) with BRANCHWORK_KAFKA_NODES=3.
#
# Usage: deploy/local/kafka.sh fetch|start [NODE]|stop [NODE]|status|topics
#
#   fetch         download the broker jars (pinned in deploy/kafka/pom.xml) into <run>/kafka/libs
#   start [NODE]  fetch if needed, format storage once, start every node (or node NODE) not running,
#                 wait until each answers
#   stop [NODE]   stop every node (or node NODE): SIGTERM, then SIGKILL after 30 s
#   status        one line per node; exit 0 when every node is running and answers, 1 otherwise
#   topics        create the Branchwork topics and their .dlq siblings (idempotent)
#
# Environment:
#   BRANCHWORK_RUN_DIR               run folder (default: <repo>/.run)
#   BRANCHWORK_KAFKA_NODES           1 (default) or 3; a run folder keeps the count it was formatted with
#   BRANCHWORK_KAFKA_PORT            client port of node 1, 127.0.0.1 only (default: 19092)
#   BRANCHWORK_KAFKA_CONTROLLER_PORT controller port of node 1 (default: 19093)
#                                    node N listens on both ports + 10 × (N − 1)
#   BRANCHWORK_KAFKA_LIBS            folder of the jars (default: <run>/kafka/libs)
#   BRANCHWORK_KAFKA_START_TIMEOUT   seconds to wait for a node (default: 90)
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
PORT_STEP=10

KAFKA_DIR="$RUN_DIR/kafka"
LIBS_DIR=${BRANCHWORK_KAFKA_LIBS:-$KAFKA_DIR/libs}
CLUSTER_ID_FILE="$KAFKA_DIR/cluster.id"
NODES_FILE="$KAFKA_DIR/nodes"
LOG_DIR="$RUN_DIR/logs"

# The node count: the one this run folder was formatted with, else the environment's.
NODES=${BRANCHWORK_KAFKA_NODES:-$(cat "$NODES_FILE" 2>/dev/null || echo 1)}

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
  sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# shellcheck source=deploy/local/stack_env.sh
source "$SCRIPT_DIR/stack_env.sh"

# ---------------------------------------------------------------- layout of a node

cluster() { ((NODES > 1)); }

# A single node keeps the paths it always had; cluster node N lives in kafka/node-N.
node_dir() { if cluster; then echo "$KAFKA_DIR/node-$1"; else echo "$KAFKA_DIR"; fi; }
node_name() { if cluster; then echo "kafka-$1"; else echo kafka; fi; }
config_file() { echo "$(node_dir "$1")/server.properties"; }
data_dir() { echo "$(node_dir "$1")/data"; }
pid_file() { echo "$RUN_DIR/pids/$(node_name "$1").pid"; }
log_file() { echo "$LOG_DIR/$(node_name "$1").log"; }
stdout_file() { echo "$LOG_DIR/$(node_name "$1").stdout.log"; }
client_port() { echo $((PORT + PORT_STEP * ($1 - 1))); }
controller_port() { echo $((CONTROLLER_PORT + PORT_STEP * ($1 - 1))); }

all_nodes() { seq 1 "$NODES"; }

bootstrap() {
  local n list=()
  for n in $(all_nodes); do list+=("127.0.0.1:$(client_port "$n")"); done
  local IFS=,
  echo "${list[*]}"
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
  local tmp="$LIBS_DIR.tmp"
  rm -rf "$tmp"
  mkdir -p "$(dirname "$LIBS_DIR")"
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
  kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap)" "$@"
}

# ---------------------------------------------------------------- process state

is_our_broker() { # PID NODE
  pid_alive "$1" &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $(config_file "$2")"
}

# Node N's pid, from its pid file; if that file was lost (e.g. the run folder was deleted
# under a running broker), the java process started with this node's exact server.properties path.
broker_pid() {
  local node=$1 pid pid_path
  pid_path=$(pid_file "$node")
  if [[ -f $pid_path ]]; then
    pid=$(cat "$pid_path")
    if [[ $pid =~ ^[0-9]+$ ]] && is_our_broker "$pid" "$node"; then
      printf '%s' "$pid"
      return 0
    fi
  fi
  for pid in $(candidate_pids "$node"); do
    if is_our_broker "$pid" "$node"; then
      mkdir -p "$(dirname "$pid_path")"
      echo "$pid" >"$pid_path"
      printf '%s' "$pid"
      return 0
    fi
  done
  return 1
}

# Processes that may be node N's broker: pgrep's matches, or every process without pgrep.
candidate_pids() {
  local f
  if command -v pgrep >/dev/null; then
    pgrep -f -- "kafka.Kafka $(config_file "$1")" || true
    return
  fi
  for f in /proc/[0-9]*/cmdline; do
    f=${f#/proc/}
    echo "${f%/cmdline}"
  done
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
  for f in "$(log_file "$1")" "$(stdout_file "$1")"; do
    if [[ -s $f ]]; then
      printf '%s\n' "---- last lines of $f ----" >&2
      tail -n 40 "$f" >&2
    fi
  done
}

# ---------------------------------------------------------------- config + storage

quorum_voters() {
  local n list=()
  for n in $(all_nodes); do list+=("$n@127.0.0.1:$(controller_port "$n")"); done
  local IFS=,
  echo "${list[*]}"
}

# A single node bootstraps a dynamic quorum of itself; a cluster names its three voters.
quorum_config() {
  if cluster; then
    echo "controller.quorum.voters=$(quorum_voters)"
  else
    echo "controller.quorum.bootstrap.servers=127.0.0.1:$(controller_port 1)"
  fi
}

# A cluster keeps every partition on all three nodes and takes a write once two have it:
# one node may be lost without losing an acknowledged event or refusing writes.
replication_config() {
  local replicas=1 min_isr=1
  if cluster; then
    replicas=3
    min_isr=2
  fi
  cat <<EOF
default.replication.factor=$replicas
min.insync.replicas=$min_isr
unclean.leader.election.enable=false
offsets.topic.replication.factor=$replicas
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$replicas
share.coordinator.state.topic.min.isr=$min_isr
EOF
}

write_config() {
  local node=$1 port controller
  port=$(client_port "$node")
  controller=$(controller_port "$node")
  mkdir -p "$(data_dir "$node")" "$LOG_DIR" "$RUN_DIR/pids"
  cat >"$(config_file "$node")" <<EOF
# Generated by deploy/local/kafka.sh; rewritten on every start.
process.roles=broker,controller
node.id=$node
$(quorum_config)
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$(data_dir "$node")

num.partitions=$TOPIC_PARTITIONS
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
offsets.topic.num.partitions=10
$(replication_config)

num.network.threads=2
num.io.threads=4
log.retention.hours=168
EOF
}

cluster_id() {
  if [[ ! -s $CLUSTER_ID_FILE ]]; then
    mkdir -p "$KAFKA_DIR"
    kafka_java kafka.tools.StorageTool random-uuid | tail -n 1 | tr -d '[:space:]' >"$CLUSTER_ID_FILE.tmp"
    [[ -s $CLUSTER_ID_FILE.tmp ]] || die "could not generate a cluster id"
    mv "$CLUSTER_ID_FILE.tmp" "$CLUSTER_ID_FILE"
  fi
  cat "$CLUSTER_ID_FILE"
}

format_storage() {
  local node=$1 quorum=()
  [[ -f $(data_dir "$node")/meta.properties ]] && return 0
  log "formatting storage in $(data_dir "$node")"
  cluster || quorum=(--standalone)
  kafka_java kafka.tools.StorageTool format "${quorum[@]}" \
    -t "$(cluster_id)" -c "$(config_file "$node")" >>"$(stdout_file "$node")" 2>&1 || {
    show_log_tail "$node"
    die "storage format of node $node failed"
  }
}

# A run folder formatted for one node count cannot start as another.
check_node_count() {
  if [[ -s $NODES_FILE && $(cat "$NODES_FILE") != "$NODES" ]]; then
    die "$KAFKA_DIR was formatted for $(cat "$NODES_FILE") node(s), not $NODES; stop it and delete $KAFKA_DIR first"
  fi
  if [[ ! -s $NODES_FILE && -f $KAFKA_DIR/data/meta.properties ]] && cluster; then
    die "$KAFKA_DIR holds a single node's data; stop it and delete $KAFKA_DIR first"
  fi
  [[ $NODES == 1 || $NODES == 3 ]] || die "BRANCHWORK_KAFKA_NODES must be 1 or 3, not $NODES"
  mkdir -p "$KAFKA_DIR"
  echo "$NODES" >"$NODES_FILE"
}

# ---------------------------------------------------------------- start / wait / stop

# A cluster node gets less memory: three of them share the machine.
heap_opts() {
  if cluster; then echo "-Xms128m -Xmx384m"; else echo "-Xms256m -Xmx512m"; fi
}

launch_broker() {
  local node=$1 log4j_config="$KAFKA_DEPLOY_DIR/log4j2.yaml"
  : >"$(stdout_file "$node")"
  # shellcheck disable=SC2046
  nohup setsid java $(heap_opts) -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dkafka.logs.dir="$LOG_DIR" -Dkafka.log.name="$(node_name "$node")" \
    -Dlog4j2.configurationFile="$log4j_config" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$(config_file "$node")" \
    </dev/null >>"$(stdout_file "$node")" 2>&1 &
  echo $! >"$(pid_file "$node")"
}

node_answers() {
  timeout 30 java "${TOOL_JVM_OPTS[@]}" -cp "$LIBS_DIR/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$(client_port "$1")" --list >/dev/null 2>&1
}

wait_ready() {
  local node=$1 deadline=$((SECONDS + START_TIMEOUT)) pid
  pid=$(cat "$(pid_file "$node")")
  while ((SECONDS < deadline)); do
    if ! pid_alive "$pid"; then
      rm -f "$(pid_file "$node")"
      show_log_tail "$node"
      die "node $node exited during startup"
    fi
    if port_open "$(client_port "$node")" && node_answers "$node"; then
      return 0
    fi
    sleep 1
  done
  show_log_tail "$node"
  log "node $node did not answer within ${START_TIMEOUT}s; stopping it"
  terminate "$pid"
  rm -f "$(pid_file "$node")"
  die "node $node did not answer on 127.0.0.1:$(client_port "$node") within ${START_TIMEOUT}s"
}

# Launch one node if it is not running; a node launched is added to LAUNCHED.
LAUNCHED=()
launch_node() {
  local node=$1 pid
  if pid=$(broker_pid "$node"); then
    log "node $node already running (pid $pid) on 127.0.0.1:$(client_port "$node")"
    return 0
  fi
  rm -f "$(pid_file "$node")"
  port_open "$(client_port "$node")" && die "port $(client_port "$node") is already in use by another process"
  port_open "$(controller_port "$node")" && die "port $(controller_port "$node") is already in use by another process"
  write_config "$node"
  format_storage "$node"
  log "starting node $node on 127.0.0.1:$(client_port "$node") (controller 127.0.0.1:$(controller_port "$node"))"
  launch_broker "$node"
  LAUNCHED+=("$node")
}

nodes_of() { if [[ -n ${1:-} ]]; then echo "$1"; else all_nodes; fi; }

check_node() {
  [[ -z ${1:-} ]] && return 0
  [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= NODES)) || die "no node $1 (nodes: 1..$NODES)"
}

# Every node is launched before any is waited for: a cluster answers only once a majority of
# its controllers is up.
cmd_start() {
  local started=$SECONDS node
  check_node "${1:-}"
  command -v java >/dev/null || die "java not found; run deploy/local/prereqs.sh"
  check_node_count
  cmd_fetch
  for node in $(nodes_of "${1:-}"); do launch_node "$node"; done
  for node in "${LAUNCHED[@]}"; do
    wait_ready "$node"
    log "node $node ready (pid $(cat "$(pid_file "$node")")); log: $(log_file "$node")"
  done
  set_stack_env BRANCHWORK_KAFKA_BOOTSTRAP "$(bootstrap)"
  # What `branchwork setup` creates topics with: every node a replica.
  set_stack_env BRANCHWORK_TOPIC_REPLICATION "$NODES"
  ((${#LAUNCHED[@]} == 0)) || log "ready in $((SECONDS - started))s on $(bootstrap)"
}

# terminate PID…: SIGTERM to all at once, wait up to 30 s, then SIGKILL what is left.
terminate() {
  local pid i left
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 30; i++)); do
    left=()
    for pid in "$@"; do pid_alive "$pid" && left+=("$pid"); done
    ((${#left[@]} == 0)) && return 0
    sleep 1
  done
  log "still running after 30s: ${left[*]}; sending SIGKILL"
  for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 10; i++)); do
    left=()
    for pid in "$@"; do pid_alive "$pid" && left+=("$pid"); done
    ((${#left[@]} == 0)) && return 0
    sleep 1
  done
  die "process(es) ${left[*]} did not exit"
}

# The nodes are stopped together: while they all run, their quorum lets each of them shut down
# cleanly, where the last of a one-by-one stop would wait for a quorum that is gone.
cmd_stop() {
  local node pid pids=()
  check_node "${1:-}"
  for node in $(nodes_of "${1:-}"); do
    if pid=$(broker_pid "$node"); then
      log "stopping node $node (pid $pid)"
      pids+=("$pid")
    else
      log "node $node not running"
    fi
  done
  ((${#pids[@]} == 0)) || terminate "${pids[@]}"
  for node in $(nodes_of "${1:-}"); do rm -f "$(pid_file "$node")"; done
  log "stopped"
}

cmd_status() {
  local node pid down=0
  for node in $(all_nodes); do
    if ! pid=$(broker_pid "$node"); then
      log "node $node not running"
      down=1
    elif port_open "$(client_port "$node")" && node_answers "$node"; then
      log "node $node running (pid $pid) on 127.0.0.1:$(client_port "$node")"
    else
      log "node $node: process $pid is up but 127.0.0.1:$(client_port "$node") does not answer"
      down=1
    fi
  done
  return $down
}

# ---------------------------------------------------------------- topics

cmd_topics() {
  local node running=0
  for node in $(all_nodes); do broker_pid "$node" >/dev/null && running=1; done
  ((running)) || die "Kafka is not running; run: $0 start"
  local existing wanted=() t
  existing=$(topic_command --list 2>/dev/null) || die "could not list topics on $(bootstrap)"
  for t in "${TOPICS[@]}"; do
    wanted+=("$t" "$t.dlq")
  done
  for t in "${wanted[@]}"; do
    if grep -qxF "$t" <<<"$existing"; then
      log "topic $t exists"
      continue
    fi
    # The replication factor is the broker's default: 1 on a single node, 3 in a cluster.
    topic_command --create --if-not-exists --topic "$t" --partitions "$TOPIC_PARTITIONS" >/dev/null ||
      die "could not create topic $t"
    log "topic $t created"
  done
}

# ---------------------------------------------------------------- main

main() {
  case "${1:-}" in
    fetch) cmd_fetch ;;
    start) cmd_start "${2:-}" ;;
    stop) cmd_stop "${2:-}" ;;
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
