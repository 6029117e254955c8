/**
 * The program's look at a database the stack does not run itself (`database.mode: existing`),
 * before any resource exists: the server answers, accepts the role's password, and has the
 * database. Each refusal names the setting, the value (never the password) and the fix, so a
 * typo is found by `pulumi preview` instead of by preflight after the install ran.
 */
import pg from "pg";
import type { DatabaseArgs } from "./config";

/** Where the check connects: `database` with the defaults of `mode: existing` filled in. */
export interface DatabaseTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly ssl: boolean;
}

/** `database` as `mode: existing` resolves it (components/config.ts withDefaults has the same defaults). */
export function existingTarget(d: DatabaseArgs | undefined): DatabaseTarget {
  return {
    host: d?.host ?? "127.0.0.1",
    port: d?.port ?? 5432,
    database: d?.database ?? "kong",
    user: d?.user ?? "kong",
    ssl: d?.ssl ?? false,
  };
}

/**
 * Connects once (5 s at most) and returns why the database cannot be used, or undefined. The
 * password goes to the client in memory only (no argv, no environment).
 */
export async function databaseProblem(
  t: DatabaseTarget,
  password: string,
): Promise<string | undefined> {
  const client = new pg.Client({
    host: t.host,
    port: t.port,
    user: t.user,
    password,
    database: t.database,
    ssl: t.ssl ? { rejectUnauthorized: false } : undefined,
    connectionTimeoutMillis: 5000,
  });
  const at = `${t.host}:${t.port}`;
  try {
    await client.connect();
    return undefined;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === "28P01" || err.code === "28000") {
      return `kong-gateway:dbPassword (a secret, not shown) is refused by PostgreSQL at ${at} for kong-gateway:database.user ${JSON.stringify(t.user)} (${err.message}); set the role's password: pulumi config set --secret kong-gateway:dbPassword <password>`;
    }
    if (err.code === "3D000") {
      return `kong-gateway:database.database ${JSON.stringify(t.database)} does not exist on ${at}; fix the name, or create it: CREATE DATABASE ${t.database} OWNER ${t.user}`;
    }
    return `kong-gateway:database.host/port ${JSON.stringify(at)}: no PostgreSQL answers there (${err.code ?? err.message}); start the server, or set kong-gateway:database.host and database.port to where it listens`;
  } finally {
    await client.end().catch(() => undefined);
  }
}
