/**
 * The throwaway database the kit runs Kong against: a PostgreSQL server the kit starts itself
 * (test/support/postgres.ts, a free loopback port), or one the user names with `--pg`. The kit
 * RESETS it between scenarios (drops the schema), so it must never hold anything of value.
 */
import pg from "pg";
import { startPostgres, type DatabaseSettings } from "../support/postgres";

/** The kit's database: its settings, SQL as the Kong role, and a reset. */
export interface KitDatabase {
  readonly settings: DatabaseSettings;
  /** For the table's header. */
  readonly label: string;
  /** Runs SQL in the Kong database as the Kong role. */
  query<T extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Drops and recreates the `public` schema (as `kong migrations reset` does): "not bootstrapped". */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Parses `--pg postgres://user:password@host:port/database` (password may come from PGPASSWORD). */
export function parsePgUrl(text: string): DatabaseSettings {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(
      `--pg '${text}' is not a connection URL; give postgres://user:password@host:port/database`,
    );
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new Error(`--pg '${text}' must start with postgres://`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!url.hostname || !url.username || !database) {
    throw new Error(
      `--pg '${text}' needs a user, a host and a database: postgres://user:password@host:port/database`,
    );
  }
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username),
    password: url.password ? decodeURIComponent(url.password) : (process.env.PGPASSWORD ?? ""),
    database,
  };
}

function open(settings: DatabaseSettings, label: string, stop: () => Promise<void>): KitDatabase {
  const query = async <T extends object>(sql: string, params: unknown[] = []) => {
    const client = new pg.Client({ ...settings, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  };
  return {
    settings,
    label,
    query,
    async reset() {
      await query('DROP SCHEMA IF EXISTS "public" CASCADE; CREATE SCHEMA "public";');
    },
    close: stop,
  };
}

/** The user's own throwaway database (`--pg`); checked reachable now. */
export async function userDatabase(settings: DatabaseSettings): Promise<KitDatabase> {
  const db = open(
    settings,
    `${settings.user}@${settings.host}:${settings.port}/${settings.database} (given with --pg; reset by the kit)`,
    () => Promise.resolve(),
  );
  await db.query("SELECT 1").catch((err: Error) => {
    throw new Error(`cannot connect to the --pg database: ${err.message}`);
  });
  return db;
}

/** A new PostgreSQL server on a free loopback port, removed by `close()`. */
export async function ownDatabase(): Promise<KitDatabase> {
  const server = await startPostgres();
  try {
    const settings = await server.createDatabase("kong_conformance", "kong", "kong-conformance");
    return open(
      settings,
      `kong@127.0.0.1:${server.port}/kong_conformance (a throwaway server the kit started)`,
      () => server.stop(),
    );
  } catch (err) {
    await server.stop();
    throw err;
  }
}
