/**
 * `npm run faults`: the whole fault matrix of issue #15 (test/support/faultsMatrix.ts), every
 * chain × every step × every fault. By default through the step runner over a real PostgreSQL
 * (test/support/faults.ts); with `--engine`, each cell a real `pulumi up` of a local stack, with
 * the README's recovery and `pulumi preview --expect-no-changes` (test/support/faultsEngine.ts).
 * Prints one line per cell and `fault matrix[ (engine)]: N/N converged, 0 rows lost`; exits 1
 * when a cell did not converge.
 *
 *   npm run faults [-- [--engine] [--minutes <n>] [<filter>]]
 *     e.g. `-- "upgrade prepared"`, `-- --engine "/ lock|rollback"` (`|`: any of them);
 *     `--minutes` starts no cell after n
 *     minutes (the line then counts the cells run and names those left).
 */
import { FaultWorld } from "../test/support/faults";
import { EngineWorld } from "../test/support/faultsEngine";
import { allCells, CellResult, label, summary } from "../test/support/faultsMatrix";

async function main(argv: string[]): Promise<number> {
  const engine = argv.includes("--engine");
  const at = argv.indexOf("--minutes");
  const minutes = at >= 0 ? Number(argv[at + 1]) : Infinity;
  if (!(minutes > 0)) {
    throw new Error(`--minutes ${argv[at + 1]} is not a positive number of minutes`);
  }
  const filter = argv.find((a, i) => a !== "--engine" && !(at >= 0 && (i === at || i === at + 1)));
  // `a|b`: the cells whose label contains any of them.
  const parts = filter?.split("|") ?? [];
  const cells = allCells().filter((c) => !filter || parts.some((p) => label(c).includes(p)));
  const world = engine ? new EngineWorld() : new FaultWorld();
  const results: CellResult[] = [];
  const left: string[] = [];
  const started = Date.now();
  const log = (m: string) => process.stdout.write(`${m}\n`);
  try {
    await world.setUp(log);
    log(`set up in ${((Date.now() - started) / 1000).toFixed(0)} s; ${cells.length} cells`);
    for (const cell of cells) {
      if (Date.now() - started > minutes * 60_000) {
        left.push(label(cell));
        continue;
      }
      try {
        const r = await world.runCell(cell);
        results.push(r);
        const restore =
          r.restoreSeconds !== undefined ? ` (restore ${r.restoreSeconds.toFixed(1)}s)` : "";
        log(
          `ok   ${label(cell).padEnd(48)} ${r.effect.padEnd(11)} ${r.seconds.toFixed(1)}s${restore}  ${r.evidence}`,
        );
      } catch (e) {
        log(`FAIL ${label(cell)}: ${(e as Error).message.slice(-6000)}`);
      }
    }
  } finally {
    await world.tearDown();
  }
  const seconds = (Date.now() - started) / 1000;
  const perCell =
    results.length > 0 ? results.reduce((t, r) => t + r.seconds, 0) / results.length : 0;
  log(
    `${summary(results.length, cells.length - left.length, world.lostRows, engine)} (${seconds.toFixed(0)} s; ${perCell.toFixed(1)} s per converged cell)`,
  );
  if (left.length > 0) {
    log(`not run (--minutes ${minutes}): ${left.length} cells, from ${left[0]} to ${left.at(-1)}`);
  }
  return results.length === cells.length - left.length ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`faults: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
