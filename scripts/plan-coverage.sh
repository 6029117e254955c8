#!/usr/bin/env bash
# Branch coverage of components/plan, measured by node's own test runner, offline.
#
#   bash scripts/plan-coverage.sh        prints per-file and total branch coverage of
#                                        components/plan; exit 1 when a test fails or the total is
#                                        below $PLAN_COVERAGE_MIN (default 95)
#
# Why compile first: on node 20, `--experimental-test-coverage` maps tsx's source maps wrongly
# (line and branch numbers come out garbled), so the tests run here on tsc's JavaScript
# (ES2022, almost line for line the TypeScript) in a temporary directory. Only files under
# components/plan count; test files and helpers do not.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
min=${PLAN_COVERAGE_MIN:-95}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cat >"$out/tsconfig.json" <<JSON
{
  "extends": "$root/tsconfig.json",
  "compilerOptions": {
    "outDir": "$out/js",
    "rootDir": "$root",
    "typeRoots": ["$root/node_modules/@types"],
    "sourceMap": false,
    "noEmit": false
  },
  "include": ["$root/components/plan/**/*.ts", "$root/test/plan/**/*.ts"]
}
JSON
"$root/node_modules/.bin/tsc" -p "$out/tsconfig.json"
# The compiled tests import fast-check and friends from the project's node_modules.
ln -s "$root/node_modules" "$out/js/node_modules"

cat >"$out/branch-reporter.mjs" <<'JS'
// Sums node's per-file branch counts for components/plan and prints them.
export default async function* reporter(source) {
  const prefix = process.env.PLAN_COVERAGE_PREFIX;
  for await (const event of source) {
    if (event.type === "test:fail" && event.data.details?.type !== "suite") {
      yield `FAILED: ${event.data.name}\n`;
    }
    if (event.type !== "test:coverage") {
      continue;
    }
    let total = 0;
    let covered = 0;
    const lines = [];
    for (const f of event.data.summary.files) {
      if (!f.path.startsWith(prefix)) {
        continue;
      }
      total += f.totalBranchCount;
      covered += f.coveredBranchCount;
      const missed = f.branches.filter((b) => b.count === 0).map((b) => b.line);
      const name = f.path.slice(prefix.length).replace(/\.js$/, ".ts");
      lines.push(
        `  ${name.padEnd(16)} ${f.coveredBranchPercent.toFixed(2).padStart(6)}%  ` +
          `(${f.coveredBranchCount}/${f.totalBranchCount})` +
          (missed.length > 0 ? `  uncovered branches at js lines ${missed.join(", ")}` : ""),
      );
    }
    const pct = total === 0 ? 0 : (100 * covered) / total;
    yield `branch coverage of components/plan, per file:\n${lines.join("\n")}\n`;
    yield `BRANCH COVERAGE components/plan: ${pct.toFixed(2)}% (${covered}/${total} branches)\n`;
  }
}
JS

log="$out/report.txt"
status=0
PLAN_COVERAGE_PREFIX="$out/js/components/plan/" KONG_PLAN_ROOT="$root" \
  node --test --experimental-test-coverage \
  --test-reporter=dot --test-reporter-destination=stderr \
  --test-reporter="$out/branch-reporter.mjs" --test-reporter-destination="$log" \
  "$out"/js/test/plan/*.test.js || status=$?
cat "$log"
if [[ $status -ne 0 ]] || grep -q '^FAILED:' "$log"; then
  echo "plan-coverage: tests failed" >&2
  exit 1
fi
pct=$(sed -n 's/^BRANCH COVERAGE components\/plan: \([0-9.]*\)%.*/\1/p' "$log")
if ! awk -v p="$pct" -v m="$min" 'BEGIN { exit !(p >= m) }'; then
  echo "plan-coverage: ${pct}% is below the required ${min}%" >&2
  exit 1
fi
