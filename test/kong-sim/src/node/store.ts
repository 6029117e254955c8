/**
 * The node's view of the configuration, read from PostgreSQL like a traditional-mode Kong node:
 * services, routes, enabled plugins, consumers and key-auth credentials. Each version reads the
 * tables it knows, so a teardown that dropped one (e.g. 3.0's `vaults_beta`) breaks older nodes.
 */
import type { Db } from "../pg";
import { atLeast, type KongVersion } from "../version";

/** A service as the proxy needs it. */
export interface ServiceRow {
  id: string;
  name: string | null;
  protocol: string;
  host: string;
  port: number;
  path: string | null;
  connect_timeout: number;
  read_timeout: number;
  write_timeout: number;
  enabled: boolean | null;
}

/** A route as the router needs it. */
export interface RouteRow {
  id: string;
  name: string | null;
  service_id: string | null;
  protocols: string[] | null;
  methods: string[] | null;
  hosts: string[] | null;
  paths: string[] | null;
  headers: Record<string, string[]> | null;
  strip_path: boolean | null;
  preserve_host: boolean | null;
  regex_priority: number | null;
  created_at: Date;
}

/** An enabled plugin instance. */
export interface PluginRow {
  id: string;
  name: string;
  service_id: string | null;
  route_id: string | null;
  consumer_id: string | null;
  config: Record<string, unknown>;
}

/** A consumer with its key-auth keys. */
export interface ConsumerRow {
  id: string;
  username: string | null;
  custom_id: string | null;
}

/** Everything a node routes with. */
export interface Snapshot {
  readonly services: ReadonlyMap<string, ServiceRow>;
  readonly routes: readonly RouteRow[];
  readonly plugins: readonly PluginRow[];
  readonly consumers: ReadonlyMap<string, ConsumerRow>;
  /** key → { credential id, consumer id } */
  readonly keys: ReadonlyMap<string, { id: string; consumer_id: string }>;
}

/** Reads a full snapshot; throws DbError (missing table or column, lost connection, ...). */
export async function loadSnapshot(
  db: Db,
  version: KongVersion,
  plugins: ReadonlySet<string>,
): Promise<Snapshot> {
  // The vault table this version's DAO knows: 2.8 has vaults_beta, 3.0 renamed it to vaults.
  await db.query(`SELECT count(*) FROM ${atLeast(version, "3.0.0") ? "vaults" : "vaults_beta"}`);
  const services = await db.query<ServiceRow>(
    `SELECT id, name, protocol, host, port, path, connect_timeout, read_timeout, write_timeout, enabled
       FROM services`,
  );
  const routes = await db.query<RouteRow>(
    `SELECT id, name, service_id, protocols, methods, hosts, paths, headers, strip_path, preserve_host,
            regex_priority, created_at FROM routes ORDER BY created_at, id`,
  );
  const pluginRows = await db.query<PluginRow>(
    "SELECT id, name, service_id, route_id, consumer_id, config FROM plugins WHERE enabled",
  );
  const consumers = await db.query<ConsumerRow>("SELECT id, username, custom_id FROM consumers");
  const keys = plugins.has("key-auth")
    ? await db.query<{ id: string; consumer_id: string; key: string }>(
        `SELECT id, consumer_id, key FROM keyauth_credentials
          WHERE ttl IS NULL OR ttl > CURRENT_TIMESTAMP AT TIME ZONE 'UTC'`,
      )
    : [];
  return {
    services: new Map(services.map((s) => [s.id, s])),
    routes,
    plugins: pluginRows.filter((p) => plugins.has(p.name)),
    consumers: new Map(consumers.map((c) => [c.id, c])),
    keys: new Map(keys.map((k) => [k.key, { id: k.id, consumer_id: k.consumer_id }])),
  };
}
