/**
 * Which bundled plugins each Kong release ships (Kong/kong `kong/constants.lua`, `BUNDLED_PLUGINS`),
 * so a plugin named in `kong-gateway:plugins` that only a later release bundles is refused before
 * anything runs: a node of the target version would not start with it ("plugin is enabled but not
 * installed"). Names bundled by no release are custom plugins, which only the nodes can check
 * (the settings check and preflight run `kong check`). Pure.
 */
import { compareVersions, parseVersion } from "./version";

/** Bundled plugin names and the first release that bundled each (older ones from 2.8.0 on). */
const BUNDLED: readonly (readonly [string, string])[] = [
  ..."jwt acl correlation-id cors oauth2 tcp-log udp-log file-log http-log key-auth hmac-auth basic-auth ip-restriction request-transformer response-transformer request-size-limiting rate-limiting response-ratelimiting syslog loggly datadog ldap-auth statsd bot-detection aws-lambda request-termination prometheus proxy-cache session acme grpc-gateway grpc-web pre-function post-function azure-functions zipkin"
    .split(" ")
    .map((n) => [n, "2.8.0"] as const),
  ["opentelemetry", "3.0.0"],
  ["ai-proxy", "3.6.0"],
  ["ai-prompt-decorator", "3.6.0"],
  ["ai-prompt-guard", "3.6.0"],
  ["ai-prompt-template", "3.6.0"],
  ["ai-request-transformer", "3.6.0"],
  ["ai-response-transformer", "3.6.0"],
  ["standard-webhooks", "3.8.0"],
  ["redirect", "3.9.0"],
];

/**
 * The release that first bundled `plugin`, when `version` predates it (the plugin is Kong's, but
 * not yet in this release); undefined when `version` has it or no release bundles it.
 */
export function bundledLater(plugin: string, version: string): string | undefined {
  const since = BUNDLED.find(([name]) => name === plugin)?.[1];
  if (since === undefined) {
    return undefined;
  }
  const v = parseVersion(version);
  return compareVersions(v, parseVersion(since)) < 0 ? since : undefined;
}
