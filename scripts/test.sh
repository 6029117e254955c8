#!/usr/bin/env bash
# `npm test`: unit, component and end-to-end tests through node's built-in runner (so the summary
# line is node's own). Extra arguments select test files, e.g. `npm test -- test/plan/*.test.ts`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$root"
if [[ $# -gt 0 ]]; then
  files=("$@")
else
  mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
fi
exec node --import tsx --test --test-reporter=spec "${files[@]}"
