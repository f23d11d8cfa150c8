#!/usr/bin/env bash
# Show the last lines of every log of the local stack (follow one with: tail -f .run/logs/NAME.log).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_DIR=${BRANCHWORK_RUN_DIR:-$REPO_ROOT/.run}
for file in "$RUN_DIR"/logs/*.log; do
  [ -f "$file" ] || continue
  echo "==> $file <=="
  tail -n "${LINES_PER_LOG:-15}" "$file"
done
