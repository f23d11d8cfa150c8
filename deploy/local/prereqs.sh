#!/usr/bin/env bash
# Checks the tools the local stack needs: python3 >= 3.11, java 17+, mvn,
# PostgreSQL server binaries (initdb, pg_ctl) and psql, curl and jq.
#
# Usage: deploy/local/prereqs.sh
#
# As root, missing tools are installed with apt-get (Debian packages).
# Otherwise the missing packages are listed and the script exits 1.
set -euo pipefail

PG_MAJOR=15
MISSING=()

log() { printf 'prereqs: %s\n' "$*"; }

need() { # need PACKAGE REASON
  log "missing: $2 (Debian package $1)"
  MISSING+=("$1")
}

check_python() {
  if command -v python3 >/dev/null &&
    python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    return 0
  fi
  need python3 "python3 >= 3.11"
  MISSING+=(python3-venv)
}

check_python_venv() {
  command -v python3 >/dev/null || return 0
  python3 -c 'import ensurepip, venv' 2>/dev/null && return 0
  need python3-venv "python3 venv support"
}

java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
}

check_java() {
  local major
  if command -v java >/dev/null; then
    major=$(java_major)
    [[ -n $major && $major -ge 17 ]] && return 0
  fi
  need openjdk-17-jdk-headless "java 17"
}

check_maven() {
  command -v mvn >/dev/null || need maven "mvn"
}

pg_server_present() {
  local d
  [[ -x /usr/lib/postgresql/$PG_MAJOR/bin/initdb && -x /usr/lib/postgresql/$PG_MAJOR/bin/pg_ctl ]] && return 0
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/initdb && -x $d/pg_ctl ]] && return 0
  done
  command -v initdb >/dev/null && command -v pg_ctl >/dev/null
}

check_postgres() {
  pg_server_present || need "postgresql-$PG_MAJOR" "PostgreSQL $PG_MAJOR server (initdb, pg_ctl)"
  command -v psql >/dev/null || need "postgresql-client-$PG_MAJOR" "psql"
}

check_tools() {
  # curl waits for the services (services.sh); jq reads ids out of the answers in the README's first request
  command -v curl >/dev/null || need curl "curl"
  command -v jq >/dev/null || need jq "jq"
}

run_checks() {
  MISSING=()
  check_python
  check_python_venv
  check_java
  check_maven
  check_postgres
  check_tools
}

install_missing() {
  local pkgs
  pkgs=$(printf '%s\n' "${MISSING[@]}" | sort -u | tr '\n' ' ')
  log "installing: $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $pkgs
}

main() {
  run_checks
  if ((${#MISSING[@]} == 0)); then
    log "all present"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    log "install them with: sudo apt-get install -y $(printf '%s\n' "${MISSING[@]}" | sort -u | tr '\n' ' ')"
    exit 1
  fi
  install_missing
  run_checks
  if ((${#MISSING[@]} > 0)); then
    log "still missing after install: ${MISSING[*]}"
    exit 1
  fi
  log "all present"
}

main "$@"
