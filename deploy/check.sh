#!/usr/bin/env bash
# make check-deploy: build the pinned kustomize from the Go module proxy (once), then run deploy/check.py.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR=${BRANCHWORK_RUN_DIR:-$REPO_ROOT/.run}
VENV=${BRANCHWORK_VENV:-$REPO_ROOT/.venv}
KUSTOMIZE_VERSION=v5.7.1
TOOLS="$RUN_DIR/tools"
KUSTOMIZE="$TOOLS/kustomize-$KUSTOMIZE_VERSION"

"$REPO_ROOT/deploy/local/venv.sh"
if [ ! -x "$KUSTOMIZE" ]; then
  command -v go >/dev/null || { echo "check-deploy: Go is needed to build kustomize $KUSTOMIZE_VERSION" >&2; exit 1; }
  echo "check-deploy: building kustomize $KUSTOMIZE_VERSION from the Go module proxy"
  mkdir -p "$TOOLS/bin"
  GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod GOTOOLCHAIN=local go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  mv "$TOOLS/bin/kustomize" "$KUSTOMIZE"
fi
exec "$VENV/bin/python" "$REPO_ROOT/deploy/check.py" --kustomize "$KUSTOMIZE"
