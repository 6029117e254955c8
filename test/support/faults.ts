/**
 * The fault matrix (test/support/faultsMatrix.ts) through the step runner: each cell drives the
 * runner as the command resources do (components/runner/run.ts, the bundle
 * `.tools/runner/run.js`, one process per step in its own process group, the spec and the
 * password in its environment, the step table's order from test/support/runner.ts
 * `runnerChain`), over a real PostgreSQL and stand-in Kong nodes. The fault lands at a known
 * moment through the runner's TEST-ONLY hook (components/runner/infra/testFault.ts): `fail`
 * makes the step fail; `pause` holds it at its start until the test has killed it, restarted
 * PostgreSQL or taken the migrations lock. Each cell starts from a snapshot taken before its
 * step (test/support/faultsSnapshot.ts), so one server and one set of installs serve every
 * cell. The same cells through a real `pulumi up` are test/support/faultsEngine.ts.
 */
import assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeSpec, StepSpec } from "../../components/contract/spec";
import { outageRun, Strategy } from "../../components/contract/steps";
import { entries, readAttempts } from "../../components/state/journal";
import { catalog } from "../../components/state/catalog";
import { TEST_FAULT_DIR_ENV, TEST_FAULT_ENV } from "../../components/runner/infra/testFault";
import { seed } from "../../scripts/seed";
import { E2E_PASSWORD } from "./e2e";
import {
  configHash,
  configRows,
  HeldLock,
  pausedRunner,
  pidAlive,
  restartPostgres,
  servingVersion,
  takeLock,
} from "./faultsEvidence";
import {
  afterRollback,
  baseOf,
  Cell,
  CellResult,
  ChainCase,
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
import { Snapshots } from "./faultsSnapshot";
import { freePort, PostgresServer, startPostgres } from "./postgres";
import { oneNodeSpec, RunResult, runnerChain, specBase, SpecBase } from "./runner";

const repo = join(__dirname, "../..");
/**
 * The runner bundle the cells run: this checkout's (`npx tsx scripts/build-runner.ts`), or one
 * built elsewhere with a guarantee broken on purpose, to watch the matrix go red.
 */
const bundle = process.env.FAULTS_RUNNER_BUNDLE ?? ".tools/runner/run.js";

/** A runner process (one step), started in its own process group as `pulumi up` starts it. */
interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<RunResult>;
}

/** The world every runner-level cell runs in: one PostgreSQL, the stand-in installs, snapshots. */
export class FaultWorld {
  private pg!: PostgresServer;
  private dir = "";
  private base!: SpecBase;
  private port = 0;
  private snaps!: Snapshots;
  private readonly bins: Record<string, string> = {};
  private hashes!: Hashes;
  private rollbackBackupId = "";
  private readonly rowCounts: Record<string, number> = {};
  /** Configuration rows missing at the end of a cell, over every cell run so far. */
  lostRows = 0;

  /** Starts PostgreSQL, installs X and Y, and prepares the three bases (empty, X, Y). */
  async setUp(log: (m: string) => void = () => undefined): Promise<void> {
    log("runner faults: installing the bases");
    this.pg = await startPostgres();
    await this.pg.createDatabase("kong", "kong", E2E_PASSWORD);
    this.dir = mkdtempSync(join(tmpdir(), "kong-gw-faults-"));
    chmodSync(this.dir, 0o755);
    for (const v of [X, Y]) {
      execFileSync(join(repo, "test/kong-sim/install"), [v, join(this.dir, "kong", v)]);
      this.bins[v] = join(this.dir, "kong", v, "bin", "kong");
    }
    this.port = await freePort();
    process.env.KONG_PG_PASSWORD = E2E_PASSWORD;
    this.base = {
      ...specBase(
        { host: "127.0.0.1", port: this.pg.port, database: "kong", user: "kong", password: "" },
        join(this.dir, "state"),
        { retention: 10 },
      ),
      timeouts: { quitSeconds: 5, startSeconds: 20, dbTimeoutSeconds: 10, lockTimeoutSeconds: 2 },
    };
    mkdirSync(this.base.stateDir, { recursive: true, mode: 0o700 });
    this.snaps = new Snapshots({
      pg: this.pg,
      root: join(this.dir, "snapshots"),
      dirs: { state: this.base.stateDir },
      spec: this.spec({ name: "install", kind: "install" }),
    });
    // Base "empty": nothing installed.
    await this.snaps.save("empty");
    const empty = configHash(this.pg, true);
    // Base "x": X installed and seeded, its node running.
    await this.mustRun(this.spec({ name: "install", kind: "install" }), this.order("install"));
    const installed = configHash(this.pg, true);
    this.rowCounts[installed] = await configRows(this.pg);
    await seed(this.spec({ name: "install", kind: "install" }).nodes[0]!.adminUrl, {
      services: 8,
      consumers: 8,
    });
    await this.snaps.save("x");
    const x = configHash(this.pg);
    this.rowCounts[x] = await configRows(this.pg);
    // The upgrade's two expected states: after `up` only (X still runs on it), and finished.
    const up: ChainCase = { name: "upgrade in-place", kind: "upgrade" };
    let migratedUp = "";
    for (const cmd of this.order("upgrade")) {
      await this.mustRun(this.specFor(up, cmd, 1), [cmd]);
    }
    const y = configHash(this.pg);
    this.rowCounts[y] = await configRows(this.pg);
    await this.snaps.save("y");
    // The in-place outage runs `up` and `finish` in one process (contract/steps.ts `outageRun`):
    // the state after `up` only is what `prepared` leaves before its stop.
    await this.snaps.restore("x");
    const prepared: ChainCase = { name: "upgrade prepared", kind: "upgrade", strategy: "prepared" };
    const toUp = this.order("upgrade", "prepared");
    for (const cmd of toUp.slice(0, toUp.indexOf("migrations-up") + 1)) {
      await this.mustRun(this.specFor(prepared, cmd, 1), [cmd]);
    }
    migratedUp = configHash(this.pg);
    await this.snaps.restore("y");
    this.hashes = { empty, installed, x, migratedUp, y };
    const b = catalog(this.base.backup.dir, "kong").find(
      (m) => m.fromVersion === X && m.toVersion === Y,
    );
    assert.ok(b, "the upgrade took its backup");
    this.rollbackBackupId = b.id;
    assert.notEqual(x, migratedUp, "`up` changes the data");
    assert.notEqual(migratedUp, y, "`finish` changes the data");
  }

  /** Stops every node and the server, and removes the temp directory. */
  async tearDown(): Promise<void> {
    await this.snaps?.stopNodes().catch(() => undefined);
    await this.pg?.stop();
    if (this.dir && !process.env.FAULTS_KEEP) {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** The step spec of `chain` at attempt `generation`, as the program builds it. */
  spec(chain: ChainCase, generation = 1): StepSpec {
    const to = targetOf(chain);
    const extra: Partial<StepSpec> = { generation };
    if (chain.kind === "upgrade") {
      Object.assign(extra, {
        from: X,
        ...(chain.strategy !== "in-place" ? { strategy: chain.strategy } : {}),
      });
    }
    if (chain.kind === "rollback") {
      Object.assign(extra, { from: Y, restoreBackupId: this.rollbackBackupId });
    }
    return oneNodeSpec(
      this.base,
      chain.kind,
      to,
      { kongBin: this.bins[to]!, port: this.port },
      extra,
    );
  }

  /** The runner commands of a chain, decommissioning the replaced node last (Pulumi's deletes). */
  order(kind: StepSpec["kind"], strategy?: Strategy): string[] {
    const cmds = runnerChain(kind, 1, strategy);
    return kind === "upgrade" ? [...cmds, "node-delete node-0"] : cmds;
  }

  /**
   * The index of the runner command that runs `step`: the outage's steps run in the process of
   * its first step (contract/steps.ts `outageRun`), so a fault in one of them lands in that
   * process, and the README's recovery runs that command again.
   */
  static commandOf(chain: ChainCase, cmds: readonly string[], step: string): number {
    const run: string[] = outageRun(chain.kind, chain.strategy ?? "in-place", true);
    const first = run.includes(step) ? (run[0] as string) : step;
    return cmds.findIndex((c) => FaultWorld.stepOf(c) === first);
  }

  /** The step-table name of a runner command. */
  static stepOf(cmd: string): string {
    return cmd.startsWith("node-start")
      ? "start"
      : cmd.startsWith("node-delete")
        ? "decommission"
        : cmd;
  }

  /**
   * The spec a runner command runs with: `node-delete` deletes the replaced node, so it runs
   * with the spec that node was created with (the base's chain).
   */
  private specFor(chain: ChainCase, cmd: string, generation: number): StepSpec {
    if (cmd.startsWith("node-delete")) {
      return this.spec({ name: "install", kind: "install" });
    }
    return this.spec(chain, generation);
  }

  /** Starts one runner command; `env` arms a fault. */
  private start(spec: StepSpec, cmd: string, env: Record<string, string> = {}): Running {
    const [name, arg] = cmd.split(" ");
    const child = spawn("node", [bundle, name!, ...(arg ? [arg] : [])], {
      cwd: repo,
      env: {
        ...process.env,
        KONG_GW_SPEC: encodeSpec(spec),
        KONG_PG_PASSWORD: E2E_PASSWORD,
        ...env,
      },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<RunResult>((resolve) =>
      child.on("exit", (code, signal) =>
        resolve({ code: code ?? (signal ? -1 : 0), stdout, stderr }),
      ),
    );
    return { child, done };
  }

  /** Runs `cmds` of `spec` in order; each must succeed. */
  private async mustRun(spec: StepSpec, cmds: readonly string[]): Promise<void> {
    for (const cmd of cmds) {
      const t0 = Date.now();
      const r = await this.start(spec, cmd).done;
      if (process.env.FAULTS_DEBUG) {
        process.stderr.write(`  ${cmd} ${spec.kind} g${spec.generation}: ${Date.now() - t0} ms\n`);
      }
      assert.equal(r.code, 0, `${cmd} of ${spec.kind} → ${spec.to} failed:\n${r.stderr}`);
    }
  }

  private readonly prepared = new Set<string>();

  /**
   * Runs `chain` once without a fault from its base, saving a snapshot before each of its
   * commands: a cell starts from the one before its step instead of re-running the steps before.
   */
  private async prepare(chain: ChainCase): Promise<void> {
    if (this.prepared.has(chain.name)) {
      return;
    }
    await this.snaps.restore(baseOf(chain));
    const cmds = this.order(chain.kind, chain.strategy);
    for (const [k, cmd] of cmds.entries()) {
      await this.snaps.save(this.prefixName(chain, k));
      await this.mustRun(this.specFor(chain, cmd, 1), [cmd]);
    }
    const exp = expectations(chain, this.hashes);
    assert.equal(configHash(this.pg, exp.masked), exp.after, `${chain.name} without a fault`);
    this.prepared.add(chain.name);
  }

  private prefixName(chain: ChainCase, k: number): string {
    return `${chain.name.replace(/\W/g, "_")}_${k}`;
  }

  /** The version serving now (node-0's Admin API), or undefined. */
  private serving(): Promise<string | undefined> {
    return servingVersion(`http://127.0.0.1:${this.port + 1}`);
  }

  /** Runs one cell and checks it converged with nothing lost. Throws when it did not. */
  async runCell(cell: Cell): Promise<CellResult> {
    const started = Date.now();
    const { chain, fault } = cell;
    const exp = expectations(chain, this.hashes);
    await this.prepare(chain);
    const cmds = this.order(chain.kind, chain.strategy);
    const at = FaultWorld.commandOf(chain, cmds, cell.step);
    assert.ok(at >= 0, `${cell.step} is a step of ${chain.name}`);
    await this.snaps.restore(this.prefixName(chain, at));
    let generation = 1;

    // The faulted step.
    const spec = this.specFor(chain, cmds[at]!, generation);
    const faultDir = mkdtempSync(join(this.dir, "fault-"));
    const run = this.start(spec, cmds[at]!, {
      [TEST_FAULT_ENV]: `${spec.kind}:${cell.step}:${fault === "fail" ? "fail" : "pause"}`,
      [TEST_FAULT_DIR_ENV]: faultDir,
    });
    let evidence = "the step failed on purpose (test fault)";
    let lock: HeldLock | undefined;
    let r: RunResult;
    try {
      if (fault !== "fail") {
        const pid = await pausedRunner(faultDir, cell.step, () => undefined, 60);
        assert.equal(pid, run.child.pid, "the paused process is the step's runner");
        if (fault === "kill") {
          process.kill(-run.child.pid!, "SIGKILL");
          evidence = `the step's runner (pid ${pid}) was paused in the step when its process group was killed`;
        } else if (fault === "pg-restart") {
          evidence = restartPostgres(this.pg);
        } else {
          lock = await takeLock(this.pg, this.bins[X]!);
          evidence = lock.evidence;
        }
        writeFileSync(join(faultDir, `${cell.step}.release`), "");
      }
      r = await run.done;
    } catch (e) {
      // A cell that went wrong leaves no paused runner behind.
      if (pidAlive(run.child.pid!)) {
        process.kill(-run.child.pid!, "SIGKILL");
      }
      throw e;
    }
    await lock?.release();
    rmSync(faultDir, { recursive: true, force: true });

    let effect: Effect;
    let resumeAt = at + 1;
    const attempts = readAttempts(this.base.stateDir);
    const bumped = (attempts[`kong/${chain.kind}-${spec.to}`] ?? 1) > generation;
    if (fault === "kill") {
      assert.equal(r.code, -1, "the runner was killed");
      assert.ok(!pidAlive(run.child.pid!), "nothing of the killed group runs on");
      if (cell.step !== "decommission") {
        assert.ok(
          !entries(spec).some((e) => e.step === cell.step),
          "the killed step never finished (no journal entry)",
        );
      }
      effect = "killed";
      resumeAt = at; // README "Recovering from an interrupted run": the step runs again.
    } else if (r.code === 0) {
      effect = "unaffected";
    } else if (bumped && chain.kind !== "install") {
      // The automatic rollback: the version before serves, with the data it had.
      effect = "rolled back";
      const from = sourceOf(chain);
      assert.equal(await this.serving(), from, `after the rollback ${from} serves:\n${r.stderr}`);
      assert.equal(
        nameOf(configHash(this.pg), this.hashes),
        nameOf(afterRollback(cell, this.hashes, entries(spec)), this.hashes),
        "after the rollback the data is as before (or as after `up`, X running on it)",
      );
      generation += 1; // the next `pulumi up` runs the whole chain again
      resumeAt = 0;
    } else {
      effect = "failed";
      resumeAt = at; // the next `pulumi up` runs the failed step again
      checkPlainFailure(cell, r.stderr);
      if (chain.kind !== "install" && cell.step !== "decommission") {
        assert.equal(configHash(this.pg), exp.before, "a refused preflight changed nothing");
      }
    }
    checkEffect(cell, lockedStepEffect(cell, effect, entries(spec)), r.stderr);

    // Convergence: the rest of the chain (or all of it again) without the fault.
    for (const cmd of cmds.slice(resumeAt)) {
      await this.mustRun(this.specFor(chain, cmd, generation), [cmd]);
    }
    const target = targetOf(chain);
    assert.equal(await this.serving(), target, `${target} serves at the end`);
    const lost = (this.rowCounts[exp.after] ?? 0) - (await configRows(this.pg));
    this.lostRows += Math.max(0, lost);
    assert.equal(
      configHash(this.pg, exp.masked),
      exp.after,
      "0 rows lost: the configuration tables are as expected",
    );
    return { cell, effect, evidence, seconds: (Date.now() - started) / 1000 };
  }
}
