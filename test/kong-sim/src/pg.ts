/**
 * PostgreSQL access the way Kong's connector does it (kong/db/strategies/postgres/connector.lua):
 * one connection, `SET SCHEMA` and `SET TIME ZONE 'UTC'` on connect, a socket timeout per
 * operation, and errors worded like pgmoon's (`FATAL: password authentication failed ...`).
 */
import pg from "pg";
import type { PgConf } from "./conf";

// Kong's BIGINT columns (ports, timeouts) are numbers to Lua; node-pg would return strings.
pg.types.setTypeParser(20, (v: string) => Number(v));

/** A database error with Kong/pgmoon wording (`connection refused`, `timeout`, `ERROR: ...`). */
export class DbError extends Error {
  constructor(
    message: string,
    /** PostgreSQL SQLSTATE when the server answered (23505 = unique violation). */
    readonly code?: string,
    /** PostgreSQL's DETAIL (`Key (name)=(x) already exists.`). */
    readonly detail?: string,
    /** True when the connection itself failed (the database is unreachable for this node). */
    readonly connecting = false,
  ) {
    super(message);
  }
}

interface PgLikeError {
  code?: string;
  severity?: string;
  message?: string;
  detail?: string;
  position?: string;
}

/** Translates a node-pg / socket error into the text pgmoon gives Kong. */
export function dbErrorText(err: unknown): string {
  const e = (err ?? {}) as PgLikeError;
  if (e.severity && e.message) {
    let msg = `${e.severity}: ${e.message}`;
    if (e.detail) {
      msg += `\n${e.detail}`;
    }
    return e.position ? `${msg} (${e.position})` : msg;
  }
  switch (e.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found";
    case "ECONNRESET":
    case "EPIPE":
      return "closed";
    default:
  }
  const text = String(e.message ?? err);
  if (/timeout/i.test(text)) {
    return "timeout";
  }
  if (/terminated|ended|closed/i.test(text)) {
    return "closed";
  }
  return text;
}

/** A connection that reconnects on its next use after a timeout or a lost socket (as Kong's). */
export class Db {
  private client?: pg.Client;
  /** The schema in use (resolved from CURRENT_SCHEMA when not configured). */
  schema = "";

  private constructor(private readonly conf: PgConf) {}

  /** Connects, resolves the schema, sets schema and time zone; throws DbError. */
  static async connect(conf: PgConf): Promise<Db> {
    const db = new Db(conf);
    await db.ensure();
    return db;
  }

  private async ensure(): Promise<pg.Client> {
    if (this.client) {
      return this.client;
    }
    const conf = this.conf;
    const client = new pg.Client({
      host: conf.host,
      port: conf.port,
      user: conf.user,
      password: conf.password ?? "",
      database: conf.database,
      ssl: conf.ssl ? { rejectUnauthorized: false } : undefined,
      connectionTimeoutMillis: conf.timeout,
      query_timeout: conf.timeout,
    });
    client.on("error", () => this.drop(client));
    try {
      await client.connect();
      let schema = conf.schema;
      if (schema === "") {
        const res = await client.query<{ schema: string | null }>(
          "SELECT CURRENT_SCHEMA AS schema",
        );
        schema = res.rows[0]?.schema ?? "public";
      }
      await client.query(`SET SCHEMA ${client.escapeLiteral(schema)}; SET TIME ZONE 'UTC';`);
      this.schema = schema;
      this.client = client;
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw new DbError(dbErrorText(err), undefined, undefined, true);
    }
  }

  private drop(client: pg.Client): void {
    if (this.client === client) {
      this.client = undefined;
    }
    client.end().catch(() => undefined);
  }

  private async run<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = await this.ensure();
    try {
      return await f(client);
    } catch (err) {
      const text = dbErrorText(err);
      const e = err as PgLikeError;
      const lost = text === "timeout" || text === "closed" || /^(57P|08)/.test(e.code ?? "");
      if (lost) {
        this.drop(client);
      }
      throw new DbError(text, e.severity ? e.code : undefined, e.detail, lost);
    }
  }

  /** Runs one parameterised statement; throws DbError. */
  async query<T extends object = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<T[]> {
    return this.run(async (c) => (await c.query<T>(sql, params)).rows);
  }

  /** Runs a multi-statement text (simple protocol) and returns each statement's row count. */
  async multi(sql: string): Promise<(number | null)[]> {
    return this.run(async (c) => {
      const res = (await c.query(sql)) as unknown as pg.QueryResult | pg.QueryResult[];
      return (Array.isArray(res) ? res : [res]).map((r) => r.rowCount);
    });
  }

  /** Closes the connection; never throws. */
  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}

/** Kong's connector init: `SHOW server_version_num`, with Kong's failure wording. */
export async function openForKong(conf: PgConf): Promise<Db> {
  try {
    const db = await Db.connect(conf);
    await db.query("SHOW server_version_num;");
    return db;
  } catch (err) {
    const text = err instanceof DbError ? err.message : dbErrorText(err);
    throw new DbError(
      `[PostgreSQL error] failed to retrieve PostgreSQL server_version_num: ${text}`,
    );
  }
}
