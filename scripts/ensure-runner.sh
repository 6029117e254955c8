#!/usr/bin/env bash
# Builds this checkout's step runner bundle (.tools/runner/run.js) when it is missing or older
# than a source under components/ (scripts/build-runner.ts); a no-op, in milliseconds, otherwise.
# Run by `npm run setup` and `npm run pulumi`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bundle="$root/.tools/runner/run.js"
if [[ ! -f $bundle || -n $(find "$root/components" -name '*.ts' -newer "$bundle" -print -quit) ]]; then
  (cd "$root" && node --import tsx scripts/build-runner.ts)
fi
