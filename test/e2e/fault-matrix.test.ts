/**
 * The fault matrix of issue #15 (test/support/faultsMatrix.ts), the part `npm test` runs; the
 * whole matrix (every step of every chain, 144 cells) is `npm run faults`, through the real
 * engine `npm run faults -- --engine`.
 *
 * Faults: the step fails, its process group (the engine: `pulumi up`'s) is killed while it runs,
 * PostgreSQL restarts while it runs, another `kong migrations` holds the lock.
 *
 * Through the step runner over a real PostgreSQL and stand-in nodes (test/support/faults.ts):
 * the install chain and an in-place upgrade, on the steps that matter most.
 *
 * Through the real engine (test/support/faultsEngine.ts): one cell per fault kind and per
 * strategy, each a real `pulumi up` of a 2-node local stack — a failure rolled back automatically,
 * the `pulumi up` process group killed while `kong migrations finish` runs (the step outlives it
 * in its own process group, then is killed too, as a lost machine; then the README's recovery:
 * `pulumi cancel`, `refresh --clear-pending-creates`, `up`), PostgreSQL restarted and the
 * migrations lock held while a step runs. Every cell must converge with the configuration tables'
 * data hash equal to the expected one; the engine cells also with `pulumi preview
 * --expect-no-changes` passing.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { progress } from "../support/e2e";
import { FaultWorld } from "../support/faults";
import { EngineWorld } from "../support/faultsEngine";
import { CellResult, cellsNamed, label, summary } from "../support/faultsMatrix";

/**
 * Runner-level cells: what the engine cells below leave out — the install chain (a concurrent
 * `kong migrations bootstrap` holding the lock; a kill), preflight's refusal while the lock is
 * held — and a failure and a PostgreSQL restart on an upgrade. Two chains, so two preparations.
 */
const RUNNER_CELLS = cellsNamed([
  ["install", "migrations-up", "lock"],
  ["install", "start", "kill"],
  ["upgrade in-place", "preflight", "lock"],
  ["upgrade in-place", "migrations-finish", "fail"],
  ["upgrade in-place", "backup", "pg-restart"],
]);

/** Engine cells: each fault kind once, each strategy once. */
const ENGINE_CELLS = cellsNamed([
  ["upgrade in-place", "migrations-finish", "kill"],
  ["upgrade prepared", "migrations-up", "lock"],
  ["upgrade rolling", "start", "fail"],
  // The lock outlives the faulted step and fails `finish`, which restores the backup.
  ["upgrade rolling", "verify", "lock"],
  ["rollback", "restore", "pg-restart"],
]);

/** The cells of one world as tests, and its result line last. */
function matrix(
  world: FaultWorld | EngineWorld,
  cells: readonly ReturnType<typeof cellsNamed>[number][],
  engine: boolean,
): void {
  const results: CellResult[] = [];
  const tag = engine ? "faults (engine)" : "faults";

  before(async () => {
    progress(`${tag}: installing 3.6.0, seeding, upgrading to 3.6.1 (the bases)`);
    await world.setUp((m) => progress(m));
  });

  after(async () => {
    await world.tearDown();
  });

  for (const cell of cells) {
    it(`${label(cell)}: converges with nothing lost`, async () => {
      const r = await world.runCell(cell);
      progress(`${tag}: ${label(cell)}: ${r.effect} (${r.evidence}) in ${r.seconds.toFixed(1)} s`);
      results.push(r);
    });
  }

  it("prints the matrix's result line", () => {
    const line = summary(results.length, cells.length, world.lostRows, engine);
    process.stdout.write(`${line}\n`);
    assert.equal(line, summary(cells.length, cells.length, 0, engine));
  });
}

// The two worlds run side by side (each its own PostgreSQL, ports and directories; the runner
// world mostly waits on processes while the engine's works), their cells one at a time.
describe("fault matrix", { concurrency: 2 }, () => {
  describe(
    "through the step runner (npm run faults runs all 144)",
    { concurrency: 1, timeout: 600_000 },
    () => matrix(new FaultWorld(), RUNNER_CELLS, false),
  );
  describe(
    "through the real engine (npm run faults -- --engine runs all 144)",
    { concurrency: 1, timeout: 900_000 },
    () => matrix(new EngineWorld(), ENGINE_CELLS, true),
  );
});
