#!/usr/bin/env bash
# A throwaway PostgreSQL server in a directory of its own, on a loopback port.
#
#   pg-server.sh start  <dir> <port>   initialise (once) and start; idempotent
#   pg-server.sh stop   <dir>          fast shutdown; idempotent
#   pg-server.sh status <dir>          exit 0 when running
#   pg-server.sh bindir                print the directory of the server binaries
#
# Environment (read when the directory is initialised): PG_LISTEN_ADDRESSES (default 127.0.0.1; `*`
# for every address, e.g. so containers reach it at their bridge gateway) and PG_HBA_ALLOW
# (space-separated CIDRs allowed in besides loopback, with the password; default none).
#
# The superuser is `postgres`; its password comes from $PGPASSWORD (never the command line) and is
# required on TCP (scram-sha-256). No Unix socket is created, so clients use 127.0.0.1:<port>.
# PostgreSQL refuses to run as root: when called as root, the server runs as the `postgres` system
# user (created by Debian's package), and <dir> is handed to it.
set -euo pipefail

bindir() {
  if [[ -n "${PG_BINDIR:-}" ]]; then echo "$PG_BINDIR"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$d" && -x "$d/initdb" ]]; then echo "$d"; return; fi
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return; fi
  echo "pg-server: PostgreSQL server binaries not found; install them with 'apt-get install -y postgresql' (or set PG_BINDIR)" >&2
  exit 1
}

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}
case "$cmd" in
  bindir) bindir ;;
  start)
    dir=${2:?usage: pg-server.sh start <dir> <port>}
    port=${3:?usage: pg-server.sh start <dir> <port>}
    : "${PGPASSWORD:?pg-server: set PGPASSWORD to the superuser password}"
    bin=$(bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [[ $(id -u) -eq 0 ]]; then
      if ! runuser -u postgres -- test -x "$(dirname "$dir")"; then
        echo "pg-server: the postgres user cannot reach $dir; make its parent directories traversable (chmod o+x)" >&2
        exit 1
      fi
      chown postgres: "$dir"
    fi
    chmod 700 "$dir"
    data="$dir/data"
    if [[ ! -f "$data/PG_VERSION" ]]; then
      pwfile=$(mktemp)
      chmod 600 "$pwfile"
      printf '%s\n' "$PGPASSWORD" >"$pwfile"
      if [[ $(id -u) -eq 0 ]]; then chown postgres: "$pwfile"; fi
      as_owner "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { rm -f "$pwfile"; cat "$dir/initdb.log" >&2; exit 1; }
      rm -f "$pwfile"
      cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '${PG_LISTEN_ADDRESSES:-127.0.0.1}'
port = $port
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
      for cidr in ${PG_HBA_ALLOW:-}; do
        printf 'host all all %s scram-sha-256\n' "$cidr" >>"$data/pg_hba.conf"
      done
    fi
    if as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then exit 0; fi
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -o "-p $port" -w -t 60 start >/dev/null ||
      { tail -n 20 "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    dir=${2:?usage: pg-server.sh stop <dir>}
    [[ -f "$dir/data/PG_VERSION" ]] || exit 0
    bin=$(bindir)
    if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
  status)
    dir=${2:?usage: pg-server.sh status <dir>}
    bin=$(bindir)
    as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
    ;;
  *)
    echo "usage: pg-server.sh start <dir> <port> | stop <dir> | status <dir> | bindir" >&2
    exit 2
    ;;
esac
