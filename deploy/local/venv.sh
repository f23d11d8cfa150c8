#!/usr/bin/env bash
# Create .venv and install the pinned dependencies and the project itself (skipped when up to date).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${BRANCHWORK_VENV:-$REPO_ROOT/.venv}
PYTHON=${PYTHON:-python3}
stamp="$VENV/.installed"
if [ -f "$stamp" ] && [ "$stamp" -nt "$REPO_ROOT/requirements.txt" ] && [ "$stamp" -nt "$REPO_ROOT/requirements-dev.txt" ] \
   && [ "$stamp" -nt "$REPO_ROOT/pyproject.toml" ]; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REPO_ROOT/requirements-dev.txt"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -e "$REPO_ROOT"
touch "$stamp"
echo "venv: dependencies installed in $VENV"
