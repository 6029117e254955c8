/**
 * Entity schemas of the Admin API (services, routes, consumers, plugins, key-auth credentials):
 * fields, defaults and Kong's schema-violation wording. Plugin configs get Kong's defaults for
 * key-auth and rate-limiting (whose Redis settings moved into `config.redis` in 3.6).
 */
import { randomBytes } from "node:crypto";
import { atLeast, type KongVersion } from "../version";

/** Kinds of field values. */
export type Kind = "string" | "integer" | "boolean" | "array" | "json" | "foreign";

/** One field of an entity. */
export interface Field {
  readonly name: string;
  readonly kind: Kind;
  readonly default?: unknown;
  readonly required?: boolean;
  /** For `foreign`: the referenced entity's table, stored in column `<name>_id`. */
  readonly ref?: string;
  readonly oneOf?: readonly string[];
}

/** An entity type. */
export interface EntitySchema {
  readonly table: string;
  /** Admin API collection path (`services`, `key-auths`). */
  readonly path: string;
  /** Besides the id, what identifies an entity in a URL (`name`, `username`, `key`). */
  readonly endpointKey?: string;
  readonly fields: readonly Field[];
  /** Has an `updated_at` column. */
  readonly updatedAt: boolean;
}

const PROTOCOLS = [
  "http",
  "https",
  "grpc",
  "grpcs",
  "tcp",
  "tls",
  "udp",
  "tls_passthrough",
  "ws",
  "wss",
];
const s = (name: string, extra: Partial<Field> = {}): Field => ({ name, kind: "string", ...extra });
const i = (name: string, def?: number): Field => ({ name, kind: "integer", default: def });
const b = (name: string, def?: boolean): Field => ({ name, kind: "boolean", default: def });
const a = (name: string, def?: string[]): Field => ({ name, kind: "array", default: def });
const f = (name: string, ref: string, required = false): Field => ({
  name,
  kind: "foreign",
  ref,
  required,
});

/** The entity schemas a node of `v` serves. */
export function schemas(v: KongVersion): Record<string, EntitySchema> {
  return {
    services: {
      table: "services",
      path: "services",
      endpointKey: "name",
      updatedAt: true,
      fields: [
        s("name"),
        i("retries", 5),
        s("protocol", { default: "http", oneOf: PROTOCOLS }),
        s("host", { required: true }),
        i("port", 80),
        s("path"),
        i("connect_timeout", 60000),
        i("write_timeout", 60000),
        i("read_timeout", 60000),
        a("tags"),
        b("tls_verify"),
        i("tls_verify_depth"),
        b("enabled", true),
      ],
    },
    routes: {
      table: "routes",
      path: "routes",
      endpointKey: "name",
      updatedAt: true,
      fields: [
        s("name"),
        a("protocols", ["http", "https"]),
        a("methods"),
        a("hosts"),
        a("paths"),
        { name: "headers", kind: "json" },
        i("https_redirect_status_code", 426),
        i("regex_priority", 0),
        b("strip_path", true),
        s("path_handling", { default: "v0" }),
        b("preserve_host", false),
        b("request_buffering", true),
        b("response_buffering", true),
        a("snis"),
        a("tags"),
        f("service", "services"),
      ],
    },
    consumers: {
      table: "consumers",
      path: "consumers",
      endpointKey: "username",
      updatedAt: false,
      fields: [s("username"), s("custom_id"), a("tags")],
    },
    plugins: {
      table: "plugins",
      path: "plugins",
      updatedAt: false,
      fields: [
        s("name", { required: true }),
        ...(atLeast(v, "3.2.0") ? [s("instance_name")] : []),
        { name: "config", kind: "json" as const },
        b("enabled", true),
        a("protocols", ["grpc", "grpcs", "http", "https"]),
        a("tags"),
        f("service", "services"),
        f("route", "routes"),
        f("consumer", "consumers"),
      ],
    },
    keyauth_credentials: {
      table: "keyauth_credentials",
      path: "key-auths",
      endpointKey: "key",
      updatedAt: false,
      fields: [s("key"), a("tags"), f("consumer", "consumers", true)],
    },
  };
}

const REDIS_FIELDS = [
  "host",
  "port",
  "password",
  "username",
  "ssl",
  "ssl_verify",
  "server_name",
  "timeout",
  "database",
];
const REDIS_DEFAULTS: Record<string, unknown> = {
  host: null,
  port: 6379,
  password: null,
  username: null,
  ssl: false,
  ssl_verify: false,
  server_name: null,
  timeout: 2000,
  database: 0,
};

/** Fills Kong's config defaults for the plugins the stand-in knows; others are kept as given. */
export function pluginConfig(
  v: KongVersion,
  name: string,
  given: Record<string, unknown>,
): Record<string, unknown> {
  if (name === "key-auth") {
    return {
      key_names: ["apikey"],
      hide_credentials: false,
      anonymous: null,
      key_in_header: true,
      key_in_query: true,
      key_in_body: false,
      run_on_preflight: true,
      ...given,
    };
  }
  if (name !== "rate-limiting") {
    return given;
  }
  const limits = Object.fromEntries(
    ["second", "minute", "hour", "day", "month", "year"].map((p) => [p, null]),
  );
  const base: Record<string, unknown> = {
    ...limits,
    limit_by: "consumer",
    policy: "local",
    fault_tolerant: true,
    hide_client_headers: false,
    header_name: null,
    path: null,
    error_code: 429,
    error_message: "API rate limit exceeded",
    sync_rate: -1,
  };
  if (!atLeast(v, "3.6.0")) {
    const flat = Object.fromEntries(REDIS_FIELDS.map((k) => [`redis_${k}`, REDIS_DEFAULTS[k]]));
    return { ...base, ...flat, ...given };
  }
  // 3.6+: `redis_*` are shorthands for `config.redis.*` and are not stored.
  const redis: Record<string, unknown> = {
    ...REDIS_DEFAULTS,
    ...(given.redis as Record<string, unknown> | undefined),
  };
  const rest: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(given)) {
    const short = /^redis_(.+)$/.exec(k);
    if (short && REDIS_FIELDS.includes(short[1] ?? "")) {
      redis[short[1] ?? ""] = val;
    } else if (k !== "redis") {
      rest[k] = val;
    }
  }
  return { ...base, ...rest, redis };
}

/** Kong's `utils.random_string()`: 32 hex characters, for generated key-auth keys. */
export function randomKey(): string {
  return randomBytes(16).toString("hex");
}

/** Rate-limiting needs at least one limit (Kong's entity check). */
export function pluginCheck(name: string, config: Record<string, unknown>): string | undefined {
  if (name !== "rate-limiting") {
    return undefined;
  }
  const limits = ["second", "minute", "hour", "day", "month", "year"];
  return limits.some((p) => typeof config[p] === "number")
    ? undefined
    : "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'";
}
