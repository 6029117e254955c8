#!/usr/bin/env bash
# `npm run build` (and `npm pack`, through prepack): the package other Pulumi programs import.
#   dist/components/…  the library compiled by tsc (tsconfig.build.json), with declarations;
#   dist/runner/run.js the step runner bundle the command resources run (scripts/build-runner.ts).
# The local database's scripts ship as they are (package.json "files").
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
rm -rf dist
npx tsc -p tsconfig.build.json
node --import tsx scripts/build-runner.ts --out dist/runner/run.js
