/**
 * A bench stack installed once and put back before each later run, so every run of a strategy
 * starts from the same installed cluster without installing it again: the stack's directories
 * (file backend, state directory with the node prefixes, backup store) copied whole, its database
 * as a template database, and which nodes ran. Restoring stops every node the state directory
 * records (X or Y), puts the directories and the database back and starts the nodes that ran,
 * from their records, as the runner would.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { RECORD, type NodeRecord } from "../components/state/nodes";
import { kong } from "../test/kong-sim/helpers";
import type { DatabaseSettings, PostgresServer } from "../test/support/postgres";
import { waitReady } from "./fixtures";

/** What one snapshot covers. */
export interface SnapshotScope {
  readonly pg: PostgresServer;
  /** The stack's database (the Kong role's settings: its password starts the nodes). */
  readonly db: DatabaseSettings;
  /** The live directories, by a name of their own (`backend`, `state`, `bucket`). */
  readonly dirs: Readonly<Record<string, string>>;
  /** The state directory (its `nodes/` holds the node records). */
  readonly stateDir: string;
  /** Where the copies are kept. */
  readonly root: string;
}

/** Every node record under `<stateDir>/nodes/<version>-g<n>/<id>`, whatever its cluster. */
export function nodeRecords(stateDir: string): NodeRecord[] {
  const root = join(stateDir, "nodes");
  const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  return ls(root)
    .flatMap((group) => ls(join(root, group)).map((id) => join(root, group, id, RECORD)))
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, "utf8")) as NodeRecord)
    .sort((a, b) => a.prefix.localeCompare(b.prefix));
}

/** Whether the node answers `/status/ready` 200 now. */
async function serving(rec: NodeRecord): Promise<boolean> {
  return fetch(`${rec.statusUrl}/status/ready`, { signal: AbortSignal.timeout(1000) })
    .then((r) => r.arrayBuffer().then(() => r.status === 200))
    .catch(() => false);
}

/** Waits until the node's status listener stops answering; false after `ms`. */
async function gone(rec: NodeRecord, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const up = await fetch(`${rec.statusUrl}/status`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.arrayBuffer().then(() => true))
      .catch(() => false);
    if (!up) {
      return true;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

const env = (rec: NodeRecord, extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  ...rec.settings,
  ...extra,
});

/** Stops the node (graceful `quit`, then `stop`) unless it is not running. */
async function stopNode(rec: NodeRecord): Promise<void> {
  await kong(rec.kongBin, ["quit", "-p", rec.prefix, "-t", "5"], env(rec));
  if (!(await gone(rec, 15_000))) {
    await kong(rec.kongBin, ["stop", "-p", rec.prefix], env(rec));
    if (!(await gone(rec, 15_000))) {
      throw new Error(`bench snapshot: ${rec.id} (${rec.prefix}) still answers after kong stop`);
    }
  }
}

/** Stops every node `stateDir` records (a stack's teardown without `pulumi destroy`). */
export async function stopNodes(stateDir: string): Promise<void> {
  await Promise.all(nodeRecords(stateDir).map(stopNode));
}

/** Starts the node from its record and waits until it is ready. */
async function startNode(rec: NodeRecord, password: string): Promise<void> {
  const r = await kong(
    rec.kongBin,
    ["start", "-p", rec.prefix],
    env(rec, { KONG_PG_PASSWORD: password }),
  );
  if (r.code !== 0) {
    throw new Error(`bench snapshot: starting ${rec.id} (${rec.version}) failed: ${r.stderr}`);
  }
  await waitReady(`${rec.statusUrl}/status/ready`);
}

/** One installed stack's snapshot: saved once, restored before each later run. */
export class StackSnapshot {
  private constructor(
    private readonly scope: SnapshotScope,
    private readonly template: string,
    /** Prefixes of the nodes that ran when it was saved. */
    readonly running: readonly string[],
  ) {}

  /**
   * Saves the stack as it is now: its nodes are stopped for the database copy (a template must
   * have no sessions) and started again, so the first run starts from nodes started the same way
   * as every restored run's.
   */
  static async save(scope: SnapshotScope): Promise<StackSnapshot> {
    const recs = nodeRecords(scope.stateDir);
    const alive = await Promise.all(recs.map(serving));
    const running = recs.filter((_, i) => alive[i]).map((r) => r.prefix);
    await stopNodes(scope.stateDir);
    const template = `${scope.db.database}_snap`;
    await scope.pg.query("postgres", `DROP DATABASE IF EXISTS "${template}"`);
    await exclusively(
      scope.pg,
      scope.db.database,
      `CREATE DATABASE "${template}" TEMPLATE "${scope.db.database}" OWNER kong`,
    );
    rmSync(scope.root, { recursive: true, force: true });
    mkdirSync(scope.root, { recursive: true });
    for (const [key, live] of Object.entries(scope.dirs)) {
      mkdirSync(live, { recursive: true });
      cpSync(live, join(scope.root, key), { recursive: true });
    }
    const snap = new StackSnapshot(scope, template, running);
    await snap.startRecorded();
    return snap;
  }

  /** Puts the saved stack back: every node stopped, directories and database as saved, X started. */
  async restore(): Promise<void> {
    const { pg, db, dirs, root } = this.scope;
    await stopNodes(this.scope.stateDir);
    for (const [key, live] of Object.entries(dirs)) {
      rmSync(live, { recursive: true, force: true });
      cpSync(join(root, key), live, { recursive: true });
    }
    await pg.query("postgres", `DROP DATABASE IF EXISTS "${db.database}" WITH (FORCE)`);
    await pg.query(
      "postgres",
      `CREATE DATABASE "${db.database}" TEMPLATE "${this.template}" OWNER kong`,
    );
    await this.startRecorded();
  }

  /** Drops the template database and the saved directories. */
  async drop(): Promise<void> {
    await this.scope.pg
      .query("postgres", `DROP DATABASE IF EXISTS "${this.template}" WITH (FORCE)`)
      .catch(() => undefined);
    rmSync(this.scope.root, { recursive: true, force: true });
  }

  private async startRecorded(): Promise<void> {
    const recs = nodeRecords(this.scope.stateDir).filter((r) => this.running.includes(r.prefix));
    for (const rec of recs) {
      await startNode(rec, this.scope.db.password);
    }
  }
}

/** Runs `sql` once no session is left on `database` (ended ones may linger a moment). */
async function exclusively(pg: PostgresServer, database: string, sql: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await pg.query(
      "postgres",
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}' AND pid <> pg_backend_pid()`,
    );
    try {
      await pg.query("postgres", sql);
      return;
    } catch (e) {
      if (attempt >= 20 || !/being accessed by other users/.test((e as Error).message)) {
        throw e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
