/**
 * Direct SQL to the Kong database for what Kong's CLI does not tell: size, row counts, and the
 * clean-up before a restore. Connects with the same settings and password as the nodes.
 */
import pg from "pg";
import { assertNotCancelled } from "./exec";
import { cleanEnv } from "./machine";
import { DatabaseSpec } from "../../contract/spec";

/** The password every step receives as a secret environment value. */
export function dbPassword(): string {
  return process.env.KONG_PG_PASSWORD ?? "";
}

/** Environment for libpq programs (pg_dump, pg_restore): the password never goes on argv. */
export function libpqEnv(db: DatabaseSpec): NodeJS.ProcessEnv {
  return {
    ...cleanEnv(),
    PGPASSWORD: dbPassword(),
    PGSSLMODE: db.ssl === "on" ? "require" : "prefer",
    PGCONNECT_TIMEOUT: "10",
  };
}

/** libpq connection arguments (no password). */
export function libpqArgs(db: DatabaseSpec, database = db.database): string[] {
  return ["-h", db.host, "-p", String(db.port), "-U", db.user, "-d", database];
}

/** Runs `fn` with a connected client, always closing it. */
export async function withClient<T>(
  db: DatabaseSpec,
  fn: (c: pg.Client) => Promise<T>,
  database = db.database,
): Promise<T> {
  assertNotCancelled();
  const client = new pg.Client({
    host: db.host,
    port: db.port,
    user: db.user,
    password: dbPassword(),
    database,
    ssl: db.ssl === "on" ? { rejectUnauthorized: false } : undefined,
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The schema Kong uses. */
export function schemaOf(db: DatabaseSpec): string {
  return db.schema || "public";
}

/** Exact row counts of every table in Kong's schema. */
export async function tableCounts(
  db: DatabaseSpec,
  database = db.database,
): Promise<Record<string, number>> {
  return withClient(
    db,
    async (c) => {
      const tables = await c.query<{ t: string }>(
        "SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
        [schemaOf(db)],
      );
      const counts: Record<string, number> = {};
      for (const { t } of tables.rows) {
        const r = await c.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${c.escapeIdentifier(schemaOf(db))}.${c.escapeIdentifier(t)}`,
        );
        counts[t] = Number(r.rows[0]?.n ?? 0);
      }
      return counts;
    },
    database,
  );
}

/** Size of the Kong database in bytes, and the server's version number. */
export async function databaseFacts(
  db: DatabaseSpec,
): Promise<{ bytes: number; serverVersionNum: number }> {
  return withClient(db, async (c) => {
    const r = await c.query<{ b: string; v: string }>(
      "SELECT pg_database_size(current_database()) AS b, current_setting('server_version_num') AS v",
    );
    return { bytes: Number(r.rows[0]?.b ?? 0), serverVersionNum: Number(r.rows[0]?.v ?? 0) };
  });
}

/**
 * Where the configuration stood at one moment, for telling later whether it was written: the
 * database's clock and the ids of the `cluster_events` rows of the minute before it. Kong inserts
 * a `cluster_events` row for every Admin API write in traditional mode (KONG.md), and a row's
 * `at` is its transaction's start, which may be before the mark even when it commits after it:
 * the minute of ids covers those.
 */
export interface WriteMark {
  readonly at: string;
  readonly ids: readonly string[];
}

const RECENT_EVENTS =
  "SELECT id::text AS id FROM cluster_events WHERE at >= $1::timestamptz - interval '1 minute'";

/** The {@link WriteMark} of now; undefined when the schema has no `cluster_events` (yet). */
export async function writeMark(db: DatabaseSpec): Promise<WriteMark | undefined> {
  return withClient(db, async (c) => {
    await c.query(`SET search_path TO ${c.escapeIdentifier(schemaOf(db))}`);
    const exists = await c.query("SELECT to_regclass('cluster_events') IS NOT NULL AS e");
    if (!exists.rows[0]?.e) {
      return undefined;
    }
    const now = await c.query<{ at: string }>("SELECT now()::text AS at");
    const at = now.rows[0]?.at ?? "";
    const rows = await c.query<{ id: string }>(RECENT_EVENTS, [at]);
    return { at, ids: rows.rows.map((r) => r.id) };
  });
}

/** How many configuration writes (new `cluster_events` rows) happened since `mark`. */
export async function writesSince(db: DatabaseSpec, mark: WriteMark): Promise<number> {
  return withClient(db, async (c) => {
    await c.query(`SET search_path TO ${c.escapeIdentifier(schemaOf(db))}`);
    const seen = new Set(mark.ids);
    const rows = await c.query<{ id: string }>(RECENT_EVENTS, [mark.at]);
    return rows.rows.filter((r) => !seen.has(r.id)).length;
  });
}

/**
 * Who holds Kong's migrations lock now, read as Kong reads it (KONG.md §2: the `locks` row
 * `migrations` whose ttl has not passed), or undefined (no holder, or no `locks` table yet).
 */
export async function migrationsLockHolder(
  db: DatabaseSpec,
): Promise<{ owner: string; until: string } | undefined> {
  return withClient(db, async (c) => {
    await c.query(`SET search_path TO ${c.escapeIdentifier(schemaOf(db))}`);
    const exists = await c.query<{ e: boolean }>("SELECT to_regclass('locks') IS NOT NULL AS e");
    if (!exists.rows[0]?.e) {
      return undefined;
    }
    const r = await c.query<{ owner: string; until: string }>(
      "SELECT owner, ttl::text AS until FROM locks WHERE key = 'migrations' AND ttl >= CURRENT_TIMESTAMP AT TIME ZONE 'UTC' LIMIT 1",
    );
    return r.rows[0];
  });
}
