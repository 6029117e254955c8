/**
 * The fault matrix (issue #15): every chain (install, upgrade per strategy, rollback by version),
 * every step of it, four faults — the step fails, the `pulumi up` process group is killed while
 * the step runs, PostgreSQL restarts while it runs, another `kong migrations` holds the lock — and
 * each cell must converge (automatic rollback, then the next `pulumi up`; or the README's
 * recovery after a kill) with the configuration tables' data hash equal to the expected one.
 *
 * Cells drive the step runner as the command resources do (components/runner/run.ts, the bundle
 * `.tools/runner/run.js`, one process per step in its own process group, the spec and the
 * password in its environment, the step table's order from test/support/runner.ts
 * `runnerChain`), over a real PostgreSQL and stand-in Kong nodes. The fault lands at a known
 * moment through the runner's TEST-ONLY hook (components/runner/infra/testFault.ts): `fail`
 * makes the step fail; `pause` holds it at its start until the test has killed it, restarted
 * PostgreSQL or taken the migrations lock. Between cells the database is re-created from a
 * template and the state directory copied back, so one server and one set of installs serve
 * every cell. The real engine's part (kill, `pulumi cancel`, `refresh --clear-pending-creates`,
 * `up`, `preview --expect-no-changes`) is test/e2e/interrupted.test.ts and the engine row of
 * test/e2e/fault-matrix.test.ts.
 */
import assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeSpec, StepSpec } from "../../components/contract/spec";
import { chainOrder, restoreOnFailure, Strategy } from "../../components/contract/steps";
import { entries, readAttempts } from "../../components/state/journal";
import { catalog } from "../../components/state/catalog";
import { runtimeFor } from "../../components/runner/runtimes/runtime";
import * as steps from "../../components/runner/steps/chain";
import { TEST_FAULT_DIR_ENV, TEST_FAULT_ENV } from "../../components/runner/infra/testFault";
import { seed } from "../../scripts/seed";
import { dataHash, E2E_PASSWORD, versionAt } from "./e2e";
import { freePort, PostgresServer, startPostgres } from "./postgres";
import { oneNodeSpec, RunResult, runnerChain, specBase, SpecBase } from "./runner";

const repo = join(__dirname, "../..");
const pgScript = join(repo, "scripts/pg-server.sh");
/**
 * The runner bundle the cells run: this checkout's (`npx tsx scripts/build-runner.ts`), or one
 * built elsewhere with a guarantee broken on purpose, to watch the matrix go red.
 */
const bundle = process.env.FAULTS_RUNNER_BUNDLE ?? ".tools/runner/run.js";

/** What goes wrong while a step runs. */
export type Fault = "fail" | "kill" | "pg-restart" | "lock";

/** Every fault, in the matrix's column order. */
export const FAULTS: readonly Fault[] = ["fail", "kill", "pg-restart", "lock"];

/** One chain of the matrix. */
export interface ChainCase {
  readonly name: string;
  readonly kind: StepSpec["kind"];
  readonly strategy?: Strategy;
}

/** The chains: install, the upgrade per strategy, the rollback by version. */
export const CHAINS: readonly ChainCase[] = [
  { name: "install", kind: "install" },
  { name: "upgrade in-place", kind: "upgrade", strategy: "in-place" },
  { name: "upgrade prepared", kind: "upgrade", strategy: "prepared" },
  { name: "upgrade rolling", kind: "upgrade", strategy: "rolling" },
  { name: "rollback", kind: "rollback" },
];

/** One cell: a chain, one of its steps, one fault. */
export interface Cell {
  readonly chain: ChainCase;
  readonly step: string;
  readonly fault: Fault;
}

/** Every cell of the matrix, chain by chain, step by step (the step table's order). */
export function allCells(): Cell[] {
  return CHAINS.flatMap((chain) =>
    chainOrder(chain.kind, chain.strategy).flatMap((step) =>
      FAULTS.map((fault) => ({ chain, step, fault })),
    ),
  );
}

/** A cell's label, e.g. `upgrade prepared / migrations-up / kill`. */
export function label(c: Cell): string {
  return `${c.chain.name} / ${c.step} / ${c.fault}`;
}

/** What happened in one cell. */
export interface CellResult {
  readonly cell: Cell;
  /** How the fault showed: the step went on unaffected, failed (rolled back or not), was killed. */
  readonly effect: "unaffected" | "failed" | "rolled back" | "killed";
  /** The evidence that the fault landed in the step (pid, lock row, restart). */
  readonly evidence: string;
  readonly seconds: number;
}

/** The installed versions: X (installed), Y (upgraded to, with a teardown left for `finish`). */
const X = "3.6.0";
const Y = "3.6.1";

/** A runner process (one step), started in its own process group as `pulumi up` starts it. */
interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<RunResult>;
}

/** The world every cell runs in: one PostgreSQL, the stand-in installs, snapshots of each base. */
export class FaultWorld {
  private pg!: PostgresServer;
  private dir = "";
  private base!: SpecBase;
  private port = 0;
  private readonly bins: Record<string, string> = {};
  private readonly hashes: Record<string, string> = {};
  private rollbackBackupId = "";
  private readonly rowCounts: Record<string, number> = {};
  /** Configuration rows missing at the end of a cell, over every cell run so far. */
  lostRows = 0;

  /** Starts PostgreSQL, installs X and Y, and prepares the three bases (empty, X, Y). */
  async setUp(): Promise<void> {
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
    // Base "empty": nothing installed.
    await this.snapshot("empty");
    this.hashes.empty = this.hash(true);
    // Base "x": X installed and seeded, its node running.
    await this.mustRun(this.spec({ name: "install", kind: "install" }), this.order("install"));
    this.hashes.installed = this.hash(true);
    this.rowCounts[this.hashes.installed] = await this.rows();
    await seed(this.spec({ name: "install", kind: "install" }).nodes[0]!.adminUrl, {
      services: 8,
      consumers: 8,
    });
    await this.snapshot("x");
    this.hashes.x = this.hash();
    this.rowCounts[this.hashes.x] = await this.rows();
    // The upgrade's two expected states: after `up` only (X still runs on it), and finished.
    const up: ChainCase = { name: "upgrade in-place", kind: "upgrade" };
    const upCmds = this.order("upgrade");
    for (const [k, cmd] of upCmds.entries()) {
      if (k === 4) {
        this.hashes.migratedUp = this.hash();
      }
      await this.mustRun(this.specFor(up, cmd, 1), [cmd]);
    }
    this.hashes.y = this.hash();
    this.rowCounts[this.hashes.y] = await this.rows();
    await this.snapshot("y");
    const b = catalog(this.base.backup.dir, "kong").find(
      (m) => m.fromVersion === X && m.toVersion === Y,
    );
    assert.ok(b, "the upgrade took its backup");
    this.rollbackBackupId = b.id;
    assert.notEqual(this.hashes.x, this.hashes.migratedUp, "`up` changes the data");
    assert.notEqual(this.hashes.migratedUp, this.hashes.y, "`finish` changes the data");
  }

  /** Stops every node and the server, and removes the temp directory. */
  async tearDown(): Promise<void> {
    await this.stopNodes().catch(() => undefined);
    await this.pg?.stop();
    if (this.dir && !process.env.FAULTS_KEEP) {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** The step spec of `chain` at attempt `generation`, as the program builds it. */
  spec(chain: ChainCase, generation = 1): StepSpec {
    const to = chain.kind === "upgrade" ? Y : X;
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

  /**
   * The hash of the configuration tables now (test/support/e2e.ts `dataHash`). `bootstrap`
   * makes up the cluster id and the default workspace's id and creation time afresh each time,
   * so an install is compared with ids and times masked (it writes no other row); every other
   * chain starts from a copy of one database and is compared byte for byte.
   */
  hash(masked = false): string {
    const h = dataHash({ dbPort: this.pg.port });
    if (!masked) {
      return h;
    }
    const text = readFileSync(join(tmpdir(), `kong-gw-datahash-${h.slice(0, 12)}.sql`), "utf8")
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
      .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00/g, "<time>");
    return `masked:${createHash("sha256").update(text).digest("hex")}`;
  }

  /** The hash to compare with the expectations of `chain` (see {@link hash}). */
  private hashFor(chain: ChainCase): string {
    return this.hash(chain.kind === "install");
  }

  /** Rows of the configuration entities (components/runner/steps/chain.ts ENTITY_TABLES). */
  private async rows(): Promise<number> {
    const tables = await this.pg.query<{ t: string }>(
      "kong",
      "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'",
    );
    const present = new Set(tables.map((r) => r.t));
    let n = 0;
    for (const t of steps.ENTITY_TABLES.filter((t) => present.has(t))) {
      const r = await this.pg.query<{ n: number }>("kong", `SELECT count(*)::int AS n FROM ${t}`);
      n += r[0]!.n;
    }
    return n;
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

  /** Stops every node of the cluster, whatever its version (before the state directory goes). */
  private async stopNodes(): Promise<void> {
    await steps.stop({ ...this.spec({ name: "install", kind: "install" }), nodes: [] });
  }

  private snapDir(name: string): string {
    return join(this.dir, "snapshots", name);
  }

  /** Drops every connection to `kong` and runs `sql` (a template copy needs it alone). */
  private async exclusively(sql: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.pg.query(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'kong' AND pid <> pg_backend_pid()",
      );
      try {
        await this.pg.query("postgres", sql);
        return;
      } catch (e) {
        // A running node may reconnect in between: try again.
        if (attempt >= 10 || !/being accessed by other users/.test((e as Error).message)) {
          throw e;
        }
      }
    }
  }

  /**
   * Saves the database (as a template database), the state directory and which nodes run, as
   * snapshot `name`.
   */
  private async snapshot(name: string): Promise<void> {
    const db = `snap_${name}`;
    await this.pg.query("postgres", `DROP DATABASE IF EXISTS "${db}"`);
    await this.exclusively(`CREATE DATABASE "${db}" TEMPLATE kong OWNER kong`);
    const rt = runtimeFor(this.spec({ name: "install", kind: "install" }));
    const recs = await rt.discover();
    const alive = await Promise.all(recs.map((r) => rt.running(r)));
    const dir = this.snapDir(name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    cpSync(this.base.stateDir, join(dir, "state"), { recursive: true });
    const running = recs.filter((_, i) => alive[i]).map((r) => r.prefix);
    writeFileSync(join(dir, "running.json"), JSON.stringify(running));
  }

  /** Puts snapshot `name` back: nodes stopped, state and database as saved, its nodes running. */
  private async restore(name: string): Promise<void> {
    await this.stopNodes();
    rmSync(this.base.stateDir, { recursive: true, force: true });
    cpSync(join(this.snapDir(name), "state"), this.base.stateDir, { recursive: true });
    await this.exclusively("DROP DATABASE kong");
    await this.pg.query("postgres", `CREATE DATABASE kong TEMPLATE "snap_${name}" OWNER kong`);
    const running = JSON.parse(
      readFileSync(join(this.snapDir(name), "running.json"), "utf8"),
    ) as string[];
    const rt = runtimeFor(this.spec({ name: "install", kind: "install" }));
    for (const rec of (await rt.discover()).filter((r) => running.includes(r.prefix))) {
      await rt.start(rec, this.base.timeouts.startSeconds);
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
    await this.restore(this.expectations(chain).base);
    const cmds = this.order(chain.kind, chain.strategy);
    for (const [k, cmd] of cmds.entries()) {
      await this.snapshot(this.prefixName(chain, k));
      await this.mustRun(this.specFor(chain, cmd, 1), [cmd]);
    }
    assert.equal(
      this.hashFor(chain),
      this.expectations(chain).after,
      `${chain.name} without a fault`,
    );
    this.prepared.add(chain.name);
  }

  private prefixName(chain: ChainCase, k: number): string {
    return `${chain.name.replace(/\W/g, "_")}_${k}`;
  }

  /** The base a chain starts from, its version and the hashes it must end with. */
  private expectations(chain: ChainCase): { base: string; before: string; after: string } {
    if (chain.kind === "install") {
      return { base: "empty", before: this.hashes.empty!, after: this.hashes.installed! };
    }
    if (chain.kind === "upgrade") {
      return { base: "x", before: this.hashes.x!, after: this.hashes.y! };
    }
    return { base: "y", before: this.hashes.y!, after: this.hashes.x! };
  }

  /** The version serving now (node-0's Admin API), or undefined. */
  private serving(): Promise<string | undefined> {
    return versionAt(`http://127.0.0.1:${this.port + 1}`);
  }

  /** Restarts PostgreSQL (fast shutdown: every connection is cut), then waits until it serves. */
  private restartPostgres(): string {
    const env = { ...process.env, PGPASSWORD: this.pg.password };
    execFileSync("bash", [pgScript, "stop", this.pg.dir], { env });
    const stopped = spawnStatus(this.pg.dir);
    execFileSync("bash", [pgScript, "start", this.pg.dir, String(this.pg.port)], { env });
    assert.equal(stopped, false, "PostgreSQL was down between the stop and the start");
    return "PostgreSQL stopped and started again while the step was paused";
  }

  /**
   * Another `kong migrations` takes the migrations lock. With Kong's tables there, its lock row
   * (KONG.md §2, held for an hour); on a database not bootstrapped yet, a real concurrent
   * `kong migrations bootstrap` of X, slowed inside its first migration so it holds the lock.
   */
  private async takeLock(): Promise<{ evidence: string; release: () => Promise<void> }> {
    const tables = await this.pg.query<{ n: number }>(
      "kong",
      "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'locks'",
    );
    if (tables[0]!.n === 1) {
      await this.pg.query(
        "kong",
        "INSERT INTO locks (key, owner, ttl) VALUES ('migrations', 'fault-matrix', now() + interval '1 hour')",
      );
      return {
        evidence: "locks row 'migrations' held by fault-matrix",
        release: async () => {
          await this.pg.query("kong", "DELETE FROM locks WHERE owner = 'fault-matrix'");
        },
      };
    }
    const other = spawn(this.bins[X]!, ["migrations", "bootstrap"], {
      env: {
        ...process.env,
        KONG_DATABASE: "postgres",
        KONG_PG_HOST: "127.0.0.1",
        KONG_PG_PORT: String(this.pg.port),
        KONG_PG_USER: "kong",
        KONG_PG_PASSWORD: E2E_PASSWORD,
        KONG_PG_DATABASE: "kong",
        KONG_SIM_SLOW_MIGRATION: "core/000_base:3000",
      },
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((r) => other.on("exit", (code) => r(code)));
    const owner = await waitFor(async () => {
      const rows = await this.pg
        .query<{ owner: string }>("kong", "SELECT owner FROM locks WHERE key = 'migrations'")
        .catch(() => []);
      return rows[0]?.owner;
    }, "the concurrent kong migrations bootstrap to take the lock");
    return {
      evidence: `locks row 'migrations' held by a concurrent kong migrations bootstrap (${owner})`,
      release: async () => {
        assert.equal(await exited, 0, "the concurrent bootstrap ended well");
      },
    };
  }

  /** Runs one cell and checks it converged with nothing lost. Throws when it did not. */
  async runCell(cell: Cell): Promise<CellResult> {
    const started = Date.now();
    const { chain, fault } = cell;
    const exp = this.expectations(chain);
    await this.prepare(chain);
    const cmds = this.order(chain.kind, chain.strategy);
    const at = cmds.findIndex((c) => FaultWorld.stepOf(c) === cell.step);
    assert.ok(at >= 0, `${cell.step} is a step of ${chain.name}`);
    const t0 = Date.now();
    await this.restore(this.prefixName(chain, at));
    if (process.env.FAULTS_DEBUG) {
      process.stderr.write(`  restore before ${cell.step}: ${Date.now() - t0} ms\n`);
    }
    let generation = 1;

    // The faulted step.
    const spec = this.specFor(chain, cmds[at]!, generation);
    const faultDir = mkdtempSync(join(this.dir, "fault-"));
    const env = {
      [TEST_FAULT_ENV]: `${spec.kind}:${cell.step}:${fault === "fail" ? "fail" : "pause"}`,
      [TEST_FAULT_DIR_ENV]: faultDir,
    };
    const run = this.start(spec, cmds[at]!, env);
    let evidence = "the step failed on purpose (test fault)";
    let release = async () => undefined as void;
    let r: RunResult;
    try {
      if (fault !== "fail") {
        const marker = join(faultDir, `${cell.step}.paused`);
        const pid = Number(
          await waitFor(
            async () => (existsSync(marker) ? readFileSync(marker, "utf8") : undefined),
            `${label(cell)} to pause`,
          ),
        );
        assert.equal(pid, run.child.pid, "the paused process is the step's runner");
        if (fault === "kill") {
          process.kill(-run.child.pid!, "SIGKILL");
          evidence = `the step's runner (pid ${pid}) was paused in the step when its process group was killed`;
        } else if (fault === "pg-restart") {
          evidence = this.restartPostgres();
        } else {
          const lock = await this.takeLock();
          evidence = lock.evidence;
          release = lock.release;
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
    await release();
    rmSync(faultDir, { recursive: true, force: true });

    let effect: CellResult["effect"];
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
      assert.notEqual(fault, "fail", `a failed ${cell.step} exited 0`);
      effect = "unaffected";
    } else if (bumped && chain.kind !== "install") {
      // The automatic rollback: the version before serves, with the data it had.
      effect = "rolled back";
      const from = chain.kind === "upgrade" ? X : Y;
      assert.equal(await this.serving(), from, `after the rollback ${from} serves:\n${r.stderr}`);
      const migratedUp = entries(spec).some(
        (e) => e.step === "migrations-up" && e.ok && e.details?.state !== "up-to-date",
      );
      const keptMigrated =
        chain.kind === "upgrade" &&
        !restoreOnFailure(chain.kind, chain.strategy ?? "in-place", cell.step as never) &&
        migratedUp;
      const expected = keptMigrated ? this.hashes.migratedUp! : exp.before;
      assert.equal(
        this.hash(),
        expected,
        `after the rollback the data is as ${keptMigrated ? "after `up`" : "before"}`,
      );
      generation += 1; // the next `pulumi up` runs the whole chain again
      resumeAt = 0;
    } else {
      effect = "failed";
      resumeAt = at; // the next `pulumi up` runs the failed step again
      if (chain.kind !== "install" && cell.step !== "decommission") {
        assert.equal(
          cell.step,
          "preflight",
          `only preflight fails without a rollback:\n${r.stderr}`,
        );
        assert.equal(this.hashFor(chain), exp.before, "a refused preflight changed nothing");
      }
    }
    if (fault === "pg-restart") {
      // The server is back before the step does its work: every step copes (verify gives the
      // nodes a few seconds to reconnect), nothing fails or rolls back.
      assert.equal(
        effect,
        "unaffected",
        `${cell.step} copes with a PostgreSQL restart:\n${r.stderr}`,
      );
    } else if (fault === "lock" && cell.step === "preflight") {
      // Refused before anything stops (components/runner/steps/chain.ts preflight).
      assert.equal(effect, "failed", "preflight refuses while another kong migrations runs");
      assert.match(
        r.stderr,
        /another 'kong migrations' is running .* the migrations lock is held by/,
      );
    } else if (fault === "lock" && !["migrations-up", "migrations-finish"].includes(cell.step)) {
      assert.equal(
        effect,
        "unaffected",
        `${cell.step} does not take the migrations lock:\n${r.stderr}`,
      );
    }

    // Convergence: the rest of the chain (or all of it again) without the fault.
    for (const cmd of cmds.slice(resumeAt)) {
      await this.mustRun(this.specFor(chain, cmd, generation), [cmd]);
    }
    const target = chain.kind === "upgrade" ? Y : X;
    assert.equal(await this.serving(), target, `${target} serves at the end`);
    const lost = (this.rowCounts[exp.after] ?? 0) - (await this.rows());
    this.lostRows += Math.max(0, lost);
    assert.equal(
      this.hashFor(chain),
      exp.after,
      "0 rows lost: the configuration tables are as expected",
    );
    return { cell, effect, evidence, seconds: (Date.now() - started) / 1000 };
  }
}

/** Whether PostgreSQL in `dir` runs (pg-server.sh status). */
function spawnStatus(dir: string): boolean {
  try {
    execFileSync("bash", [pgScript, "status", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `probe` every 20 ms until it yields a value (60 s at most). */
async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) {
      return v;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The matrix's result line: cells that converged of those run, and rows lost over all of them. */
export function summary(converged: number, run: number, lostRows: number): string {
  return `fault matrix: ${converged}/${run} converged, ${lostRows} rows lost`;
}
