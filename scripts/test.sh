#!/usr/bin/env bash
# `npm test`: unit, component and end-to-end tests through node's built-in runner (its run(),
# spec reporter and summary; scripts/run-tests.ts). Extra arguments select test files, e.g.
# `npm test -- test/plan/*.test.ts`.
#
# Files run TEST_CONCURRENCY at a time (default 3, each in its own process): an end-to-end file
# spends most of its time waiting on Kong, sshd, PostgreSQL and the engine, so on a 2-core machine
# three at once take less wall time than two (the last CI at two at a time: 30 minutes). Every
# test may run beside any other: ports come only from freePort() (reserved across processes),
# and everything else a test creates is named by a temp directory or its own process.
# TEST_CONCURRENCY=1 runs one at a time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$root"
concurrency="${TEST_CONCURRENCY:-3}"
if [[ ! "$concurrency" =~ ^[1-9][0-9]?$ ]]; then
  echo "test.sh: TEST_CONCURRENCY \"$concurrency\" is not a number of files from 1 to 99; unset it for the default 3" >&2
  exit 2
fi
if [[ $# -gt 0 ]]; then
  files=("$@")
else
  # The slowest files first (seconds of one run at a time, 2-core machine), so the last minutes
  # are not one long file running alone; then the other end-to-end files, then the rest.
  slow=(
    test/e2e/reconfigure.test.ts          # 164
    test/e2e/bad-input.test.ts            # 158
    test/e2e/hosts.test.ts                # 250 (with the strategies hops)
    test/e2e/fault-matrix.test.ts         # ~200
    test/e2e/portable.test.ts             # ~250 (command and host stores)
    test/e2e/strategies.test.ts           # 109
    test/e2e/upgrade-path.test.ts         # 105
    test/e2e/secrets-audit.test.ts        # 94
    test/e2e/lts-fault-rollback.test.ts   # 86
    test/e2e/consumer.test.ts             # 79
    test/e2e/interrupted.test.ts          # 69
    test/e2e/preview.test.ts              # 61
    test/docker/engine.test.ts            # 55
    test/e2e/host-key.test.ts             # 50
    test/e2e/hosts-service.test.ts        # 49
  )
  mapfile -t all < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
  files=()
  for f in "${slow[@]}"; do
    [[ -f "$f" ]] && files+=("$f")
  done
  for f in "${all[@]}"; do
    [[ "$f" == test/e2e/* && ! " ${files[*]} " =~ " $f " ]] && files+=("$f")
  done
  # Files that compare a measured duration with an estimate from an earlier measurement run
  # last, alone, so other files' load cannot skew one side of the comparison.
  solo=(test/e2e/preview.test.ts test/e2e/upgrade-path.test.ts test/kong-sim/migrations-options.test.ts)
  for f in "${all[@]}"; do
    [[ ! " ${files[*]} " =~ " $f " && ! " ${solo[*]} " =~ " $f " ]] && files+=("$f")
  done
  files=($(for f in "${files[@]}"; do [[ " ${solo[*]} " =~ " $f " ]] || echo "$f"; done))
  files+=(--solo "${solo[@]}")
fi
# node --test would sort the files by name: scripts/run-tests.ts starts them in this order.
exec node --import tsx scripts/run-tests.ts "$concurrency" "${files[@]}"
