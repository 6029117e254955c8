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

/** A connected client with the nodes' settings and password. */
async function connect(db: DatabaseSpec, database = db.database): Promise<pg.Client> {
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
  return client;
}

/** Runs `fn` with a connected client, always closing it. */
export async function withClient<T>(
  db: DatabaseSpec,
  fn: (c: pg.Client) => Promise<T>,
  database = db.database,
): Promise<T> {
  const client = await connect(db, database);
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
  return withClient(db, (c) => countTables(c, schemaOf(db)), database);
}

/** Exact row counts of every table in `schema`, in two round trips (whatever the table count). */
async function countTables(c: pg.Client, schema: string): Promise<Record<string, number>> {
  const tables = await c.query<{ t: string }>(
    "SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
    [schema],
  );
  if (tables.rows.length === 0) {
    return {};
  }
  const s = c.escapeIdentifier(schema);
  const r = await c.query<{ t: string; n: string }>(
    tables.rows
      .map(
        ({ t }) =>
          `SELECT ${c.escapeLiteral(t)} AS t, count(*) AS n FROM ${s}.${c.escapeIdentifier(t)}`,
      )
      .join(" UNION ALL "),
  );
  const counts: Record<string, number> = {};
  for (const { t, n } of r.rows) {
    counts[t] = Number(n);
  }
  return counts;
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

/**
 * One backup's view of the database: a REPEATABLE READ, READ ONLY transaction whose snapshot
 * pg_dump imports (`snapshot`, for `pg_dump --snapshot`), so the dump, the row counts and the
 * write mark describe the same moment, even while a gateway still writes (`prepared`,
 * `rolling`), and the counts run beside the dump instead of before it. Where the server cannot
 * export a snapshot, `snapshot` is undefined and the dump takes its own a moment later (the
 * counts and mark then come from just before it, as with any dump). Close it once pg_dump has
 * finished with it.
 */
export interface BackupView {
  readonly snapshot?: string;
  /** pg_database_size of the Kong database. */
  readonly bytes: number;
  readonly serverVersionNum: number;
  /** Row counts of every table in Kong's schema, in this view. */
  counts(): Promise<Record<string, number>>;
  /** The {@link WriteMark} of this view; undefined when the schema has no `cluster_events` (yet). */
  mark(): Promise<WriteMark | undefined>;
  close(): Promise<void>;
}

/**
 * A connection opened ahead of a backup (before the outage begins: connecting and authenticating
 * are then off its clock); undefined when it could not be opened (the backup connects itself).
 */
export type EarlyConnection = Promise<pg.Client | undefined>;

/** Opens an {@link EarlyConnection}; an error while it waits idle only marks it unusable. */
export function connectEarly(db: DatabaseSpec): EarlyConnection {
  return connect(db).then(
    (c) => {
      c.on("error", () => undefined);
      return c;
    },
    () => undefined,
  );
}

/** Closes an {@link EarlyConnection} that was not used. */
export function closeEarly(early: EarlyConnection | undefined): void {
  void early?.then((c) => c?.end().catch(() => undefined));
}

/**
 * Opens a {@link BackupView} (one connection, held until `close`): on `early` when it is still
 * alive, else on a new one. Its transaction, snapshot and facts take one round trip.
 */
export async function openBackupView(
  db: DatabaseSpec,
  early?: EarlyConnection,
): Promise<BackupView> {
  const facts =
    "pg_database_size(current_database())::text AS b, current_setting('server_version_num') AS v";
  const schema = schemaOf(db);
  // In Kong's schema, as writesSince reads it: the mark is compared with the same query.
  const begin = (c: pg.Client) =>
    `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path TO ${c.escapeIdentifier(schema)};`;
  type Row = { s?: string; b: string; v: string };
  const last = (r: pg.QueryResult<Row> | pg.QueryResult<Row>[]) =>
    (Array.isArray(r) ? r.at(-1) : r)?.rows[0];
  const open = async (c: pg.Client): Promise<Row | undefined> => {
    try {
      return last(await c.query<Row>(`${begin(c)} SELECT pg_export_snapshot() AS s, ${facts}`));
    } catch {
      // No exported snapshot here (a standby of an old server, a pooler): the dump takes its own.
      // (A dead connection fails the ROLLBACK too.)
      await c.query("ROLLBACK");
      return last(await c.query<Row>(`${begin(c)} SELECT ${facts}`));
    }
  };
  let c = early ? await early : undefined;
  let row: Row | undefined;
  if (c) {
    try {
      row = await open(c);
    } catch {
      // It died while it waited (e.g. PostgreSQL restarted): a new connection below.
      await c.end().catch(() => undefined);
      c = undefined;
    }
  }
  if (!c) {
    c = await connect(db);
    try {
      row = await open(c);
    } catch (e) {
      await c.end().catch(() => undefined);
      throw e;
    }
  }
  const conn = c;
  return {
    ...(row?.s ? { snapshot: row.s } : {}),
    bytes: Number(row?.b ?? 0),
    serverVersionNum: Number(row?.v ?? 0),
    counts: () => countTables(conn, schema),
    mark: async () => {
      const r = await conn.query<{ at: string | null }>(
        "SELECT CASE WHEN to_regclass('cluster_events') IS NOT NULL THEN now()::text END AS at",
      );
      const at = r.rows[0]?.at;
      if (!at) {
        return undefined;
      }
      const rows = await conn.query<{ id: string }>(RECENT_EVENTS, [at]);
      return { at, ids: rows.rows.map((x) => x.id) };
    },
    close: async () => {
      await conn.query("COMMIT").catch(() => undefined);
      await conn.end();
    },
  };
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
