#!/usr/bin/env bash
# `npm run setup`: everything a fresh machine needs before tests or the demo run. Idempotent; a
# warm run takes a few seconds.
#   1. node modules (npm ci) when missing or stale;
#   2. PostgreSQL server and client tools from Debian's package, when missing;
#   3. OpenSSH server and client from Debian's packages, when missing (no service is started);
#   4. chromium from Debian's packages, when missing (renders the upgrade timelines in tests);
#   5. the Pulumi engine under .tools/ (scripts/setup-engine.sh);
#   6. the step runner bundle .tools/runner/run.js when missing or stale (scripts/ensure-runner.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
log() { printf '[setup] %s\n' "$*"; }

if [[ ! -d node_modules/@pulumi/pulumi || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "installing node modules (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi

if ! bash scripts/pg-server.sh bindir >/dev/null 2>&1 || ! command -v pg_dump >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing PostgreSQL from Debian's packages..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >/dev/null
  else
    echo "setup: PostgreSQL is missing. Install the server and client tools, e.g. 'sudo apt-get install -y postgresql postgresql-client' (needs initdb, pg_ctl, postgres, psql, pg_dump, pg_restore)" >&2
    exit 1
  fi
fi
log "PostgreSQL: $("$(bash scripts/pg-server.sh bindir)/postgres" --version)"

# OpenSSH server and client for the `hosts` runtime's tests (test/support/sshd.ts starts its own
# daemons on loopback; no system sshd service is started or enabled here).
if [[ ! -x /usr/sbin/sshd ]] || ! command -v ssh >/dev/null 2>&1 || ! command -v ssh-keygen >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing OpenSSH from Debian's packages..."
    apt-get update -qq
    # A policy-rc.d that exits 101 stops the package's postinst from starting the system sshd.
    policy=/usr/sbin/policy-rc.d
    own_policy=false
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy"
      chmod +x "$policy"
      own_policy=true
      trap 'rm -f "$policy"' EXIT
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client >/dev/null
    if $own_policy; then
      rm -f "$policy"
      trap - EXIT
    fi
  else
    echo "setup: OpenSSH is missing. Install it, e.g. 'sudo apt-get install -y openssh-server openssh-client' (needs /usr/sbin/sshd, ssh, ssh-keygen)" >&2
    exit 1
  fi
fi
log "OpenSSH: $(ssh -V 2>&1)"

# A headless browser for the timeline test (test/report/browser.test.ts renders the SVG to a PNG).
if ! command -v chromium >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing chromium from Debian's packages..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium is missing. Install it, e.g. 'sudo apt-get install -y chromium' (the timeline test renders SVG with it, headless)" >&2
    exit 1
  fi
fi
log "chromium: $(chromium --version 2>/dev/null | head -1)"

bash scripts/setup-podman.sh  # podman for the docker runtime's real-engine test (no service)

bash scripts/setup-engine.sh

# The step runner bundle every command resource runs (.tools/runner/run.js), when stale.
bash scripts/ensure-runner.sh

# The embedded `local` stack exists on the file backend, so `npm run pulumi -- preview -s local`
# works right after setup.
source "$root/scripts/env.sh"
if ! "$root/.tools/bin/pulumi" stack ls --json 2>/dev/null | grep -q '"name": "local"'; then
  "$root/.tools/bin/pulumi" stack init local --non-interactive >/dev/null
  log "created the local stack (file backend in .state/)"
fi
