/**
 * The program's look at a database the stack does not run itself (`database.mode: existing`),
 * before any resource exists: the server answers, accepts the role's password, and has the
 * database. Each refusal names the setting, the value (never the password) and the fix, so a
 * typo is found by `pulumi preview` instead of by preflight after the install ran.
 */
import pg from "pg";
import {
  resolveDatabase,
  sshKeyProblem,
  type DatabaseArgs,
  type PlainSettings,
} from "./config/config";

/** Where the check connects. */
export type DatabaseTarget = Pick<
  Required<DatabaseArgs>,
  "host" | "port" | "database" | "user" | "ssl"
>;

/**
 * The checks of the world that need the plaintext secrets, made by the program before any
 * resource exists: an SSH key that is not a usable private key (`runtime: hosts`), and a
 * `database.mode: existing` server that does not answer, refuses the password or lacks the
 * database. Settings that are wrong on their own are left to the KongGateway's resolution, which
 * names them (this returns undefined for them).
 */
export async function worldProblem(
  settings: Pick<PlainSettings, "runtime" | "database">,
  secrets: { readonly dbPassword?: string; readonly sshPrivateKey?: string },
): Promise<string | undefined> {
  if (settings.runtime === "hosts" && secrets.sshPrivateKey) {
    const problem = sshKeyProblem(secrets.sshPrivateKey);
    if (problem) {
      return problem;
    }
  }
  let database: Required<DatabaseArgs>;
  try {
    database = resolveDatabase(settings.database);
  } catch {
    return undefined;
  }
  return database.mode === "existing" && secrets.dbPassword
    ? databaseProblem(database, secrets.dbPassword)
    : undefined;
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
