#!/usr/bin/env bash
# Debian packages the audit service's reports and its browser tests need:
# chromium (driven by Playwright in tests/browser, never downloaded by Playwright),
# fonts-noto-cjk (Chinese text in the dashboard and in the annual report's PDF),
# the Pango libraries WeasyPrint lays the PDF out with, and poppler-utils (pdftoppm, to look at PDF pages).
#
# Usage: deploy/local/browser.sh
#
# As root, missing packages are installed with apt-get; otherwise they are listed and the script exits 1.
set -euo pipefail

log() { printf 'browser: %s\n' "$*"; }

PACKAGES=(chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 poppler-utils)

missing() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done
}

main() {
  local todo
  todo=$(missing | tr '\n' ' ')
  if [[ -z ${todo// /} ]]; then
    log "all present"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    log "install them with: sudo apt-get install -y $todo"
    exit 1
  fi
  log "installing: $todo"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $todo
  fc-cache -f >/dev/null 2>&1 || true
  todo=$(missing | tr '\n' ' ')
  if [[ -n ${todo// /} ]]; then
    log "still missing after install: $todo"
    exit 1
  fi
  log "all present"
}

main "$@"
