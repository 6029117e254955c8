/**
 * Snapshots of a fault matrix world, so that every cell starts from a known state without
 * re-running what came before it: the `kong` database as a template database, directories
 * copied whole (the state directory; for the engine also the stack's file backend and the backup
 * store), and which nodes ran. Restoring stops every node, puts the directories and the database
 * back and starts the nodes that ran, from their records, as the runner would.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StepSpec } from "../../components/contract/spec";
import { runtimeFor } from "../../components/runner/runtimes/runtime";
import * as steps from "../../components/runner/steps/chain";
import type { PostgresServer } from "./postgres";

/** What a world's snapshots cover. */
export interface SnapshotScope {
  readonly pg: PostgresServer;
  /** Where the snapshots are kept. */
  readonly root: string;
  /** The live directories saved and put back, by a name of their own (`state`, `backend`, …). */
  readonly dirs: Readonly<Record<string, string>>;
  /** A spec of the cluster (its state directory and name): how its nodes are found. */
  readonly spec: StepSpec;
}

/** Saves and restores named snapshots of one world. */
export class Snapshots {
  constructor(private readonly scope: SnapshotScope) {}

  /** Saves the database, the directories and which nodes run, as snapshot `name`. */
  async save(name: string): Promise<void> {
    const { pg, dirs, spec } = this.scope;
    const db = `snap_${name}`;
    await pg.query("postgres", `DROP DATABASE IF EXISTS "${db}"`);
    await this.exclusively(`CREATE DATABASE "${db}" TEMPLATE kong OWNER kong`);
    const rt = runtimeFor(spec);
    const recs = await rt.discover();
    const alive = await Promise.all(recs.map((r) => rt.running(r)));
    const dir = this.dir(name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [key, live] of Object.entries(dirs)) {
      mkdirSync(live, { recursive: true });
      cpSync(live, join(dir, key), { recursive: true });
    }
    const running = recs.filter((_, i) => alive[i]).map((r) => r.prefix);
    writeFileSync(join(dir, "running.json"), JSON.stringify(running));
  }

  /** Puts snapshot `name` back: nodes stopped, directories and database as saved, its nodes running. */
  async restore(name: string): Promise<void> {
    const { pg, dirs, spec } = this.scope;
    await this.stopNodes();
    for (const [key, live] of Object.entries(dirs)) {
      rmSync(live, { recursive: true, force: true });
      cpSync(join(this.dir(name), key), live, { recursive: true });
    }
    await this.exclusively("DROP DATABASE kong");
    await pg.query("postgres", `CREATE DATABASE kong TEMPLATE "snap_${name}" OWNER kong`);
    const running = JSON.parse(readFileSync(join(this.dir(name), "running.json"), "utf8")) as
      string[] | undefined;
    const rt = runtimeFor(spec);
    for (const rec of (await rt.discover()).filter((r) => running?.includes(r.prefix))) {
      await rt.start(rec, spec.timeouts.startSeconds);
    }
  }

  /** Stops every node of the cluster, whatever its version (before the state directory goes). */
  async stopNodes(): Promise<void> {
    await steps.stop({ ...this.scope.spec, nodes: [] });
  }

  private dir(name: string): string {
    return join(this.scope.root, name);
  }

  /** Drops every connection to `kong` and runs `sql` (a template copy needs it alone). */
  private async exclusively(sql: string): Promise<void> {
    const { pg } = this.scope;
    for (let attempt = 1; ; attempt++) {
      await pg.query(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'kong' AND pid <> pg_backend_pid()",
      );
      try {
        await pg.query("postgres", sql);
        return;
      } catch (e) {
        // A running node may reconnect in between: try again.
        if (attempt >= 10 || !/being accessed by other users/.test((e as Error).message)) {
          throw e;
        }
      }
    }
  }
}
