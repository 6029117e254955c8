/**
 * Kong's cluster mutex over the `locks` table (kong/db/init.lua `cluster_mutex` and the postgres
 * connector's insert_lock/read_lock/remove_lock): expired rows are deleted before taking the lock,
 * waiters poll with a growing step, and a waiter that sees the lock released does not run at all.
 */
import { randomUUID } from "node:crypto";
import { KongError, LUA_ROOT } from "./cli/errors";
import { DbError, type Db } from "./pg";

/** How to take the lock. */
export interface MutexOptions {
  /** Lock TTL and wait limit, seconds (`--lock-timeout`). */
  readonly ttl: number;
  /** `finish`, `bootstrap`, `reset`: give up at once when another node holds it. */
  readonly noWait?: boolean;
  /** `reset`: the callback dropped the table, do not delete the row. */
  readonly noCleanup?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the lock (true), or reports another holder (false); throws DbError on database errors. */
export async function insertLock(
  db: Db,
  key: string,
  ttl: number,
  owner: string,
): Promise<boolean> {
  const until = (Date.now() / 1000 + ttl).toFixed(3);
  const counts = await db.multi(`BEGIN;
  DELETE FROM locks WHERE ttl < CURRENT_TIMESTAMP AT TIME ZONE 'UTC';
  INSERT INTO locks (key, owner, ttl) VALUES ('${key}', '${owner}', TO_TIMESTAMP(${until}) AT TIME ZONE 'UTC')
  ON CONFLICT DO NOTHING;
COMMIT;`);
  return counts[2] === 1;
}

async function readLock(db: Db, key: string): Promise<boolean> {
  const rows = await db.query(
    "SELECT * FROM locks WHERE key = $1 AND ttl >= CURRENT_TIMESTAMP AT TIME ZONE 'UTC' LIMIT 1;",
    [key],
  );
  return rows.length > 0;
}

async function removeLock(db: Db, key: string, owner: string): Promise<void> {
  await db
    .query("DELETE FROM locks WHERE key = $1 AND owner = $2;", [key, owner])
    .catch(() => undefined);
}

/** A traceback like the one Kong's xpcall(cb, debug.traceback) appends to callback errors. */
export function callbackTraceback(fn: string, at: number, def: number): string {
  const u = `${LUA_ROOT}/cmd/utils/migrations.lua`;
  return [
    "stack traceback:",
    "\t[C]: in function 'assert'",
    `\t${u}:${at}: in function <${u}:${def}>`,
    "\t[C]: in function 'xpcall'",
    `\t${LUA_ROOT}/db/init.lua:410: in function <${LUA_ROOT}/db/init.lua:360>`,
    "\t[C]: in function 'pcall'",
    `\t${LUA_ROOT}/concurrency.lua:52: in function 'cluster_mutex'`,
    `\t${u}:${def}: in function '${fn}'`,
    `\t${LUA_ROOT}/cmd/migrations.lua:227: in function 'cmd_exec'`,
    `\t${LUA_ROOT}/cmd/init.lua:89: in function <${LUA_ROOT}/cmd/init.lua:89>`,
    "\t[C]: in function 'xpcall'",
    `\t${LUA_ROOT}/cmd/init.lua:89: in function <${LUA_ROOT}/cmd/init.lua:45>`,
    "\t/usr/local/bin/kong:9: in function 'file_gen'",
    "\tinit_worker_by_lua:52: in function <init_worker_by_lua:50>",
    "\t[C]: in function 'xpcall'",
    "\tinit_worker_by_lua:59: in function <init_worker_by_lua:57>",
  ].join("\n");
}

/**
 * An error raised inside the callback, with where Kong's assert/error sits (for the message Kong
 * builds: `cluster_mutex callback threw an error: <file>:<line>: <msg>\nstack traceback: ...`).
 */
export class CallbackError extends Error {
  constructor(
    msg: string,
    readonly fn: string,
    readonly at: number,
    readonly def: number,
  ) {
    super(msg);
  }
}

/**
 * Runs `cb` under the cluster lock `key`. Returns false when another node holds (or held) it.
 * Throws KongError-ready DbError texts: `[PostgreSQL error] timeout`, `... callback threw ...`.
 */
export async function clusterMutex(
  db: Db,
  key: string,
  opts: MutexOptions,
  cb: () => Promise<void>,
): Promise<boolean> {
  const owner = randomUUID();
  let got: boolean;
  try {
    got = await insertLock(db, key, opts.ttl, owner);
  } catch (err) {
    throw new DbError(
      `[PostgreSQL error] failed to insert cluster lock: ${(err as Error).message}`,
    );
  }
  if (!got) {
    if (opts.noWait) {
      return false;
    }
    let step = 0.1;
    let elapsed = 0;
    while (elapsed < opts.ttl) {
      await sleep(step * 1000);
      elapsed += step;
      if (elapsed >= opts.ttl) {
        break;
      }
      let locked: boolean;
      try {
        locked = await readLock(db, key);
      } catch (err) {
        throw new DbError(
          `[PostgreSQL error] failed to read cluster lock: ${(err as Error).message}`,
        );
      }
      if (!locked) {
        return false;
      }
      step = Math.min(step * 3, 2);
    }
    throw new DbError("[PostgreSQL error] timeout");
  }
  try {
    await cb();
  } catch (err) {
    await removeLock(db, key, owner);
    if (err instanceof CallbackError) {
      const where = `${LUA_ROOT}/cmd/utils/migrations.lua:${err.at}`;
      throw new DbError(
        `[PostgreSQL error] cluster_mutex callback threw an error: ${where}: ${err.message}\n${callbackTraceback(err.fn, err.at, err.def)}`,
      );
    }
    throw err;
  }
  if (!opts.noCleanup) {
    await removeLock(db, key, owner);
  }
  return true;
}

/** Turns a DbError into the KongError the CLI prints (raised by `error(err)` at `line`). */
export function asKongError(err: unknown, line: number): unknown {
  if (err instanceof DbError) {
    return new KongError(err.message, `${LUA_ROOT}/cmd/utils/migrations.lua:${line}`);
  }
  return err;
}
