#!/usr/bin/env bash
# Run the whole test suite against the real stack, starting whatever is not running.
#
# Usage: deploy/local/test.sh [pytest arguments]   (default: every tier under tests/)
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
RUN_DIR=${BRANCHWORK_RUN_DIR:-$REPO_ROOT/.run}
VENV=${BRANCHWORK_VENV:-$REPO_ROOT/.venv}

# The suite's own webhook receivers listen on loopback: the one setting that lets notify reach them.
export BRANCHWORK_NOTIFY_WEBHOOK_ALLOW_LOOPBACK=${BRANCHWORK_NOTIFY_WEBHOOK_ALLOW_LOOPBACK:-1}
# A platform a plain `make up` started runs without it: start its processes (and the supervisor that
# restarts them) again with the setting, or the webhook tests would meet a refusal meant for production.
notify_pid=$(cat "$RUN_DIR/pids/notify.pid" 2>/dev/null || true)
if [ -n "$notify_pid" ] && [ -r "/proc/$notify_pid/environ" ] &&
   ! tr '\0' '\n' <"/proc/$notify_pid/environ" | grep -qx "BRANCHWORK_NOTIFY_WEBHOOK_ALLOW_LOOPBACK=$BRANCHWORK_NOTIFY_WEBHOOK_ALLOW_LOOPBACK"; then
  "$SCRIPT_DIR/services.sh" stop
fi
"$SCRIPT_DIR/up.sh" --no-demo
# shellcheck disable=SC1091
source "$RUN_DIR/stack.env"
cd "$REPO_ROOT"
exec "$VENV/bin/python" -m pytest "${@:-tests}"
