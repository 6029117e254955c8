#!/usr/bin/env bash
# A container engine for the docker runtime's real-engine test (test/docker/engine.test.ts):
# podman, which serves the Docker Engine API that the docker CLI talks to. Idempotent; starts no
# service (test/support/dockerEngine.ts starts its own `podman system service` on a temp socket).
#
#   1. podman and runc from Debian's packages, when missing;
#   2. /etc/containers/containers.conf with limits this machine can grant:
#      - default_ulimits: podman's defaults (nofile 1048576, nproc 4194304) need CAP_SYS_RESOURCE,
#        which this VM lacks, so every container start fails with EPERM; the hard limits of this
#        shell are used instead (nproc also capped by pid_max and 32768, above which podman
#        refuses it here);
#      - runtime runc: crun 1.8 refuses the hybrid cgroup layout of this VM.
set -euo pipefail
log() { printf '[setup] %s\n' "$*"; }

conf=/etc/containers/containers.conf

if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: podman is missing. Install it as root, e.g. 'sudo apt-get install -y podman runc' (the docker runtime's engine test runs real containers through podman's Docker API), then run 'sudo bash scripts/setup-podman.sh' to write $conf" >&2
    exit 1
  fi
  log "installing podman and runc from Debian's packages..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null
fi

nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
pid_max=$(cat /proc/sys/kernel/pid_max)
[[ $nofile == unlimited ]] && nofile=1048576
if [[ $nproc == unlimited ]] || ((nproc > pid_max)); then nproc=$pid_max; fi
((nproc > 32768)) && nproc=32768
want=$(
  cat <<CONF
# Written by kong-gateway scripts/setup-podman.sh: limits this machine can grant, runc (see there).
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
[engine]
runtime = "runc"
CONF
)
if [[ ! -f $conf || $(cat "$conf") != "$want" ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: $conf must hold podman's limits and runtime for this machine; run 'sudo bash scripts/setup-podman.sh' once" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$want" >"$conf"
  log "wrote $conf (nofile $nofile, nproc $nproc, runtime runc)"
fi
if ! command -v docker >/dev/null 2>&1; then
  echo "setup: the docker CLI is missing; the docker runtime and its engine test drive podman through it (DOCKER_HOST). Install a docker client (e.g. 'sudo apt-get install -y docker.io', whose daemon need not run)" >&2
  exit 1
fi
log "podman: $(podman --version); docker CLI: $(docker --version)"
