/**
 * `npm run faults`: the whole fault matrix of issue #15 (test/support/faults.ts), every chain ×
 * every step × every fault, through the step runner over a real PostgreSQL. Prints one line per
 * cell and `fault matrix: N/N converged, 0 rows lost`; exits 1 when a cell did not converge.
 *
 *   npm run faults [-- <filter>]   e.g. `-- "upgrade prepared"` or `-- "/ lock"`
 */
import { allCells, CellResult, FaultWorld, label, summary } from "../test/support/faults";

async function main(filter: string | undefined): Promise<number> {
  const cells = allCells().filter((c) => !filter || label(c).includes(filter));
  const world = new FaultWorld();
  const results: CellResult[] = [];
  const failures: string[] = [];
  const started = Date.now();
  try {
    await world.setUp();
    for (const cell of cells) {
      try {
        const r = await world.runCell(cell);
        results.push(r);
        process.stdout.write(
          `ok   ${label(cell).padEnd(48)} ${r.effect.padEnd(11)} ${r.seconds.toFixed(1)}s  ${r.evidence}\n`,
        );
      } catch (e) {
        failures.push(`${label(cell)}: ${(e as Error).message}`);
        process.stdout.write(`FAIL ${label(cell)}: ${(e as Error).message.slice(0, 2000)}\n`);
      }
    }
  } finally {
    await world.tearDown();
  }
  process.stdout.write(
    `${summary(results.length, cells.length, world.lostRows)} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
  );
  return failures.length === 0 ? 0 : 1;
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`faults: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
