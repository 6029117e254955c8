#!/usr/bin/env bash
# The `local` database of a KongGateway stack: a PostgreSQL server in <dir> (scripts/pg-server.sh)
# with a login role and a database for Kong. Both idempotent; passwords only from the environment.
#
#   local-db.sh create <dir> <port> <database> <user>   KONG_PG_PASSWORD: the role's password
#   local-db.sh delete <dir>                            stops the server and removes <dir> (and
#                                                       the server's own directory, see pg-server.sh)
#
# The superuser has a random password of its own, kept in <dir>/superuser-password (0600), so the
# Kong role's password can be rotated (kong-gateway:dbPassword) on a running server. A server made
# before that file existed has the role's first password as its superuser's: PGPASSWORD.
set -euo pipefail
# The passwords stay in this shell; a program gets one only where it is named below.
role_pw=${KONG_PG_PASSWORD:-} legacy_su_pw=${PGPASSWORD:-}
unset KONG_PG_PASSWORD PGPASSWORD
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "${1:-}" in
  create)
    dir=$2 port=$3 db=$4 user=$5
    : "${role_pw:?local-db: KONG_PG_PASSWORD must hold the Kong role password}"
    su_file="$dir/superuser-password"
    mkdir -p "$dir"
    if [[ ! -f "$dir/data/PG_VERSION" && ! -f "$dir/server-dir" && ! -f "$su_file" ]]; then
      (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$su_file")
    fi
    su_pw=$legacy_su_pw
    if [[ -f "$su_file" ]]; then su_pw=$(cat "$su_file"); fi
    : "${su_pw:?local-db: this server predates superuser-password; PGPASSWORD must hold its superuser password}"
    PGPASSWORD=$su_pw bash "$here/pg-server.sh" start "$dir" "$port"
    psql_su() {
      PGPASSWORD=$su_pw psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"
    }
    # The role password reaches this one psql through its environment (\getenv), never argv.
    KONG_PG_PASSWORD=$role_pw psql_su -v user="$user" <<'SQL'
\getenv pw KONG_PG_PASSWORD
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
    bash "$here/pg-server.sh" remove "$dir"
    echo "local PostgreSQL in $dir removed"
    ;;
  *)
    echo "usage: local-db.sh create <dir> <port> <database> <user> | delete <dir>" >&2
    exit 2
    ;;
esac
