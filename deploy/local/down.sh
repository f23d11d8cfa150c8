#!/usr/bin/env bash
# Stop every process of the platform; data stays in the run folder.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$SCRIPT_DIR/services.sh" stop
"$SCRIPT_DIR/kafka.sh" stop
"$SCRIPT_DIR/postgres.sh" stop
