#!/usr/bin/env bash
# A throwaway PostgreSQL server in a directory of its own, on a loopback port.
#
#   pg-server.sh start  <dir> <port>   initialise (once) and start; idempotent
#   pg-server.sh stop   <dir>          fast shutdown; idempotent
#   pg-server.sh status <dir>          exit 0 when running
#   pg-server.sh remove <dir>          stop, then remove <dir> and the server's own directory
#   pg-server.sh bindir                print the directory of the server binaries
#
# Environment (read when the directory is initialised): PG_LISTEN_ADDRESSES (default 127.0.0.1; `*`
# for every address, e.g. so containers reach it at their bridge gateway) and PG_HBA_ALLOW
# (space-separated CIDRs allowed in besides loopback, with the password; default none).
#
# The superuser is `postgres`; its password comes from $PGPASSWORD (never the command line) and is
# required on TCP (scram-sha-256); initdb reads it from a 0600 file. No Unix socket is created, so
# clients use 127.0.0.1:<port>. The server starts with an empty environment (no password of ours).
#
# PostgreSQL refuses to run as root: when called as root, the server runs as the `postgres` system
# user (created by Debian's package). If that user can reach <dir>, the server lives there;
# otherwise (e.g. <dir> is below root's 0700 home or a `mktemp -d`) it lives in
# <postgres home>/kong-gateway/<hash of dir> and <dir>/server-dir names that place. `stop`,
# `status` and `remove` find it the same way.
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

# Runs a server program as the server's owner, with an empty environment: the postgres server
# must not inherit the passwords its callers hold.
as_owner() {
  local clean=(env -i "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "LC_ALL=C.UTF-8")
  if [[ $(id -u) -eq 0 ]]; then "${clean[@]}" runuser -u postgres -- "$@"; else "${clean[@]}" "$@"; fi
}

# Where the server of <dir> keeps its data and logs (see the header). Prints the directory.
#   server_dir <dir> [create]   with `create`, decides and records it for a new server
server_dir() {
  local dir=$1 create=${2:-}
  if [[ -f "$dir/server-dir" ]]; then cat "$dir/server-dir"; return; fi
  if [[ -z "$create" || $(id -u) -ne 0 || -f "$dir/data/PG_VERSION" ]] ||
    runuser -u postgres -- test -x "$(dirname "$dir")"; then
    echo "$dir"
    return
  fi
  local home id
  home=$(getent passwd postgres | cut -d: -f6)
  id=$(printf '%s' "$dir" | sha256sum | cut -c1-16)
  printf '%s\n' "$home/kong-gateway/$id" >"$dir/server-dir"
  echo "$home/kong-gateway/$id"
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
    dir=$(server_dir "$(cd "$dir" && pwd)" create)
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
      if ! runuser -u postgres -- test -x "$dir"; then
        echo "pg-server: the postgres user cannot reach $dir" >&2
        exit 1
      fi
      chown postgres: "$dir"
    fi
    chmod 700 "$dir"
    data="$dir/data"
    if [[ ! -f "$data/PG_VERSION" ]]; then
      # In the server's own 0700 directory: $TMPDIR may be private to the caller.
      pwfile="$dir/initdb-pwfile"
      (umask 077 && printf '%s\n' "$PGPASSWORD" >"$pwfile")
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
    [[ -d "$dir" ]] || exit 0
    dir=$(server_dir "$dir")
    [[ -f "$dir/data/PG_VERSION" ]] || exit 0
    bin=$(bindir)
    if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
  status)
    dir=${2:?usage: pg-server.sh status <dir>}
    dir=$(server_dir "$dir")
    bin=$(bindir)
    as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
    ;;
  remove)
    # Stops the server and removes <dir> and, if the server lived elsewhere, that directory.
    dir=${2:?usage: pg-server.sh remove <dir>}
    [[ -d "$dir" ]] || exit 0
    bash "${BASH_SOURCE[0]}" stop "$dir" || true
    home=$(server_dir "$dir")
    if [[ "$home" != "$dir" && "$home" == */kong-gateway/* ]]; then rm -rf -- "$home"; fi
    rm -rf -- "$dir"
    ;;
  *)
    echo "usage: pg-server.sh start <dir> <port> | stop <dir> | status <dir> | remove <dir> | bindir" >&2
    exit 2
    ;;
esac
