#!/usr/bin/env bash
# Leaves a working Pulumi engine under .tools/: the `pulumi` CLI (v3.248.0, the SDK's version), the
# Node.js language host next to it, and the `command` resource plugin 1.2.1, installed into
# .tools/pulumi-home. Nothing can be downloaded from the internet here, so everything is built
# from Go modules through the Go module proxy. Each part is skipped when already built at the
# right version, so a warm run takes seconds.
#
# Users with internet access should install Pulumi the usual way instead; a `pulumi` on PATH of at
# least v3.248.0 with its language host is used as it is (step 1).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.tools"
bin="$tools/bin"
export PULUMI_HOME="$tools/pulumi-home"
export GOPROXY="${GOPROXY_OVERRIDE:-https://proxy.golang.org}"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export PULUMI_SKIP_UPDATE_CHECK=true
mkdir -p "$bin" "$tools/build" "$PULUMI_HOME"
# Built plugins stay out of bin/: the engine prefers a plugin found on PATH over the installed one.
rm -f "$bin/pulumi-resource-command"

readonly PULUMI_VERSION=v3.248.0
readonly COMMAND_VERSION=1.2.1

log() { printf '[setup-engine] %s\n' "$*"; }
stamp_ok() { [[ -f "$tools/$1.stamp" && "$(cat "$tools/$1.stamp")" == "$2" ]]; }
stamp() { printf '%s' "$2" >"$tools/$1.stamp"; }
since() { echo "$(($(date +%s) - $1))s"; }

version_ge() { # version_ge A B: A >= B (vX.Y.Z)
  [[ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | head -n 1)" == "${2#v}" ]]
}

# 1. A user-installed Pulumi of at least our version, with its Node.js language host.
if [[ ! -x "$bin/pulumi" ]] && command -v pulumi >/dev/null 2>&1 &&
  command -v pulumi-language-nodejs >/dev/null 2>&1; then
  have=$(pulumi version 2>/dev/null || echo v0.0.0)
  if version_ge "$have" "$PULUMI_VERSION"; then
    log "using the pulumi $have on PATH ($(command -v pulumi))"
    ln -sf "$(command -v pulumi)" "$bin/pulumi"
    ln -sf "$(command -v pulumi-language-nodejs)" "$bin/pulumi-language-nodejs"
    stamp pulumi "$PULUMI_VERSION"
    stamp language-nodejs "$PULUMI_VERSION"
  fi
fi

command -v go >/dev/null 2>&1 || {
  echo "setup-engine: Go is needed to build the Pulumi engine here (or install Pulumi >= $PULUMI_VERSION the usual way)" >&2
  exit 1
}

# 2a. The CLI, from github.com/pulumi/pulumi/pkg/v3 (see tools/pulumi/go.mod for the replaces).
if stamp_ok pulumi "$PULUMI_VERSION" && [[ -x "$bin/pulumi" ]]; then
  log "pulumi $PULUMI_VERSION already built"
else
  t=$(date +%s)
  log "building the pulumi CLI $PULUMI_VERSION from Go modules (several minutes on a cold cache)..."
  (cd "$root/tools/pulumi" && go build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    -o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  stamp pulumi "$PULUMI_VERSION"
  log "pulumi CLI built in $(since "$t")"
fi

# 2b. The Node.js language host. Its own module at the v3.248.0 commit is not served by the module
# proxy (403), so it is built from sdk/v3 v3.68.0, the last served release in which it was still a
# package of the sdk module. The engine falls back to the older protocol methods it implements.
if stamp_ok language-nodejs "sdk-v3.68.0" && [[ -x "$bin/pulumi-language-nodejs" ]]; then
  log "pulumi-language-nodejs already built"
else
  t=$(date +%s)
  log "building pulumi-language-nodejs (from github.com/pulumi/pulumi/sdk/v3 v3.68.0)..."
  (cd "$root/tools/language-nodejs" && go build -trimpath -ldflags "-s -w" \
    -o "$bin/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)
  stamp language-nodejs "sdk-v3.68.0"
  log "pulumi-language-nodejs built in $(since "$t")"
fi

# 2c. The `command` resource plugin 1.2.1. The real provider's module is not served by the proxy
# (403 for every version), so tools/command-provider is our own implementation of the same
# resource types for the unmodified @pulumi/command 1.2.1 SDK (see its README).
src_hash=$(cd "$root/tools/command-provider" && cat go.mod go.sum *.go 2>/dev/null | sha256sum | cut -c1-16)
if stamp_ok command "$COMMAND_VERSION-$src_hash" &&
  [[ -d "$PULUMI_HOME/plugins/resource-command-v$COMMAND_VERSION" ]]; then
  log "command plugin $COMMAND_VERSION already installed"
else
  t=$(date +%s)
  log "building the command plugin $COMMAND_VERSION (tools/command-provider)..."
  (cd "$root/tools/command-provider" && go build -trimpath \
    -ldflags "-s -w -X main.version=$COMMAND_VERSION" -o "$tools/build/pulumi-resource-command" .)
  "$bin/pulumi" plugin rm resource command "$COMMAND_VERSION" --yes >/dev/null 2>&1 || true
  "$bin/pulumi" plugin install resource command "$COMMAND_VERSION" --file "$tools/build/pulumi-resource-command" >/dev/null
  stamp command "$COMMAND_VERSION-$src_hash"
  log "command plugin built and installed in $(since "$t")"
fi

log "engine ready: $("$bin/pulumi" version) in $bin; plugins in $PULUMI_HOME/plugins"
