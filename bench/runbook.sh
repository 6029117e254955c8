#!/usr/bin/env bash
# The runbook baseline of `npm run bench`: Kong's in-place upgrade done by hand, literally, with
# the same Kong binaries the project drives, and nothing the project adds (no checks, no test
# restore, no journal):
#   kong quit each X node → pg_dump -Fc → kong migrations up → kong migrations finish →
#   kong start each Y node → wait until each answers /status/ready.
#
#   KONG_X=<old kong> KONG_Y=<new kong> DUMP=<file> \
#   NODES="<x-prefix>:<y-prefix>:<proxy port>:<admin port>:<status port> ..." \
#   KONG_DATABASE=postgres KONG_PG_HOST=… KONG_PG_PORT=… KONG_PG_USER=… KONG_PG_DATABASE=… \
#   KONG_PG_PASSWORD=… bash bench/runbook.sh
#
# The password comes in the environment (as Kong reads it) and reaches pg_dump as PGPASSWORD,
# never on a command line. Prints one `step <name> <start ms> <end ms>` line per step (ms since
# the epoch) for the bench's timeline.
set -euo pipefail
: "${KONG_X:?}" "${KONG_Y:?}" "${DUMP:?}" "${NODES:?}" "${KONG_PG_DATABASE:?}"
now() { date +%s%3N; }
step() { printf 'step %s %s %s\n' "$1" "$2" "$(now)"; }

t=$(now)
pids=()
for n in $NODES; do
  IFS=: read -r xprefix _ _ _ _ <<<"$n"
  "$KONG_X" quit -p "$xprefix" >/dev/null &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
step stop "$t"

t=$(now)
PGPASSWORD="$KONG_PG_PASSWORD" pg_dump -Fc -h "$KONG_PG_HOST" -p "$KONG_PG_PORT" \
  -U "$KONG_PG_USER" -f "$DUMP" "$KONG_PG_DATABASE"
step backup "$t"

t=$(now)
"$KONG_Y" migrations up >/dev/null
step migrations-up "$t"

t=$(now)
"$KONG_Y" migrations finish >/dev/null
step migrations-finish "$t"

t=$(now)
for n in $NODES; do
  IFS=: read -r _ yprefix proxy admin status <<<"$n"
  KONG_PREFIX="$yprefix" KONG_PROXY_LISTEN="127.0.0.1:$proxy" KONG_ADMIN_LISTEN="127.0.0.1:$admin" \
    KONG_STATUS_LISTEN="127.0.0.1:$status" "$KONG_Y" start >/dev/null
done
for n in $NODES; do
  IFS=: read -r _ _ _ _ status <<<"$n"
  until curl -fs -o /dev/null "http://127.0.0.1:$status/status/ready"; do sleep 0.02; done
done
step start "$t"
