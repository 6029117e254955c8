/**
 * The `--db-timeout` every `kong migrations` call gets (KONG.md §5: pass it explicitly, sized to
 * the database; from 3.7 Kong's own default falls back to `pg_timeout`, 5 s, and a timeout in the
 * middle of `up` is what left Kong/kong#12978's database half-migrated). Pure.
 */

/** Seconds per started GiB of the database, on top of {@link BASE_SECONDS}. */
export const SECONDS_PER_GIB = 60;
/** Kong's own default up to 3.6. */
export const BASE_SECONDS = 60;

/**
 * The rule: 60 s plus 60 s per started GiB of the database as last measured (the preflight of the
 * previous change), or `timeouts.dbTimeoutSeconds` when that is larger. An unmeasured database
 * counts as empty: the configured value (default 60) applies.
 */
export function migrationDbTimeout(configuredSeconds: number, databaseBytes?: number): number {
  const gib = Math.ceil(Math.max(databaseBytes ?? 0, 0) / 2 ** 30);
  return Math.max(configuredSeconds, BASE_SECONDS + SECONDS_PER_GIB * gib);
}
