#!/usr/bin/env bash
# Start the whole platform: PostgreSQL, Kafka, databases and topics, services, relays, consumers, demo data.
#
# Usage: deploy/local/up.sh [--no-demo]
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
RUN_DIR=${BRANCHWORK_RUN_DIR:-$REPO_ROOT/.run}
VENV=${BRANCHWORK_VENV:-$REPO_ROOT/.venv}

"$SCRIPT_DIR/prereqs.sh"
"$SCRIPT_DIR/browser.sh"
"$SCRIPT_DIR/venv.sh"
"$SCRIPT_DIR/postgres.sh" start
"$SCRIPT_DIR/kafka.sh" start
# shellcheck disable=SC1091
source "$RUN_DIR/stack.env"
"$VENV/bin/branchwork" setup
"$SCRIPT_DIR/services.sh" start
if [ "${1:-}" != "--no-demo" ]; then
  # The reminder scheduler waits until a year of demo records is in: judged half-loaded, the
  # history would raise reminders (a health check "missing") that the next records answer.
  "$SCRIPT_DIR/services.sh" stop notify-scheduler
  "$VENV/bin/python" "$SCRIPT_DIR/demo.py"
  "$SCRIPT_DIR/services.sh" start
fi
cat <<TXT

Branchwork is up.
  members     http://127.0.0.1:${BRANCHWORK_MEMBERS_PORT:-8001}/docs
  activities  http://127.0.0.1:${BRANCHWORK_ACTIVITIES_PORT:-8002}/docs
  notify      http://127.0.0.1:${BRANCHWORK_NOTIFY_PORT:-8003}/docs
  audit       http://127.0.0.1:${BRANCHWORK_AUDIT_PORT:-8004}/docs
  dashboard   http://127.0.0.1:${BRANCHWORK_AUDIT_PORT:-8004}/   (sign in with an auditor's token; with BRANCHWORK_DEV_LOGIN=1, 开发登录)
  secretaries http://127.0.0.1:${BRANCHWORK_WEB_PORT:-$(( ${BRANCHWORK_AUDIT_PORT:-8004} + 1 ))}/   (a secretary's token: --role secretary --branch …; or 开发登录)
  PostgreSQL  ${BRANCHWORK_PG_ADMIN_DSN}
  Kafka       ${BRANCHWORK_KAFKA_BOOTSTRAP}
  logs        $RUN_DIR/logs   (make logs)
A token:     .venv/bin/branchwork token --role platform_admin --sub admin
TXT
