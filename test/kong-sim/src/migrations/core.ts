/**
 * The `core` subsystem (kong/db/migrations/core): Kong-shaped tables that later migrations alter.
 * Names and order follow KONG.md §4; the SQL is the stand-in's own, kept re-runnable.
 */
import type { MigrationDef } from "./types";

const ts = "TIMESTAMP WITH TIME ZONE DEFAULT (CURRENT_TIMESTAMP(0) AT TIME ZONE 'UTC')";
const addWs = (table: string) =>
  `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ws_id UUID;
   UPDATE ${table} SET ws_id = (SELECT id FROM workspaces WHERE name = 'default') WHERE ws_id IS NULL;`;
const addTags = (table: string) => `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS tags TEXT[];`;

const base = `
CREATE TABLE IF NOT EXISTS cluster_events (
  id UUID PRIMARY KEY, node_id UUID NOT NULL, at TIMESTAMP WITH TIME ZONE NOT NULL,
  nbf TIMESTAMP WITH TIME ZONE, expire_at TIMESTAMP WITH TIME ZONE NOT NULL, channel TEXT, data TEXT);
CREATE INDEX IF NOT EXISTS cluster_events_at_idx ON cluster_events (at);
CREATE INDEX IF NOT EXISTS cluster_events_channel_idx ON cluster_events (channel);
CREATE TABLE IF NOT EXISTS services (
  id UUID PRIMARY KEY, created_at ${ts}, updated_at ${ts}, name TEXT UNIQUE, retries BIGINT,
  protocol TEXT, host TEXT, port BIGINT, path TEXT, connect_timeout BIGINT, write_timeout BIGINT,
  read_timeout BIGINT);
CREATE TABLE IF NOT EXISTS routes (
  id UUID PRIMARY KEY, created_at ${ts}, updated_at ${ts}, name TEXT UNIQUE,
  service_id UUID REFERENCES services (id), protocols TEXT[], methods TEXT[], hosts TEXT[],
  paths TEXT[], snis TEXT[], sources JSONB[], destinations JSONB[], regex_priority BIGINT,
  strip_path BOOLEAN, preserve_host BOOLEAN);
CREATE INDEX IF NOT EXISTS routes_service_id_idx ON routes (service_id);
CREATE TABLE IF NOT EXISTS certificates (id UUID PRIMARY KEY, created_at ${ts}, cert TEXT, key TEXT);
CREATE TABLE IF NOT EXISTS snis (
  id UUID PRIMARY KEY, created_at ${ts}, name TEXT NOT NULL UNIQUE,
  certificate_id UUID REFERENCES certificates (id));
CREATE TABLE IF NOT EXISTS consumers (
  id UUID PRIMARY KEY, created_at ${ts}, username TEXT UNIQUE, custom_id TEXT UNIQUE);
CREATE TABLE IF NOT EXISTS plugins (
  id UUID PRIMARY KEY, created_at ${ts}, name TEXT NOT NULL,
  consumer_id UUID REFERENCES consumers (id) ON DELETE CASCADE,
  service_id UUID REFERENCES services (id) ON DELETE CASCADE,
  route_id UUID REFERENCES routes (id) ON DELETE CASCADE,
  config JSONB NOT NULL, enabled BOOLEAN NOT NULL, cache_key TEXT UNIQUE, run_on TEXT);
CREATE INDEX IF NOT EXISTS plugins_name_idx ON plugins (name);
CREATE TABLE IF NOT EXISTS upstreams (
  id UUID PRIMARY KEY, created_at ${ts}, name TEXT UNIQUE, hash_on TEXT, hash_fallback TEXT,
  slots INTEGER, healthchecks JSONB);
CREATE TABLE IF NOT EXISTS targets (
  id UUID PRIMARY KEY, created_at TIMESTAMP WITH TIME ZONE DEFAULT (CURRENT_TIMESTAMP(3) AT TIME ZONE 'UTC'),
  upstream_id UUID REFERENCES upstreams (id) ON DELETE CASCADE, target TEXT NOT NULL, weight INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ttls (
  primary_key_value TEXT NOT NULL, primary_uuid_value UUID, table_name TEXT NOT NULL,
  primary_key_name TEXT NOT NULL, expire_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
  PRIMARY KEY (primary_key_value, table_name));`;

/** Core migrations of every supported release, in Kong's order. */
export const CORE: readonly MigrationDef[] = [
  { subsystem: "core", name: "000_base", since: "2.8.0", up: base },
  {
    subsystem: "core",
    name: "003_100_to_110",
    since: "2.8.0",
    up: `ALTER TABLE routes ADD COLUMN IF NOT EXISTS headers JSONB;
         ALTER TABLE services ADD COLUMN IF NOT EXISTS client_certificate_id UUID;`,
  },
  {
    subsystem: "core",
    name: "004_110_to_120",
    since: "2.8.0",
    up: `ALTER TABLE routes ADD COLUMN IF NOT EXISTS https_redirect_status_code INTEGER;
         ${["services", "routes", "consumers", "plugins", "upstreams"].map(addTags).join("\n")}
         CREATE TABLE IF NOT EXISTS tags (entity_id UUID PRIMARY KEY, entity_name TEXT, tags TEXT[]);`,
  },
  {
    subsystem: "core",
    name: "005_120_to_130",
    since: "2.8.0",
    up: `CREATE TABLE IF NOT EXISTS ca_certificates (
           id UUID PRIMARY KEY, created_at ${ts}, cert TEXT NOT NULL, tags TEXT[]);
         ALTER TABLE services ADD COLUMN IF NOT EXISTS tls_verify BOOLEAN;`,
  },
  {
    subsystem: "core",
    name: "006_130_to_140",
    since: "2.8.0",
    up: `ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS host_header TEXT;
         ALTER TABLE services ADD COLUMN IF NOT EXISTS tls_verify_depth SMALLINT;`,
  },
  {
    subsystem: "core",
    name: "007_140_to_150",
    since: "2.8.0",
    up: `ALTER TABLE routes ADD COLUMN IF NOT EXISTS path_handling TEXT DEFAULT 'v0';
         UPDATE routes SET path_handling = 'v0' WHERE path_handling IS NULL;`,
  },
  {
    subsystem: "core",
    name: "008_150_to_200",
    since: "2.8.0",
    up: `ALTER TABLE plugins ADD COLUMN IF NOT EXISTS protocols TEXT[];
         UPDATE plugins SET protocols = ARRAY['grpc','grpcs','http','https'] WHERE protocols IS NULL;`,
  },
  {
    subsystem: "core",
    name: "009_200_to_210",
    since: "2.8.0",
    up: `CREATE TABLE IF NOT EXISTS workspaces (
           id UUID PRIMARY KEY, name TEXT UNIQUE, comment TEXT, created_at ${ts}, meta JSONB, config JSONB);
         INSERT INTO workspaces (id, name) VALUES (gen_random_uuid(), 'default') ON CONFLICT DO NOTHING;
         ${[
           "services",
           "routes",
           "consumers",
           "plugins",
           "upstreams",
           "targets",
           "certificates",
           "snis",
         ]
           .map(addWs)
           .join("\n")}`,
  },
  {
    subsystem: "core",
    name: "010_210_to_211",
    since: "2.8.0",
    up: `CREATE INDEX IF NOT EXISTS cluster_events_expire_at_idx ON cluster_events (expire_at);`,
  },
  {
    subsystem: "core",
    name: "011_212_to_213",
    since: "2.8.0",
    up: `ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS use_srv_name BOOLEAN DEFAULT false;`,
  },
  {
    subsystem: "core",
    name: "012_213_to_220",
    since: "2.8.0",
    up: `CREATE TABLE IF NOT EXISTS clustering_data_planes (
           id UUID PRIMARY KEY, hostname TEXT NOT NULL, ip TEXT NOT NULL, last_seen ${ts},
           config_hash TEXT NOT NULL, ttl TIMESTAMP WITH TIME ZONE);
         ALTER TABLE routes ADD COLUMN IF NOT EXISTS request_buffering BOOLEAN;
         ALTER TABLE routes ADD COLUMN IF NOT EXISTS response_buffering BOOLEAN;`,
  },
  {
    subsystem: "core",
    name: "013_220_to_230",
    since: "2.8.0",
    up: `CREATE TABLE IF NOT EXISTS parameters (key TEXT PRIMARY KEY, value TEXT NOT NULL, created_at ${ts});
         INSERT INTO parameters (key, value) VALUES ('cluster_id', gen_random_uuid()::text)
           ON CONFLICT DO NOTHING;`,
  },
  {
    subsystem: "core",
    name: "014_230_to_270",
    since: "2.8.0",
    up: `CREATE TABLE IF NOT EXISTS vaults_beta (
           id UUID PRIMARY KEY, ws_id UUID, prefix TEXT UNIQUE, name TEXT, description TEXT,
           config JSONB, created_at ${ts}, updated_at ${ts}, tags TEXT[]);
         ALTER TABLE services ADD COLUMN IF NOT EXISTS enabled BOOLEAN DEFAULT true;`,
  },
  {
    subsystem: "core",
    name: "015_270_to_280",
    since: "2.8.0",
    up: `ALTER TABLE clustering_data_planes ADD COLUMN IF NOT EXISTS version TEXT;
         ALTER TABLE clustering_data_planes ADD COLUMN IF NOT EXISTS sync_status TEXT DEFAULT 'unknown';`,
  },
  {
    subsystem: "core",
    name: "016_280_to_300",
    since: "3.0.0",
    up: `CREATE TABLE IF NOT EXISTS vaults (
           id UUID PRIMARY KEY, ws_id UUID, prefix TEXT UNIQUE, name TEXT, description TEXT,
           config JSONB, created_at ${ts}, updated_at ${ts}, tags TEXT[]);
         INSERT INTO vaults SELECT id, ws_id, prefix, name, description, config, created_at,
           updated_at, tags FROM vaults_beta ON CONFLICT DO NOTHING;
         ALTER TABLE targets ADD COLUMN IF NOT EXISTS cache_key TEXT;`,
    // 2.8 nodes read vaults_beta: after this teardown they can no longer build their configuration.
    teardown: ["DROP TABLE IF EXISTS vaults_beta;", "DROP TABLE IF EXISTS ttls;"],
  },
  {
    subsystem: "core",
    name: "017_300_to_310",
    since: "3.1.0",
    up: `ALTER TABLE routes ADD COLUMN IF NOT EXISTS expression TEXT;
         ALTER TABLE routes ADD COLUMN IF NOT EXISTS priority BIGINT;`,
  },
  {
    subsystem: "core",
    name: "018_310_to_320",
    since: "3.2.0",
    up: `ALTER TABLE plugins ADD COLUMN IF NOT EXISTS instance_name TEXT;
         CREATE UNIQUE INDEX IF NOT EXISTS plugins_instance_name_idx ON plugins (instance_name);`,
  },
  {
    subsystem: "core",
    name: "019_320_to_330",
    since: "3.3.0",
    up: `ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS hash_on_query_arg TEXT;`,
  },
  {
    subsystem: "core",
    name: "020_330_to_340",
    since: "3.4.0",
    up: `CREATE TABLE IF NOT EXISTS filter_chains (
           id UUID PRIMARY KEY, name TEXT UNIQUE, enabled BOOLEAN DEFAULT true, route_id UUID,
           service_id UUID, ws_id UUID, filters JSONB[], created_at ${ts}, updated_at ${ts});`,
  },
  {
    subsystem: "core",
    name: "021_340_to_350",
    since: "3.5.0",
    up: `ALTER TABLE clustering_data_planes ADD COLUMN IF NOT EXISTS labels JSONB;`,
  },
  {
    subsystem: "core",
    name: "022_350_to_360",
    since: "3.6.0",
    up: `ALTER TABLE clustering_data_planes ADD COLUMN IF NOT EXISTS cert_details JSONB;`,
  },
  {
    subsystem: "core",
    name: "023_360_to_370",
    since: "3.7.0",
    up: `ALTER TABLE clustering_data_planes ADD COLUMN IF NOT EXISTS rpc_capabilities TEXT[];`,
  },
  {
    subsystem: "core",
    name: "024_380_to_390",
    since: "3.9.0",
    up: `CREATE TABLE IF NOT EXISTS clustering_rpc_requests (
           id BIGSERIAL PRIMARY KEY, node_id UUID NOT NULL, reply_to UUID NOT NULL, ttl ${ts},
           payload JSON NOT NULL);`,
  },
  {
    subsystem: "core",
    name: "025_390_to_3100",
    since: "3.10.0",
    up: `CREATE TABLE IF NOT EXISTS clustering_sync_version (version SERIAL PRIMARY KEY);`,
  },
];
