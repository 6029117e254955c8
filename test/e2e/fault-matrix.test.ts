/**
 * The fault matrix of issue #15, the part `npm test` runs: for each chain (install, upgrade
 * in-place / prepared / rolling, rollback by version) and each fault (the step fails, the
 * process group is killed while it runs, PostgreSQL restarts while it runs, another
 * `kong migrations` holds the lock) the cells below, through the step runner over a real
 * PostgreSQL and stand-in nodes (test/support/faults.ts). Every cell must converge — automatic
 * rollback then the next run, or the README's recovery after a kill — with the configuration
 * tables' data hash equal to the expected one. The whole matrix (every step of every chain,
 * 144 cells) is `npm run faults`.
 *
 * One cell also runs through the real engine: `pulumi up` of an in-place upgrade, its process
 * group killed while `kong migrations finish` runs (the runner of that step, paused by the
 * test-only hook, is in a process group of its own — the command provider's — and outlives it,
 * so that group is killed too, as a lost machine would), then the README's recovery
 * (`pulumi cancel`, `refresh --clear-pending-creates`, `up`) and `preview --expect-no-changes`.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalWorkspace } from "@pulumi/pulumi/automation";
import { TEST_FAULT_DIR_ENV, TEST_FAULT_ENV } from "../../components/runner/infra/testFault";
import { seed } from "../../scripts/seed";
import { repoRoot } from "../support/engine";
import { adminVersion, entityCounts, progress, sql } from "../support/e2e";
import { createKongStack, KongStack } from "../support/kongStack";
import {
  CellResult,
  CHAINS,
  Fault,
  FaultWorld,
  label,
  summary,
  type Cell,
} from "../support/faults";

/** [chain, step, fault]: each chain, and each fault at least twice, on the steps that matter most. */
const SUBSET: readonly [string, string, Fault][] = [
  ["install", "migrations-up", "lock"],
  ["install", "start", "kill"],
  ["upgrade in-place", "migrations-finish", "fail"],
  ["upgrade in-place", "backup", "pg-restart"],
  ["upgrade prepared", "migrations-finish", "lock"],
  ["upgrade rolling", "preflight", "lock"],
  ["upgrade rolling", "start", "kill"],
  ["rollback", "restore", "fail"],
  ["rollback", "restore", "pg-restart"],
];

const cells: Cell[] = SUBSET.map(([chain, step, fault]) => ({
  chain: CHAINS.find((c) => c.name === chain)!,
  step,
  fault,
}));

describe(
  "fault matrix (npm test's cells; npm run faults runs all 144)",
  { timeout: 600_000 },
  () => {
    const world = new FaultWorld();
    const results: CellResult[] = [];

    before(async () => {
      progress("faults: installing 3.6.0, seeding, upgrading to 3.6.1 (the bases)");
      await world.setUp();
    });

    after(async () => {
      await world.tearDown();
    });

    for (const cell of cells) {
      it(`${label(cell)}: converges with nothing lost`, async () => {
        const r = await world.runCell(cell);
        progress(
          `faults: ${label(cell)}: ${r.effect} (${r.evidence}) in ${r.seconds.toFixed(1)} s`,
        );
        results.push(r);
      });
    }

    it("prints the matrix's result line", () => {
      const line = summary(results.length, cells.length, world.lostRows);
      process.stdout.write(`${line}\n`);
      assert.equal(line, `fault matrix: ${cells.length}/${cells.length} converged, 0 rows lost`);
    });
  },
);

/** Runs the project's CLI on the stack, as a user would. */
function cli(ks: KongStack, args: string[]): { status: number | null; output: string } {
  const ws = ks.stack.workspace as LocalWorkspace;
  const r = spawnSync(
    join(repoRoot, ".tools/bin/pulumi"),
    [...args, "-s", ks.stack.name, "--non-interactive"],
    { cwd: ws.workDir, env: { ...process.env, ...ws.envVars }, encoding: "utf8" },
  );
  return { status: r.status, output: r.stdout + r.stderr };
}

/** The process group of `pid` (/proc/<pid>/stat), or undefined when it is gone. */
function processGroup(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  } catch {
    return undefined;
  }
}

describe("fault matrix through the real engine", { timeout: 600_000 }, () => {
  let ks: KongStack;

  before(async () => {
    ks = await createKongStack("faults", "3.6.0", {
      "kong-gateway:nodes": 1,
      "kong-gateway:timeouts": { lockTimeoutSeconds: 2 },
    });
    progress("faults: engine: install 3.6.0");
    await ks.stack.up();
    await seed(ks.adminUrl(0), { services: 8, consumers: 8 });
  });

  after(async () => {
    await ks?.dispose();
  });

  it("upgrade in-place / migrations-finish / kill: the README's recovery converges, preview shows no changes", async () => {
    const rows = await entityCounts(ks);
    await ks.setVersion("3.6.1");
    const ws = ks.stack.workspace as LocalWorkspace;
    const faultDir = mkdtempSync(join(tmpdir(), "kong-gw-fault-"));
    ws.envVars[TEST_FAULT_ENV] = "upgrade:migrations-finish:pause";
    ws.envVars[TEST_FAULT_DIR_ENV] = faultDir;
    const up = spawn(
      join(repoRoot, ".tools/bin/pulumi"),
      ["up", "--yes", "--skip-preview", "-s", ks.stack.name, "--non-interactive"],
      { cwd: ws.workDir, env: { ...process.env, ...ws.envVars }, detached: true, stdio: "ignore" },
    );
    const exited = new Promise((r) => up.on("exit", r));
    const marker = join(faultDir, "migrations-finish.paused");
    const deadline = Date.now() + 300_000;
    while (!existsSync(marker) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(existsSync(marker), "migrations-finish started");
    const runner = Number(readFileSync(marker, "utf8"));
    const group = processGroup(runner);
    assert.ok(group !== undefined, "the step's runner runs");
    progress(`faults: engine: killing the pulumi up process group during migrations-finish`);
    process.kill(-up.pid!, "SIGKILL");
    await exited;
    // The command provider starts each command in a process group of its own
    // (tools/command-provider/local.go), so the step outlives the killed `pulumi up`; a lost
    // machine takes it too.
    assert.notEqual(group, up.pid, "the step runs in a process group of its own");
    assert.equal(processGroup(runner), group, "the step outlived the pulumi up process group");
    process.kill(-group!, "SIGKILL");
    const gone = Date.now() + 10_000;
    while (processGroup(runner) !== undefined && Date.now() < gone) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(
      processGroup(runner),
      undefined,
      "the kill landed in the step: its runner is gone",
    );
    const pending = await sql<{ n: number }>(
      ks,
      "SELECT count(*)::int AS n FROM schema_meta WHERE cardinality(pending) > 0",
    );
    assert.ok(pending[0]!.n > 0, "the killed finish left its migrations pending");
    delete ws.envVars[TEST_FAULT_ENV];
    delete ws.envVars[TEST_FAULT_DIR_ENV];
    rmSync(faultDir, { recursive: true, force: true });

    progress("faults: engine: cancel, refresh --clear-pending-creates, up");
    assert.match(cli(ks, ["refresh", "--yes", "--skip-preview"]).output, /currently locked/);
    const cancel = cli(ks, ["cancel", "--yes"]);
    assert.equal(cancel.status, 0, cancel.output);
    const refresh = cli(ks, ["refresh", "--clear-pending-creates", "--yes", "--skip-preview"]);
    assert.equal(refresh.status, 0, refresh.output);
    assert.equal((await ks.stack.up()).summary.result, "succeeded");
    await ks.stack.preview({ expectNoChanges: true });
    assert.equal(await adminVersion(ks), "3.6.1");
    assert.deepEqual(await entityCounts(ks), rows, "0 rows lost");
    const left = await sql<{ n: number }>(
      ks,
      "SELECT count(*)::int AS n FROM schema_meta WHERE cardinality(pending) > 0",
    );
    assert.equal(left[0]!.n, 0, "finish completed");
  });
});
