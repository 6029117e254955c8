#!/usr/bin/env bash
# `npm run demo`: the main job on this machine, start to finish, with the real Pulumi CLI.
#   1. set up (node modules, PostgreSQL, the Pulumi engine in .tools/);
#   2. create the `local` stack and deploy Kong at the version stacks/Pulumi.local.yaml names,
#      with demo data (first run only);
#   3. bump the version by one guaranteed hop and show `pulumi preview` (the planned downtime);
#   4. `pulumi up` (the in-place upgrade) and print the upgrade report and its timeline's path.
# Every run performs one more hop. `npm run demo -- --destroy` tears everything down.
# Kong here is the stand-in of test/kong-sim (real Kong cannot be installed on this machine).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
source scripts/env.sh
stack=local
# The version the demo deploys first (stacks/Pulumi.local.yaml as committed).
first_version=3.5.0
banner() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
p() { "$root/.tools/bin/pulumi" "$@"; }

p stack select "$stack" --create --non-interactive >/dev/null

if [[ "${1:-}" == "--destroy" ]]; then
  banner "Destroying the $stack stack (Kong nodes, the local PostgreSQL, backups stay in .state/$stack/backups)"
  p destroy --yes --skip-preview -s "$stack"
  p stack rm "$stack" --yes --preserve-config
  rm -rf ".state/$stack/nodes" ".state/$stack/kong" ".state/$stack/journal" ".state/$stack/attempts.json"
  # The runs bumped the version in the stack file; put the first one back, so the file is as
  # committed and the next demo starts from the beginning.
  sed -i "s/^  kong-gateway:version: .*/  kong-gateway:version: \"$first_version\"/" "stacks/Pulumi.$stack.yaml"
  echo "stacks/Pulumi.$stack.yaml: kong-gateway:version is $first_version again"
  exit 0
fi

deployed=$(p stack output version -s "$stack" 2>/dev/null || true)
if [[ -z "$deployed" ]]; then
  deployed=$(p config get kong-gateway:version -s "$stack")
  banner "1/4 Deploying Kong $deployed (the Kong stand-in from test/kong-sim, not real Kong): pulumi up"
  p up --yes --skip-preview -s "$stack"
  admin=$(p stack output adminUrls -s "$stack" --json | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8"))[0])')
  banner "Seeding demo data through the Admin API ($admin)"
  npx tsx scripts/seed.ts "$admin" --services 100 --consumers 200
else
  banner "1/4 Kong $deployed is already deployed on the $stack stack"
fi

if ! next=$(npx tsx scripts/next-version.ts "$deployed"); then
  echo "Kong $deployed is the newest version this project knows; try 'npm run demo -- --destroy' and start over."
  exit 0
fi
banner "2/4 Bumping the version: pulumi config set kong-gateway:version $next"
p config set kong-gateway:version "$next" -s "$stack"

banner "3/4 pulumi preview: the planned downtime, before anything happens"
p preview -s "$stack"

banner "4/4 pulumi up: the in-place upgrade $deployed → $next"
p up --yes --skip-preview -s "$stack"

banner "The upgrade report (pulumi stack output lastUpgrade)"
p stack output lastUpgrade -s "$stack" --json
node -e '
const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(`\n${r.kind} ${r.from} → ${r.to}: ${r.outcome}; measured downtime ${r.downtimeSeconds}s`);
for (const s of r.steps) console.log(`  ${s.name.padEnd(18)} ${String(s.seconds).padStart(6)}s  ${s.startedAt}`);
if (r.backup) console.log(`backup ${r.backup.id}: ${r.backup.bytes} bytes, sha256 ${r.backup.sha256}\n  ${r.backup.path}`);
if (r.restored) console.log(`restored ${r.restored.id}\n  ${r.restored.path}`);
' < <(p stack output lastUpgrade -s "$stack" --json)
# The verify step drew the change as an SVG beside its report (components/report/timeline.ts).
timeline=$(ls -t ".state/$stack/reports/"*.svg 2>/dev/null | head -1 || true)
if [[ -n "$timeline" ]]; then
  echo "timeline (steps, planned vs measured, the outage; open it in a browser):"
  echo "  $root/$timeline"
fi

proxy=$(p stack output proxyUrls -s "$stack" --json | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).join(" "))')
admin=$(p stack output adminUrls -s "$stack" --json | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).join(" "))')
cat <<TXT

The stack is left running. Look around:
  proxy:  $proxy        (try: curl ${proxy%% *}/svc-1)
  admin:  $admin        (try: curl ${admin%% *}/services)
  npm run pulumi -- stack output -s $stack          every output (lastUpgrade, backups, ...)
  npm run demo                                      the next hop, the same way
  npm run pulumi -- config set kong-gateway:version $deployed -s $stack && npm run pulumi -- up -s $stack
                                                    roll back by version (restores the backup)
  npm run demo -- --destroy                         tear it all down
TXT
