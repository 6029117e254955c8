/** The shape of one migration in the stand-in's catalogs (see KONG.md §2 and §4). */
export interface MigrationDef {
  /** `core` or a plugin name. */
  readonly subsystem: string;
  readonly name: string;
  /** First release (X.Y.Z) that ships this migration. */
  readonly since: string;
  /**
   * SQL run as one transaction (Kong's `up`): non-destructive, so old nodes keep working. Every
   * statement must be safe to run again, because `up -f` / `finish -f` re-run executed migrations.
   */
  readonly up: string;
  /**
   * Kong's `teardown` function: statements run one by one without a surrounding transaction (a crash
   * in the middle leaves part of them applied), destructive.
   */
  readonly teardown?: readonly string[];
  /** First release whose copy of this migration has the teardown (default: `since`). */
  readonly teardownSince?: string;
}

/** Builds the `UPDATE plugins` that copies flat `redis_*` settings into `config.redis`. */
export function copyRedisSettings(plugin: string): string {
  const keys = ["host", "port", "password", "username", "ssl", "ssl_verify", "server_name"];
  const fields = [...keys, "timeout", "database"]
    .map((k) => `'${k}', config->'redis_${k}'`)
    .join(", ");
  return `UPDATE plugins SET config = jsonb_set(config, '{redis}', jsonb_build_object(${fields}))
     WHERE name = '${plugin}' AND NOT (config ? 'redis');`;
}

/** The flat keys a `redis_*` teardown deletes, one statement each (Kong deletes them in a loop). */
export function dropRedisSettings(plugin: string): string[] {
  const keys = ["host", "port", "password", "username", "ssl", "ssl_verify", "server_name"];
  return [...keys, "timeout", "database"].map(
    (k) => `UPDATE plugins SET config = config - 'redis_${k}' WHERE name = '${plugin}';`,
  );
}
