/**
 * Kong's configuration as kong/conf_loader reads it: defaults (kong_defaults.lua), then the
 * `kong.conf` file, then `KONG_<NAME>` environment variables, then command-line overrides; only
 * known keys survive; values are typed and validated with Kong's messages.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { KongError } from "./cli/errors";
import { parseListeners, type Listener } from "./listeners";
import { atLeast, type KongVersion } from "./version";

/** A loaded, validated configuration. */
export interface KongConf {
  /** Every known key with its final raw value (`undefined` = unset), as written to .kong_env. */
  readonly raw: ReadonlyMap<string, string | undefined>;
  readonly database: string;
  readonly pg: PgConf;
  /** The `plugins` setting split on commas (`bundled`, `off` or names). */
  readonly plugins: readonly string[];
  /** Absolute prefix directory. */
  readonly prefix: string;
  readonly proxyListen: readonly Listener[];
  readonly adminListen: readonly Listener[];
  readonly statusListen: readonly Listener[];
}

/** PostgreSQL settings of a node or a CLI run. */
export interface PgConf {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password?: string;
  readonly database: string;
  /** Empty = the role's CURRENT_SCHEMA. */
  readonly schema: string;
  /** Connect/send/read timeout in ms. */
  readonly timeout: number;
  readonly ssl: boolean;
}

const LISTEN_OPTS = "reuseport backlog=16384";

function defaults(v: KongVersion): Record<string, string | undefined> {
  return {
    prefix: "/usr/local/kong",
    log_level: "notice",
    proxy_access_log: "logs/access.log",
    proxy_error_log: "logs/error.log",
    admin_access_log: "logs/admin_access.log",
    admin_error_log: "logs/error.log",
    status_access_log: "off",
    status_error_log: "logs/status_error.log",
    plugins: "bundled",
    anonymous_reports: "on",
    proxy_listen: `0.0.0.0:8000 ${LISTEN_OPTS}, 0.0.0.0:8443 http2 ssl ${LISTEN_OPTS}`,
    admin_listen: `127.0.0.1:8001 ${LISTEN_OPTS}, 127.0.0.1:8444 http2 ssl ${LISTEN_OPTS}`,
    status_listen: atLeast(v, "3.6.0") ? `127.0.0.1:8007 ${LISTEN_OPTS}` : "off",
    stream_listen: "off",
    cluster_listen: "0.0.0.0:8005",
    role: "traditional",
    nginx_worker_processes: "auto",
    nginx_daemon: "on",
    headers: "server_tokens, latency_tokens",
    trusted_ips: undefined,
    real_ip_header: "X-Real-IP",
    database: "postgres",
    pg_host: "127.0.0.1",
    pg_port: "5432",
    pg_timeout: "5000",
    pg_user: "kong",
    pg_password: undefined,
    pg_database: "kong",
    pg_schema: undefined,
    pg_ssl: "off",
    pg_ssl_verify: "off",
    pg_max_concurrent_queries: "0",
    pg_semaphore_timeout: "60000",
    pg_keepalive_timeout: undefined,
    pg_pool_size: undefined,
    pg_backlog: undefined,
    pg_ro_host: undefined,
    db_update_frequency: "5",
    db_update_propagation: "0",
    db_cache_ttl: "0",
    vaults: "bundled",
    lua_package_path: "./?.lua;./?/init.lua;",
  };
}

type Typ = "number" | "boolean" | "array";
const TYPES: Record<string, Typ> = {
  pg_port: "number",
  pg_timeout: "number",
  pg_max_concurrent_queries: "number",
  pg_semaphore_timeout: "number",
  pg_keepalive_timeout: "number",
  pg_pool_size: "number",
  pg_backlog: "number",
  db_update_frequency: "number",
  db_update_propagation: "number",
  db_cache_ttl: "number",
  pg_ssl: "boolean",
  pg_ssl_verify: "boolean",
  anonymous_reports: "boolean",
  plugins: "array",
  proxy_listen: "array",
  admin_listen: "array",
  status_listen: "array",
  stream_listen: "array",
  headers: "array",
  trusted_ips: "array",
  vaults: "array",
};

/** Reads a kong.conf text: `key = value`, `#` comments (`\#` escapes a literal `#`). */
export function parseConfText(text: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) {
      return;
    }
    const eq = trimmed.indexOf("=");
    if (eq <= 0) {
      throw new KongError(
        `could not load config file: line ${i + 1}: expected 'key = value', got '${trimmed}'`,
      );
    }
    const value = trimmed
      .slice(eq + 1)
      .replace(/\s*(?<!\\)#.*$/, "")
      .replace(/\\#/g, "#")
      .trim();
    out.set(trimmed.slice(0, eq).trim().toLowerCase(), value);
  });
  return out;
}

function toBool(v: string): boolean | undefined {
  return v === "on" || v === "true" ? true : v === "off" || v === "false" ? false : undefined;
}

/** Splits a Kong array value on commas, trimming each entry. */
export function splitList(v: string | undefined): string[] {
  return v === undefined
    ? []
    : v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
}

/** Where Kong looks for a configuration file when `-c` is not given. */
export const DEFAULT_PATHS = ["/etc/kong/kong.conf", "/etc/kong.conf"];

/** Options of one load. */
export interface LoadOptions {
  /** `-c`: must exist when given. */
  readonly path?: string;
  /** `-p`: overrides everything else. */
  readonly prefix?: string;
  /** Called with each verbose line (`reading config file at ...`). */
  readonly onVerbose?: (msg: string) => void;
}

/** Loads and validates Kong's configuration; throws KongError with Kong's messages. */
export function loadConf(version: KongVersion, opts: LoadOptions = {}): KongConf {
  const say = opts.onVerbose ?? (() => undefined);
  const base = defaults(version);
  let path = opts.path;
  if (path !== undefined && !existsSync(path)) {
    throw new KongError(`no file at: ${path}`);
  }
  if (path === undefined) {
    path = DEFAULT_PATHS.find((p) => existsSync(p));
    DEFAULT_PATHS.filter((p) => p !== path).forEach((p) => say(`no config file found at ${p}`));
    if (!path) {
      say("no config file, skip loading");
    }
  }
  const fromFile = path
    ? (say(`reading config file at ${path}`), parseConfText(readFileSync(path, "utf8")))
    : new Map<string, string>();
  const raw = new Map<string, string | undefined>();
  for (const [key, def] of Object.entries(base)) {
    let value = fromFile.get(key) ?? def;
    const env = process.env[`KONG_${key.toUpperCase()}`];
    if (env !== undefined) {
      value = env;
    }
    if (key === "prefix" && opts.prefix !== undefined) {
      value = opts.prefix;
    }
    raw.set(key, value === "" ? undefined : value);
  }
  return validate(version, raw);
}

function validate(version: KongVersion, raw: Map<string, string | undefined>): KongConf {
  const errors: string[] = [];
  for (const [key, value] of raw) {
    const typ = TYPES[key];
    if (value === undefined || typ === undefined) {
      continue;
    }
    if (typ === "number" && !Number.isFinite(Number(value))) {
      errors.push(`${key} is not a number: '${value}'`);
    } else if (typ === "boolean" && toBool(value) === undefined) {
      errors.push(`${key} is not a boolean: '${value}'`);
    }
  }
  const dbEnum = atLeast(version, "3.0.0") ? ["postgres", "off"] : ["postgres", "cassandra", "off"];
  const database = raw.get("database") ?? "postgres";
  if (!dbEnum.includes(database)) {
    errors.push(`database has an invalid value: '${database}' (${dbEnum.join(", ")})`);
  }
  if (errors.length > 0) {
    throw new KongError(errors.join("\n"));
  }
  const listen = (name: string) => parseListeners(name, splitList(raw.get(name)));
  const [proxyListen, adminListen, statusListen] = [
    "proxy_listen",
    "admin_listen",
    "status_listen",
  ].map(listen);
  const get = (k: string, d = "") => raw.get(k) ?? d;
  return {
    raw,
    database,
    plugins: splitList(raw.get("plugins")),
    prefix: resolve(get("prefix", "/usr/local/kong")),
    proxyListen: proxyListen ?? [],
    adminListen: adminListen ?? [],
    statusListen: statusListen ?? [],
    pg: {
      host: get("pg_host", "127.0.0.1"),
      port: Number(get("pg_port", "5432")),
      user: get("pg_user", "kong"),
      password: raw.get("pg_password"),
      database: get("pg_database", "kong"),
      schema: get("pg_schema"),
      timeout: Number(get("pg_timeout", "5000")),
      ssl: toBool(get("pg_ssl", "off")) === true,
    },
  };
}

/** Serialises the configuration as Kong's `<prefix>/.kong_env` (`key = value` lines). */
export function kongEnvText(conf: KongConf): string {
  const lines = [...conf.raw]
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} = ${String(v).replace(/#/g, "\\#")}`);
  return `${lines.sort().join("\n")}\n`;
}

/** The configuration as `GET /` shows it: typed values, passwords masked. */
export function typedConf(conf: KongConf): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of conf.raw) {
    const typ = TYPES[k];
    if (v === undefined) {
      continue;
    }
    out[k] = k.includes("password")
      ? "******"
      : typ === "number"
        ? Number(v)
        : typ === "boolean"
          ? toBool(v)
          : typ === "array"
            ? splitList(v)
            : v;
  }
  return out;
}
