/**
 * Running migrations (kong/db/init.lua `run_migrations`) and recording them in `schema_meta`
 * exactly as Kong's postgres connector does; plus schema bootstrap and reset.
 */
import type { Migration } from "./catalog";
import { log } from "./cli/log";
import { shouldFail, slowness, type Faults } from "./faults";
import { DbError, type Db } from "./pg";
import type { StateGroup } from "./state";

/** What one run does (Kong's `run_up`, `run_teardown`, `skip_teardown_migrations`). */
export interface RunOptions {
  readonly runUp?: boolean;
  readonly runTeardown?: boolean;
  readonly skipTeardown?: readonly StateGroup[];
}

/** Everything a run needs. */
export interface RunContext {
  readonly db: Db;
  readonly faults: Faults;
  /** `pg_database`, printed in `migrating <x> on database '<db>'...`. */
  readonly dbName: string;
}

type RecordState = "executed" | "pending" | "teardown";

const RECORD: Record<RecordState, string> = {
  executed: `INSERT INTO schema_meta (key, subsystem, last_executed, executed)
     VALUES ('schema_meta', $1, $2::text, ARRAY[$2::text])
ON CONFLICT (key, subsystem) DO UPDATE
        SET last_executed = EXCLUDED.last_executed,
            executed = ARRAY_APPEND(COALESCE(schema_meta.executed, ARRAY[]::TEXT[]), $2::text);`,
  pending: `INSERT INTO schema_meta (key, subsystem, pending)
     VALUES ('schema_meta', $1, ARRAY[$2::text])
ON CONFLICT (key, subsystem) DO UPDATE
        SET pending = ARRAY_APPEND(schema_meta.pending, $2::text);`,
  teardown: `INSERT INTO schema_meta (key, subsystem, last_executed, executed)
     VALUES ('schema_meta', $1, $2::text, ARRAY[$2::text])
ON CONFLICT (key, subsystem) DO UPDATE
        SET last_executed = EXCLUDED.last_executed,
            executed = ARRAY_APPEND(COALESCE(schema_meta.executed, ARRAY[]::TEXT[]), $2::text),
            pending  = ARRAY_REMOVE(COALESCE(schema_meta.pending,  ARRAY[]::TEXT[]), $2::text);`,
};

function crash(sub: string, name: string, part: string): string {
  const what = `${part} of ${sub}/${name}`.replace(/'/g, "");
  return `DO $$ BEGIN RAISE EXCEPTION 'simulated crash during %', '${what} (KONG_SIM_FAIL_MIGRATION)'; END $$;`;
}

const pause = (ms: number) => (ms > 0 ? `SELECT pg_sleep(${ms / 1000});` : "");

async function runUp(ctx: RunContext, sub: string, mig: Migration): Promise<void> {
  let sql = mig.up.trim();
  if (!sql.endsWith(";")) {
    sql += ";";
  }
  const slow = pause(slowness(ctx.faults, sub, mig.name));
  const fail = shouldFail(ctx.faults, sub, mig.name, "up") ? crash(sub, mig.name, "up") : "";
  try {
    await ctx.db.multi(`BEGIN;\n${sql}\n${slow}\n${fail}\nCOMMIT;\n`);
  } catch (err) {
    await ctx.db.query("ROLLBACK;").catch(() => undefined);
    throw new DbError(
      `[PostgreSQL error] failed to run migration '${mig.name}' up: ${(err as Error).message}`,
    );
  }
}

async function runTeardown(
  ctx: RunContext,
  sub: string,
  mig: Migration,
  steps: readonly string[],
): Promise<void> {
  const failAt = shouldFail(ctx.faults, sub, mig.name, "teardown")
    ? Math.ceil(steps.length / 2)
    : -1;
  const slow = slowness(ctx.faults, sub, mig.name);
  try {
    if (slow > 0) {
      await ctx.db.query(pause(slow));
    }
    for (let i = 0; i < steps.length; i++) {
      if (i === failAt) {
        await ctx.db.query(crash(sub, mig.name, "teardown"));
      }
      await ctx.db.query(steps[i] ?? "");
    }
    if (failAt >= steps.length) {
      await ctx.db.query(crash(sub, mig.name, "teardown"));
    }
  } catch (err) {
    throw new DbError(
      `[PostgreSQL error] failed to run migration '${mig.name}' teardown: ${(err as Error).message}`,
    );
  }
}

async function record(
  ctx: RunContext,
  sub: string,
  name: string,
  state: RecordState,
): Promise<void> {
  try {
    await ctx.db.query(RECORD[state], [sub, name]);
  } catch (err) {
    throw new DbError(
      `[PostgreSQL error] failed to record migration '${name}': ${(err as Error).message}`,
    );
  }
}

/** Runs `groups` as Kong does, logging each step and the totals; throws DbError on failure. */
export async function runMigrations(
  ctx: RunContext,
  groups: readonly StateGroup[],
  opts: RunOptions,
): Promise<void> {
  const skip = new Set(
    (opts.runTeardown ? (opts.skipTeardown ?? []) : []).flatMap((g) =>
      g.migrations.filter((m) => m.teardown).map((m) => `${g.subsystem}/${m.name}`),
    ),
  );
  let total = 0;
  let pending = 0;
  for (const group of groups) {
    log.info(`migrating ${group.subsystem} on database '${ctx.dbName}'...`);
    for (const mig of group.migrations) {
      log.debug(`running migration: ${mig.name}`);
      if (opts.runUp) {
        await runUp(ctx, group.subsystem, mig);
        await record(ctx, group.subsystem, mig.name, mig.teardown ? "pending" : "executed");
        pending += mig.teardown ? 1 : 0;
      }
      if (opts.runTeardown && mig.teardown && !skip.has(`${group.subsystem}/${mig.name}`)) {
        await runTeardown(ctx, group.subsystem, mig, mig.teardown);
        await record(ctx, group.subsystem, mig.name, "teardown");
        pending = Math.max(pending - 1, 0);
      }
      const shown = mig.teardown && !opts.runTeardown ? "(pending)" : "(executed)";
      log.info(`${group.subsystem} migrated up to: ${mig.name} ${shown}`);
      total++;
    }
  }
  log.info(`${total} migration${total > 1 ? "s" : ""} processed`);
  if (total - pending > 0) {
    log.info(`${total - pending} executed`);
  }
  if (pending > 0) {
    log.info(`${pending} pending`);
  }
}

/** Creates the schema, `schema_meta` and `locks` (Kong's schema_bootstrap). */
export async function schemaBootstrap(db: Db): Promise<void> {
  const schema = `"${db.schema.replace(/"/g, '""')}"`;
  try {
    log.debug(`creating '${db.schema}' schema if not existing...`);
    await db.multi(`BEGIN;
  DO $$
  BEGIN
    CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION CURRENT_USER;
    GRANT ALL ON SCHEMA ${schema} TO CURRENT_USER;
  EXCEPTION WHEN insufficient_privilege THEN
    -- Do nothing, perhaps the schema has been created already
  END;
  $$;
  SET SCHEMA '${db.schema.replace(/'/g, "''")}';
COMMIT;`);
    log.debug("creating 'schema_meta' table if not existing...");
    await db.query(`CREATE TABLE IF NOT EXISTS schema_meta (
      key            TEXT,
      subsystem      TEXT,
      last_executed  TEXT,
      executed       TEXT[],
      pending        TEXT[],

      PRIMARY KEY (key, subsystem)
    );`);
    log.debug("creating 'locks' table if not existing...");
    await db.multi(`BEGIN;
  CREATE TABLE IF NOT EXISTS locks (
    key    TEXT PRIMARY KEY,
    owner  TEXT,
    ttl    TIMESTAMP WITH TIME ZONE
  );
  CREATE INDEX IF NOT EXISTS locks_ttl_idx ON locks (ttl);
COMMIT;`);
  } catch (err) {
    throw new DbError(`[PostgreSQL error] failed to bootstrap database: ${(err as Error).message}`);
  }
}

/** Drops and recreates the whole schema (Kong's schema_reset), tables only without the privilege. */
export async function schemaReset(db: Db): Promise<void> {
  const schema = `"${db.schema.replace(/"/g, '""')}"`;
  try {
    const tables = await db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = CURRENT_SCHEMA;",
    );
    const names = tables.map((t) => `"${t.table_name.replace(/"/g, '""')}"`);
    const dropTables =
      names.length > 0 ? `    DROP TABLE IF EXISTS ${names.join(", ")} CASCADE;\n` : "";
    await db.multi(`BEGIN;
  DO $$
  BEGIN
    DROP SCHEMA IF EXISTS ${schema} CASCADE;
    CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION CURRENT_USER;
    GRANT ALL ON SCHEMA ${schema} TO CURRENT_USER;
  EXCEPTION WHEN insufficient_privilege THEN
${dropTables}  END;
  $$;
    SET SCHEMA '${db.schema.replace(/'/g, "''")}';
COMMIT;`);
  } catch (err) {
    throw new DbError(`[PostgreSQL error] ${(err as Error).message}`);
  }
}
