# Sourced by the project's scripts: the environment every engine run here uses. Runs on this
# machine never reach out for plugins or updates, keep state in a file backend under .state/
# unless PULUMI_BACKEND_URL says otherwise, and use a passphrase secrets provider.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$root/.tools/bin:$PATH"
export PULUMI_HOME="${PULUMI_HOME:-$root/.tools/pulumi-home}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
  mkdir -p "$root/.state"
  export PULUMI_BACKEND_URL="file://$root/.state"
fi
# The `local` stack's passphrase. It protects nothing of value (a throwaway database on loopback);
# set your own PULUMI_CONFIG_PASSPHRASE (or _FILE) for any other stack.
if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  export PULUMI_CONFIG_PASSPHRASE="kong-gateway-local"
fi
