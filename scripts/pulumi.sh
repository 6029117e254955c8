#!/usr/bin/env bash
# `npm run pulumi -- <args>`: the project's engine with the local defaults of scripts/env.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [[ ! -x "$root/.tools/bin/pulumi" ]]; then
  echo "pulumi is not set up yet: run 'npm run setup' first" >&2
  exit 1
fi
cd "$root"
bash scripts/ensure-runner.sh
exec "$root/.tools/bin/pulumi" "$@"
