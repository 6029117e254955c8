/**
 * The four migration operations of kong/cmd/utils/migrations.lua (bootstrap, up, finish, reset),
 * with Kong's messages, lock modes and checks, in Kong's order.
 */
import type { Subsystem } from "../catalog";
import type { Faults } from "../faults";
import { asKongError, CallbackError, clusterMutex } from "../mutex";
import { DbError, type Db } from "../pg";
import {
  runMigrations,
  schemaBootstrap,
  schemaReset,
  type RunContext,
  type RunOptions,
} from "../runner";
import { formatGroups, loadState, type SchemaState, type StateGroup } from "../state";
import { luaError } from "./errors";
import { log } from "./log";

/** Kong's NOT_LEADER_MSG. */
export const NOT_LEADER = "aborted: another node is performing database changes";

/** Kong's NEEDS_BOOTSTRAP_MSG (the "migrated to" typo is Kong's). */
export const NEEDS_BOOTSTRAP =
  "Database needs bootstrapping or is older than Kong 1.0.\n\n" +
  "To start a new installation from scratch, run 'kong migrations bootstrap'.\n\n" +
  "To migrate from a version older than 1.0, migrated to Kong 1.5.0 first. \n" +
  "If you still have 'apis' entities, you can convert them to Routes and Services\n" +
  "using the 'kong migrations migrate-apis' command in Kong 1.5.0.\n\n";

/** What every operation needs. */
export interface OpContext {
  readonly db: Db;
  readonly catalog: readonly Subsystem[];
  readonly faults: Faults;
  readonly dbName: string;
}

const MUTEX_KEY = "migrations";

function runCtx(c: OpContext): RunContext {
  return { db: c.db, faults: c.faults, dbName: c.dbName };
}

/** Re-reads the state inside a callback, as Kong's `assert(db:schema_state())`. */
async function reload(c: OpContext, fn: string, at: number, def: number): Promise<SchemaState> {
  try {
    return await loadState(c.db, c.catalog);
  } catch (err) {
    throw new CallbackError((err as Error).message, fn, at, def);
  }
}

/** Runs migrations inside a callback; failures become Kong's wrapped callback errors. */
async function run(
  c: OpContext,
  groups: readonly StateGroup[],
  opts: RunOptions,
  where: [string, number, number],
) {
  try {
    await runMigrations(runCtx(c), groups, opts);
  } catch (err) {
    if (err instanceof DbError) {
      throw new CallbackError(err.message, ...where);
    }
    throw err;
  }
}

/** `kong migrations bootstrap`. */
export async function bootstrap(c: OpContext, state: SchemaState, ttl: number): Promise<void> {
  if (!state.needsBootstrap) {
    log.info("Database already bootstrapped");
    return;
  }
  log.info("Bootstrapping database...");
  try {
    await schemaBootstrap(c.db);
  } catch (err) {
    throw asKongError(err, 44);
  }
  let ok: boolean;
  try {
    ok = await clusterMutex(c.db, MUTEX_KEY, { ttl, noWait: true }, async () => {
      await run(c, state.new ?? [], { runUp: true, runTeardown: true }, ["bootstrap", 56, 55]);
      log.info("Database is up-to-date");
    });
  } catch (err) {
    throw asKongError(err, 66);
  }
  if (!ok) {
    log.info(NOT_LEADER);
  }
}

/** Options of `up` and `finish`. */
export interface UpOptions {
  readonly ttl: number;
  readonly force: boolean;
}

/** `kong migrations up`; returns false when another node ran them (NOT_LEADER). */
export async function up(c: OpContext, state: SchemaState, opts: UpOptions): Promise<boolean> {
  if (state.needsBootstrap) {
    throw luaError(`Cannot run migrations: ${NEEDS_BOOTSTRAP}`, "cmd/utils/migrations.lua:75");
  }
  if (!opts.force && state.pending) {
    throw luaError(
      "Database has pending migrations; run 'kong migrations finish'",
      "cmd/utils/migrations.lua:82",
    );
  }
  let ok: boolean;
  try {
    ok = await clusterMutex(c.db, MUTEX_KEY, { ttl: opts.ttl }, async () => {
      let s = await reload(c, "up", 86, 85);
      if (!opts.force && s.pending) {
        throw new CallbackError(
          "Database has pending migrations; run 'kong migrations finish'",
          "up",
          89,
          85,
        );
      }
      if (opts.force && s.executed) {
        log.debug(`forcing re-execution of these migrations:\n${formatGroups(s.executed)}`);
        await run(c, s.executed, { runUp: true, runTeardown: true, skipTeardown: s.pending }, [
          "up",
          97,
          85,
        ]);
        s = await reload(c, "up", 103, 85);
        if (s.pending) {
          log.info("\nDatabase has pending migrations; run 'kong migrations finish' when ready");
          return;
        }
      }
      if (!s.new) {
        if (!opts.force) {
          log.info("Database is already up-to-date");
        }
        return;
      }
      log.debug(`migrations to run:\n${formatGroups(s.new)}`);
      await run(c, s.new, { runUp: true }, ["up", 120, 85]);
      s = await reload(c, "up", 124, 85);
      if (s.pending) {
        log.info("\nDatabase has pending migrations; run 'kong migrations finish' when ready");
      }
    });
  } catch (err) {
    throw asKongError(err, 132);
  }
  if (!ok) {
    log.info(NOT_LEADER);
  }
  return ok;
}

/** `kong migrations finish`. */
export async function finish(c: OpContext, state: SchemaState, opts: UpOptions): Promise<void> {
  if (state.needsBootstrap) {
    throw luaError(`Cannot run migrations: ${NEEDS_BOOTSTRAP}`, "cmd/utils/migrations.lua:146");
  }
  let ok: boolean;
  try {
    ok = await clusterMutex(c.db, MUTEX_KEY, { ttl: opts.ttl, noWait: true }, async () => {
      let s = await reload(c, "finish", 152, 151);
      if (opts.force && s.executed) {
        await run(c, s.executed, { runUp: true, runTeardown: true }, ["finish", 155, 151]);
        s = await reload(c, "finish", 160, 151);
      }
      if (s.pending) {
        log.debug(`pending migrations to finish:\n${formatGroups(s.pending)}`);
        await run(c, s.pending, { runTeardown: true }, ["finish", 167, 151]);
        s = await reload(c, "finish", 172, 151);
      }
      if (s.new) {
        log.info("\nNew migrations available; run 'kong migrations up' to proceed");
        return;
      }
      if (!opts.force && !s.pending) {
        log.info("No pending migrations to finish");
      }
    });
  } catch (err) {
    throw asKongError(err, 188);
  }
  if (!ok) {
    log.info(NOT_LEADER);
  }
}

/** `kong migrations reset` (and the first half of `bootstrap -f`); false = nothing reset. */
export async function reset(c: OpContext, state: SchemaState, ttl: number): Promise<boolean> {
  if (state.needsBootstrap) {
    log.info("Database not bootstrapped, nothing to reset");
    return false;
  }
  const doReset = async () => {
    log.info("Resetting database...");
    try {
      await schemaReset(c.db);
    } catch (err) {
      throw new CallbackError((err as Error).message, "reset", 213, 212);
    }
    log.info("Database successfully reset");
  };
  let ok: boolean;
  try {
    ok = await clusterMutex(c.db, MUTEX_KEY, { ttl, noWait: true, noCleanup: true }, doReset);
  } catch (err) {
    if (err instanceof DbError) {
      // Kong retries without the lock whatever went wrong (e.g. the locks table was dropped).
      log.error(`${err.message} - retrying without cluster lock`);
      await doReset().catch((e) => {
        throw asKongError(new DbError((e as Error).message), 226);
      });
      return true;
    }
    throw asKongError(err, 222);
  }
  if (!ok) {
    log.info(NOT_LEADER);
    return false;
  }
  return true;
}
