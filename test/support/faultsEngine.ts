/**
 * The fault matrix (test/support/faultsMatrix.ts) through the real engine: each cell is a real
 * `pulumi up` of a local-runtime stack of this repository's program (test/support/kongStack.ts,
 * the project's pulumi, a file backend), 2 nodes (`rolling` needs two), on a PostgreSQL the test
 * owns (`database.mode: existing`, backups in a `command` store over a plain directory). The
 * fault is armed through the runner's test-only hook (components/runner/infra/testFault.ts) in
 * the workspace's environment, which reaches every step the command provider starts:
 * - fail: the step fails; the `up` fails (after the automatic rollback where the chain has one);
 * - kill: the step pauses; the `pulumi up` process group is killed (it must die, and the step's
 *   runner, in a process group of its own, must outlive it, holding its step lock); then the
 *   orphan's group is killed too, as when the machine itself is lost (README "Recovering from an
 *   interrupted run": "the step that was running may have stopped halfway"), and the README's
 *   recovery follows: `pulumi cancel`, `refresh --clear-pending-creates`, `up`;
 * - pg-restart: the step pauses, PostgreSQL restarts, the step goes on;
 * - lock: the step pauses, another `kong migrations` takes Kong's lock, the step goes on.
 * Then the next `pulumi up` converges, the target version serves on every node, the configuration
 * tables' hash is the one the same chain has without a fault, and `pulumi preview
 * --expect-no-changes` passes. Each cell starts from a snapshot of its chain's base (nodes
 * stopped, the database from a template, the backend, state directory, backup store and stack
 * file copied back, the nodes that ran started again): no cell re-installs.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { StepSpec } from "../../components/contract/spec";
import { entriesIn, JournalEntry, journalPath, readAttempts } from "../../components/state/journal";
import { seed } from "../../scripts/seed";
import { E2E_PASSWORD } from "./e2e";
import {
  configHash,
  configRows,
  HeldLock,
  restartPostgres,
  servingVersion,
  takeLock,
} from "./faultsEvidence";
import {
  afterRollback,
  baseOf,
  Cell,
  CellResult,
  checkEffect,
  lockedStepEffect,
  nameOf,
  checkPlainFailure,
  Effect,
  expectations,
  Hashes,
  sourceOf,
  targetOf,
  X,
  Y,
} from "./faultsMatrix";
import { Faulted, faultedUp, killUp, mustUp, pulumi, recover, tail } from "./faultsUp";
import { Snapshots } from "./faultsSnapshot";
import { createKongStack, KongStack } from "./kongStack";
import { PostgresServer, startPostgres } from "./postgres";
import { specBase } from "./runner";

const repo = join(__dirname, "../..");
const NODES = 2;
/**
 * The engine's environment for these stacks: the program is transpiled, not type-checked, on
 * each of the ~4 runs a cell makes (`npx tsc --noEmit` checks it once; this halves each run).
 */
const ENGINE_ENV = { PULUMI_NODEJS_TRANSPILE_ONLY: "true" };

/** The world every engine cell runs in: one PostgreSQL, one stack, snapshots of its three bases. */
export class EngineWorld {
  private pg!: PostgresServer;
  private ks!: KongStack;
  private base = "";
  private snaps!: Snapshots;
  private hashes!: Hashes;
  private xBin = "";
  private readonly rowCounts: Record<string, number> = {};
  /** Configuration rows missing at the end of a cell, over every cell run so far. */
  lostRows = 0;

  /** Starts PostgreSQL and the stack, then installs X, seeds it and upgrades it to Y (the bases). */
  async setUp(log: (m: string) => void = () => undefined): Promise<void> {
    this.pg = await startPostgres();
    await this.pg.createDatabase("kong", "kong", E2E_PASSWORD);
    process.env.KONG_PG_PASSWORD = E2E_PASSWORD;
    const pgPort = this.pg.port;
    this.ks = await createKongStack(
      "faults",
      X,
      (base) => {
        const bucket = join(base, "bucket");
        return {
          "kong-gateway:nodes": NODES,
          "kong-gateway:database": {
            mode: "existing",
            host: "127.0.0.1",
            port: pgPort,
            database: "kong",
            user: "kong",
          },
          // A shared database refuses a local-only backup (README "Running from CI"): a command
          // store over a plain directory stands in for object storage.
          "kong-gateway:backup": {
            store: "command",
            command: {
              put: `cp {file} ${bucket}/{name}`,
              get: `cp ${bucket}/{name} {file}`,
              list: `ls ${bucket}`,
              delete: `rm -f ${bucket}/{name}`,
            },
          },
          "kong-gateway:timeouts": { lockTimeoutSeconds: 2 },
        };
      },
      ENGINE_ENV,
    );
    this.base = dirname(this.ks.stateDir);
    mkdirSync(join(this.base, "bucket"));
    // The concurrent `kong migrations bootstrap` of the lock fault on an empty database.
    execFileSync(join(repo, "test/kong-sim/install"), [X, join(this.base, "kong-sim", X)]);
    this.xBin = join(this.base, "kong-sim", X, "bin", "kong");
    this.snaps = new Snapshots({
      pg: this.pg,
      root: join(this.base, "snapshots"),
      dirs: {
        state: this.ks.stateDir,
        backend: join(this.base, "backend"),
        bucket: join(this.base, "bucket"),
        stacks: join(this.base, "project", "stacks"),
      },
      spec: this.discoverySpec(),
    });
    await this.snaps.save("empty");
    const empty = configHash(this.pg, true);
    log(`engine faults: install ${X} (${NODES} nodes)`);
    mustUp(this.ks);
    const installed = configHash(this.pg, true);
    this.rowCounts[installed] = await configRows(this.pg);
    await seed(this.ks.adminUrl(0), { services: 8, consumers: 8 });
    await this.snaps.save("x");
    const x = configHash(this.pg);
    this.rowCounts[x] = await configRows(this.pg);
    log(`engine faults: upgrade ${X} → ${Y} (in-place)`);
    await this.ks.setVersion(Y);
    // The data after `kong migrations up` alone: read while `finish` is held at its start.
    let migratedUp = "";
    const up = await faultedUp(
      this.ks,
      this.base,
      { kind: "upgrade", step: "migrations-finish", pause: true },
      () => {
        migratedUp = configHash(this.pg);
        return Promise.resolve("read the data while finish was held");
      },
    );
    assert.equal(up.status, 0, `the upgrade ${X} → ${Y}:\n${tail(up.output)}`);
    const y = configHash(this.pg);
    this.rowCounts[y] = await configRows(this.pg);
    await this.snaps.save("y");
    this.hashes = { empty, installed, x, migratedUp, y };
    assert.notEqual(x, migratedUp, "`up` changes the data");
    assert.notEqual(migratedUp, y, "`finish` changes the data");
  }

  /** Stops every node and the server, and removes the stack's directory (no destroy: it is all local). */
  async tearDown(): Promise<void> {
    await this.snaps?.stopNodes().catch(() => undefined);
    await this.pg?.stop();
    if (this.base && !process.env.FAULTS_KEEP) {
      rmSync(this.base, { recursive: true, force: true });
    }
  }

  /** A spec of the stack's cluster, for finding its nodes (the program names it `kong`). */
  private discoverySpec(): StepSpec {
    const db = { host: "127.0.0.1", port: this.pg.port, database: "kong", user: "kong" };
    return {
      ...specBase({ ...db, password: "" }, this.ks.stateDir),
      kind: "install",
      to: X,
      generation: 1,
      nodes: [],
    };
  }

  /** The versions every node's Admin API reports. */
  private serving(): Promise<(string | undefined)[]> {
    return Promise.all(
      Array.from({ length: NODES }, (_, i) => servingVersion(this.ks.adminUrl(i))),
    );
  }

  /** The journal of the cell's attempt (the generation it ran as). */
  private journal(cell: Cell, generation: number): JournalEntry[] {
    const file = journalPath({
      stateDir: this.ks.stateDir,
      cluster: "kong",
      kind: cell.chain.kind,
      to: targetOf(cell.chain),
      generation,
    });
    return entriesIn(file);
  }

  /** The fault's effect on its step itself (faultsMatrix.ts `lockedStepEffect`). */
  private stepEffect(cell: Cell, effect: Effect, generation: number): Effect {
    return lockedStepEffect(cell, effect, this.journal(cell, generation));
  }

  /** Runs one cell and checks it converged with nothing lost. Throws when it did not. */
  async runCell(cell: Cell): Promise<CellResult> {
    const started = Date.now();
    const { chain, fault } = cell;
    const exp = expectations(chain, this.hashes);
    await this.snaps.restore(baseOf(chain));
    const restoreSeconds = (Date.now() - started) / 1000;
    const target = targetOf(chain);
    await this.ks.setVersion(target);
    if (chain.strategy && chain.strategy !== "in-place") {
      await this.ks.stack.setConfig("kong-gateway:strategy", { value: chain.strategy });
    }
    const generation = readAttempts(this.ks.stateDir)[`kong/${chain.kind}-${target}`] ?? 1;
    let lock: HeldLock | undefined;
    let r: Faulted;
    try {
      // `decommission` runs with the spec of the nodes it deletes: those of the base's chain.
      const kind = cell.step === "decommission" ? "install" : chain.kind;
      const pause = fault !== "fail";
      r = await faultedUp(
        this.ks,
        this.base,
        { kind, step: cell.step, pause },
        async (runner, up, faultDir) => {
          if (fault === "kill") {
            return killUp(this.ks.stateDir, faultDir, runner, up, cell.step === "decommission");
          }
          if (fault === "pg-restart") {
            return restartPostgres(this.pg);
          }
          lock = await takeLock(this.pg, this.xBin);
          return lock.evidence;
        },
      );
    } finally {
      await lock?.release();
    }

    let effect: Effect;
    const bumped =
      (readAttempts(this.ks.stateDir)[`kong/${chain.kind}-${target}`] ?? 1) > generation;
    if (fault === "kill") {
      if (cell.step !== "decommission") {
        assert.ok(
          !this.journal(cell, generation).some((e) => e.step === cell.step),
          "the killed step never finished (no journal entry)",
        );
      }
      effect = "killed";
    } else if (r.status === 0) {
      effect = "unaffected";
    } else if (bumped && chain.kind !== "install") {
      effect = "rolled back";
      const from = sourceOf(chain);
      assert.deepEqual(
        await this.serving(),
        Array(NODES).fill(from),
        `after the rollback ${from} serves:\n${tail(r.output)}`,
      );
      assert.equal(
        nameOf(configHash(this.pg), this.hashes),
        nameOf(afterRollback(cell, this.hashes, this.journal(cell, generation)), this.hashes),
        "after the rollback the data is as before (or as after `up`, X running on it)",
      );
    } else {
      effect = "failed";
      checkPlainFailure(cell, r.output);
      if (chain.kind !== "install" && cell.step !== "decommission") {
        assert.equal(configHash(this.pg), exp.before, "a refused preflight changed nothing");
      }
    }
    checkEffect(cell, this.stepEffect(cell, effect, generation), r.output);

    // Convergence: the README's recovery after a kill, then (or after a failure) `pulumi up`.
    if (effect === "killed") {
      recover(this.ks);
    }
    let converged = r.output;
    if (effect !== "unaffected") {
      converged = mustUp(this.ks);
    }
    const preview = pulumi(this.ks, ["preview", "--expect-no-changes"]);
    assert.equal(preview.status, 0, `pulumi preview shows changes:\n${tail(preview.output)}`);
    assert.deepEqual(
      await this.serving(),
      Array(NODES).fill(target),
      `${target} serves on every node after:\n${tail(converged, 120)}`,
    );
    const lost = (this.rowCounts[exp.after] ?? 0) - (await configRows(this.pg));
    this.lostRows += Math.max(0, lost);
    assert.equal(
      configHash(this.pg, exp.masked),
      exp.after,
      "0 rows lost: the configuration tables are as expected",
    );
    const seconds = (Date.now() - started) / 1000;
    return { cell, effect, evidence: r.evidence, seconds, restoreSeconds };
  }
}
