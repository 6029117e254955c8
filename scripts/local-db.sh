#!/usr/bin/env bash
# The `local` database of a KongGateway stack: a PostgreSQL server in <dir> (scripts/pg-server.sh)
# with a login role and a database for Kong. Both idempotent; passwords only from the environment.
#
#   local-db.sh create <dir> <port> <database> <user>   PGPASSWORD: superuser, KONG_PG_PASSWORD: role
#   local-db.sh delete <dir>                            stops the server and removes <dir>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "${1:-}" in
  create)
    dir=$2 port=$3 db=$4 user=$5
    : "${KONG_PG_PASSWORD:?local-db: KONG_PG_PASSWORD must hold the Kong role password}"
    mkdir -p "$(dirname "$dir")"
    chmod o+x "$(dirname "$dir")"
    bash "$here/pg-server.sh" start "$dir" "$port"
    psql_su() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"; }
    # The role password goes through a psql variable read from the environment, never argv.
    psql_su -v user="$user" -v pw="$KONG_PG_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'pw')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'pw') \gexec
SQL
    psql_su -v user="$user" -v db="$db" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
    echo "local PostgreSQL ready on 127.0.0.1:$port, database $db owned by $user"
    ;;
  delete)
    dir=$2
    bash "$here/pg-server.sh" stop "$dir" || true
    rm -rf "$dir"
    echo "local PostgreSQL in $dir removed"
    ;;
  *)
    echo "usage: local-db.sh create <dir> <port> <database> <user> | delete <dir>" >&2
    exit 2
    ;;
esac
