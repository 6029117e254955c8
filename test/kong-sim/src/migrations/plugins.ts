/**
 * Migrations of the bundled plugins (kong/plugins/<name>/migrations), per KONG.md §4. Each does real
 * work on Kong-shaped tables or on the `plugins.config` JSONB of that plugin's rows.
 */
import { copyRedisSettings, dropRedisSettings, type MigrationDef } from "./types";

const ts = "TIMESTAMP WITH TIME ZONE DEFAULT (CURRENT_TIMESTAMP(0) AT TIME ZONE 'UTC')";
const consumerFk = "consumer_id UUID REFERENCES consumers (id) ON DELETE CASCADE";
const tags = (t: string) => `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS tags TEXT[];`;
const ws = (t: string) =>
  `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ws_id UUID;
   UPDATE ${t} SET ws_id = (SELECT id FROM workspaces WHERE name = 'default') WHERE ws_id IS NULL;`;
/** Copies `config.<from>` to `config.<to>` where the new key is still missing (non-destructive). */
const copyKey = (plugin: string, from: string, to: string) =>
  `UPDATE plugins SET config = jsonb_set(config, '{${to}}', config->'${from}')
     WHERE name = '${plugin}' AND config ? '${from}' AND NOT (config ? '${to}');`;

const m = (
  subsystem: string,
  name: string,
  since: string,
  up: string,
  teardown?: string[],
  teardownSince?: string,
): MigrationDef => ({ subsystem, name, since, up, teardown, teardownSince });

/** Every plugin migration the stand-in knows, grouped by plugin, each group in Kong's order. */
export const PLUGINS: readonly MigrationDef[] = [
  m(
    "acl",
    "000_base_acl",
    "2.8.0",
    `CREATE TABLE IF NOT EXISTS acls (id UUID PRIMARY KEY, created_at ${ts}, ${consumerFk},
       "group" TEXT, cache_key TEXT UNIQUE);`,
  ),
  m("acl", "002_130_to_140", "2.8.0", tags("acls")),
  m("acl", "003_200_to_210", "2.8.0", ws("acls")),
  m(
    "acl",
    "004_212_to_213",
    "2.8.0",
    `CREATE INDEX IF NOT EXISTS acls_group_idx ON acls ("group");`,
  ),
  m(
    "acme",
    "000_base_acme",
    "2.8.0",
    `CREATE TABLE IF NOT EXISTS acme_storage (id UUID PRIMARY KEY, key TEXT UNIQUE, value TEXT,
       created_at ${ts}, ttl TIMESTAMP WITH TIME ZONE);`,
  ),
  m(
    "acme",
    "001_280_to_300",
    "3.0.0",
    `CREATE INDEX IF NOT EXISTS acme_storage_ttl_idx ON acme_storage (ttl);`,
  ),
  m("acme", "002_320_to_330", "3.3.0", copyKey("acme", "storage", "storage_type")),
  m(
    "acme",
    "003_350_to_360",
    "3.6.0",
    `UPDATE plugins SET config = jsonb_set(config, '{storage_config,redis,extra_options}',
       jsonb_build_object('namespace', config#>'{storage_config,redis,namespace}'))
     WHERE name = 'acme' AND config#>'{storage_config,redis}' IS NOT NULL
       AND config#>'{storage_config,redis,extra_options}' IS NULL;`,
  ),
  m(
    "basic-auth",
    "000_base_basic_auth",
    "2.8.0",
    `CREATE TABLE IF NOT EXISTS basicauth_credentials (id UUID PRIMARY KEY, created_at ${ts},
       ${consumerFk}, username TEXT UNIQUE, password TEXT);`,
  ),
  m("basic-auth", "002_130_to_140", "2.8.0", tags("basicauth_credentials")),
  m("basic-auth", "003_200_to_210", "2.8.0", ws("basicauth_credentials")),
  m(
    "bot-detection",
    "001_200_to_210",
    "2.8.0",
    `${copyKey("bot-detection", "whitelist", "allow")}
     ${copyKey("bot-detection", "blacklist", "deny")}`,
  ),
  m(
    "hmac-auth",
    "000_base_hmac_auth",
    "2.8.0",
    `CREATE TABLE IF NOT EXISTS hmacauth_credentials (id UUID PRIMARY KEY, created_at ${ts},
       ${consumerFk}, username TEXT UNIQUE, secret TEXT);`,
  ),
  m("hmac-auth", "002_130_to_140", "2.8.0", tags("hmacauth_credentials")),
  m("hmac-auth", "003_200_to_210", "2.8.0", ws("hmacauth_credentials")),
  m(
    "http-log",
    "001_280_to_300",
    "3.0.0",
    `UPDATE plugins SET config = jsonb_set(config, '{queue}', '{}'::jsonb)
       WHERE name = 'http-log' AND NOT (config ? 'queue');`,
    [
      `UPDATE plugins SET config = jsonb_set(config, '{headers}', (SELECT jsonb_object_agg(k,
         CASE WHEN jsonb_typeof(v) = 'array' THEN v->0 ELSE v END) FROM jsonb_each(config->'headers') e(k, v)))
       WHERE name = 'http-log' AND jsonb_typeof(config->'headers') = 'object'
         AND config->'headers' <> '{}'::jsonb;`,
    ],
  ),
  m(
    "ip-restriction",
    "001_200_to_210",
    "2.8.0",
    `${copyKey("ip-restriction", "whitelist", "allow")}
     ${copyKey("ip-restriction", "blacklist", "deny")}`,
  ),
  m(
    "jwt",
    "000_base_jwt",
    "2.8.0",
    `CREATE TABLE IF NOT EXISTS jwt_secrets (id UUID PRIMARY KEY, created_at ${ts}, ${consumerFk},
       key TEXT UNIQUE, secret TEXT, algorithm TEXT, rsa_public_key TEXT);`,
  ),
  m("jwt", "002_130_to_140", "2.8.0", tags("jwt_secrets")),
  m("jwt", "003_200_to_210", "2.8.0", ws("jwt_secrets")),
  m(
    "key-auth",
    "000_base_key_auth",
    "2.8.0",
    `CREATE TABLE IF NOT EXISTS keyauth_credentials (id UUID PRIMARY KEY, created_at ${ts},
       ${consumerFk}, key TEXT UNIQUE);`,
  ),
  m(
    "key-auth",
    "002_130_to_140",
    "2.8.0",
    `${tags("keyauth_credentials")}
     ALTER TABLE keyauth_credentials ADD COLUMN IF NOT EXISTS ttl TIMESTAMP WITH TIME ZONE;`,
  ),
  m("key-auth", "003_200_to_210", "2.8.0", ws("keyauth_credentials")),
  m(
    "key-auth",
    "004_320_to_330",
    "3.3.0",
    `CREATE INDEX IF NOT EXISTS keyauth_credentials_ttl_idx ON keyauth_credentials (ttl);`,
  ),
  m(
    "oauth2",
    "000_base_oauth2",
    "2.8.0",
    `CREATE TABLE IF NOT EXISTS oauth2_credentials (id UUID PRIMARY KEY, created_at ${ts},
       name TEXT, ${consumerFk}, client_id TEXT UNIQUE, client_secret TEXT, redirect_uris TEXT[]);
     CREATE TABLE IF NOT EXISTS oauth2_authorization_codes (id UUID PRIMARY KEY, created_at ${ts},
       credential_id UUID REFERENCES oauth2_credentials (id) ON DELETE CASCADE, code TEXT UNIQUE,
       authenticated_userid TEXT, scope TEXT, ttl TIMESTAMP WITH TIME ZONE);
     CREATE TABLE IF NOT EXISTS oauth2_tokens (id UUID PRIMARY KEY, created_at ${ts},
       credential_id UUID REFERENCES oauth2_credentials (id) ON DELETE CASCADE,
       access_token TEXT UNIQUE, refresh_token TEXT UNIQUE, token_type TEXT, expires_in INTEGER,
       authenticated_userid TEXT, scope TEXT, ttl TIMESTAMP WITH TIME ZONE);`,
  ),
  m("oauth2", "003_130_to_140", "2.8.0", tags("oauth2_credentials")),
  m(
    "oauth2",
    "004_200_to_210",
    "2.8.0",
    ["oauth2_credentials", "oauth2_authorization_codes", "oauth2_tokens"].map(ws).join("\n"),
  ),
  m(
    "oauth2",
    "005_210_to_211",
    "2.8.0",
    `ALTER TABLE oauth2_credentials ADD COLUMN IF NOT EXISTS client_type TEXT;
     ALTER TABLE oauth2_credentials ADD COLUMN IF NOT EXISTS hash_secret BOOLEAN;`,
  ),
  m(
    "oauth2",
    "006_320_to_330",
    "3.3.0",
    `ALTER TABLE oauth2_authorization_codes ADD COLUMN IF NOT EXISTS plugin_id UUID;`,
  ),
  m(
    "oauth2",
    "007_320_to_330",
    "3.3.0",
    `ALTER TABLE oauth2_authorization_codes ADD COLUMN IF NOT EXISTS challenge TEXT;
     ALTER TABLE oauth2_authorization_codes ADD COLUMN IF NOT EXISTS challenge_method TEXT;`,
  ),
  m(
    "opentelemetry",
    "001_331_to_332",
    "3.6.1",
    `UPDATE plugins SET config = jsonb_set(config, '{queue}', jsonb_build_object(
       'max_batch_size', config->'batch_span_count', 'max_coalescing_delay', config->'batch_flush_delay'))
     WHERE name = 'opentelemetry' AND config ? 'batch_span_count' AND NOT (config ? 'queue');`,
    [
      `UPDATE plugins SET config = config - 'batch_span_count' WHERE name = 'opentelemetry';`,
      `UPDATE plugins SET config = config - 'batch_flush_delay' WHERE name = 'opentelemetry';`,
    ],
  ),
  m("post-function", "001_280_to_300", "3.0.0", copyKey("post-function", "functions", "access")),
  m("pre-function", "001_280_to_300", "3.0.0", copyKey("pre-function", "functions", "access")),
  m(
    "rate-limiting",
    "000_base_rate_limiting",
    "2.8.0",
    `CREATE TABLE IF NOT EXISTS ratelimiting_metrics (identifier TEXT NOT NULL, period TEXT NOT NULL,
       period_date TIMESTAMP WITH TIME ZONE NOT NULL, service_id UUID NOT NULL DEFAULT
       '00000000-0000-0000-0000-000000000000'::uuid, route_id UUID NOT NULL DEFAULT
       '00000000-0000-0000-0000-000000000000'::uuid, value INTEGER,
       PRIMARY KEY (identifier, period, period_date, service_id, route_id));`,
  ),
  m(
    "rate-limiting",
    "003_10_to_112",
    "2.8.0",
    `CREATE INDEX IF NOT EXISTS ratelimiting_metrics_idx
       ON ratelimiting_metrics (service_id, route_id, period_date, period);`,
  ),
  m(
    "rate-limiting",
    "004_200_to_210",
    "2.8.0",
    `ALTER TABLE ratelimiting_metrics ADD COLUMN IF NOT EXISTS ttl TIMESTAMP WITH TIME ZONE;`,
  ),
  m(
    "rate-limiting",
    "005_320_to_330",
    "3.3.0",
    `CREATE INDEX IF NOT EXISTS ratelimiting_metrics_ttl_idx ON ratelimiting_metrics (ttl);`,
  ),
  m(
    "rate-limiting",
    "006_350_to_360",
    "3.6.0",
    copyRedisSettings("rate-limiting"),
    dropRedisSettings("rate-limiting"),
    "3.7.0",
  ),
  m(
    "response-ratelimiting",
    "000_base_response_rate_limiting",
    "2.8.0",
    `CREATE TABLE IF NOT EXISTS response_ratelimiting_metrics (identifier TEXT NOT NULL,
       period TEXT NOT NULL, period_date TIMESTAMP WITH TIME ZONE NOT NULL,
       service_id UUID NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000'::uuid,
       route_id UUID NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000'::uuid, value INTEGER,
       PRIMARY KEY (identifier, period, period_date, service_id, route_id));`,
  ),
  m(
    "response-ratelimiting",
    "001_350_to_360",
    "3.6.0",
    copyRedisSettings("response-ratelimiting"),
    dropRedisSettings("response-ratelimiting"),
    "3.7.0",
  ),
  m(
    "session",
    "000_base_session",
    "2.8.0",
    `CREATE TABLE IF NOT EXISTS sessions (id UUID PRIMARY KEY, session_id TEXT UNIQUE,
       expires INTEGER, data TEXT, created_at ${ts}, ttl TIMESTAMP WITH TIME ZONE);`,
  ),
  m(
    "session",
    "001_add_ttl_index",
    "2.8.0",
    `CREATE INDEX IF NOT EXISTS sessions_ttl_idx ON sessions (ttl);`,
  ),
  m(
    "session",
    "002_320_to_330",
    "3.3.0",
    `CREATE TABLE IF NOT EXISTS sessions_metadatas (id UUID PRIMARY KEY,
       session_id UUID REFERENCES sessions (id) ON DELETE CASCADE, sid TEXT, subject TEXT,
       audience TEXT, created_at ${ts});`,
  ),
  m(
    "session",
    "003_330_to_3100",
    "3.10.0",
    `CREATE INDEX IF NOT EXISTS sessions_metadatas_sid_idx ON sessions_metadatas (sid);`,
  ),
  m(
    "ai-proxy",
    "001_360_to_370",
    "3.7.0",
    `UPDATE plugins SET config = jsonb_set(config, '{model_name_header}', 'true'::jsonb)
       WHERE name = 'ai-proxy' AND NOT (config ? 'model_name_header');`,
    [`UPDATE plugins SET config = config - 'upstream_url' WHERE name = 'ai-proxy';`],
  ),
];
