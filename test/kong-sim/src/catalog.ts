/**
 * Which migrations a given Kong version knows, for a given `plugins` setting (KONG.md §1, §4):
 * core first, then each loaded plugin that ships migrations, sorted by name as Kong does.
 */
import { CORE } from "./migrations/core";
import { PLUGINS } from "./migrations/plugins";
import type { MigrationDef } from "./migrations/types";
import { atLeast, type KongVersion } from "./version";

/** One migration as this version ships it (teardown or not). */
export interface Migration {
  readonly name: string;
  readonly up: string;
  /** Present when this version's copy has a teardown, making the migration "pending" after `up`. */
  readonly teardown?: readonly string[];
}

/** A subsystem and its migrations, in order. */
export interface Subsystem {
  readonly subsystem: string;
  readonly namespace: string;
  readonly migrations: readonly Migration[];
}

/** Bundled plugins and the release that first bundled each (those without migrations included). */
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

/** Names of the plugins bundled with `version` (what `plugins = bundled` loads). */
export function bundledPlugins(version: KongVersion): string[] {
  return BUNDLED.filter(([, since]) => atLeast(version, since)).map(([n]) => n);
}

/**
 * Resolves a `plugins` setting (`bundled`, `off`, or a list mixing both with names) into the set of
 * plugin names the node loads, in Kong's conf_loader way.
 */
export function loadedPlugins(version: KongVersion, setting: readonly string[]): Set<string> {
  const out = new Set<string>();
  if (setting.length === 0 || setting[0] === "off") {
    return out;
  }
  for (const name of setting) {
    if (name === "bundled") {
      bundledPlugins(version).forEach((n) => out.add(n));
    } else if (name !== "off") {
      out.add(name);
    }
  }
  return out;
}

function toMigration(version: KongVersion, def: MigrationDef): Migration {
  const hasTeardown = def.teardown && atLeast(version, def.teardownSince ?? def.since);
  return hasTeardown
    ? { name: def.name, up: def.up, teardown: def.teardown }
    : { name: def.name, up: def.up };
}

/** The subsystems `version` considers with these loaded plugins (unknown plugin names are skipped). */
export function catalogFor(version: KongVersion, plugins: ReadonlySet<string>): Subsystem[] {
  const known = (d: MigrationDef) => atLeast(version, d.since);
  const out: Subsystem[] = [
    {
      subsystem: "core",
      namespace: "kong.db.migrations.core",
      migrations: CORE.filter(known).map((d) => toMigration(version, d)),
    },
  ];
  for (const name of [...plugins].sort()) {
    const defs = PLUGINS.filter((d) => d.subsystem === name && known(d));
    if (defs.length > 0) {
      out.push({
        subsystem: name,
        namespace: `kong.plugins.${name}.migrations`,
        migrations: defs.map((d) => toMigration(version, d)),
      });
    }
  }
  return out;
}
