/**
 * Runs test files through node's own test runner (`run()` from node:test, its spec reporter and
 * summary), `concurrency` files at a time, each in its own process, STARTED IN THE ORDER GIVEN:
 * `node --test a b c` sorts the files by name, so a long end-to-end file could start last and
 * run alone for minutes; scripts/test.sh passes the slowest first. Exits 1 when any test failed.
 *
 * Usage: node --import tsx scripts/run-tests.ts <concurrency> <file>... [--solo <file>...] (the
 * files after --solo run after the others, one at a time; the children inherit
 * `--import tsx` from this process).
 */
import { run } from "node:test";
import { spec } from "node:test/reporters";

const [concurrencyArg, ...rest] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const soloAt = rest.indexOf("--solo");
const files = soloAt < 0 ? rest : rest.slice(0, soloAt);
const solo = soloAt < 0 ? [] : rest.slice(soloAt + 1);
if (!Number.isInteger(concurrency) || concurrency < 1 || files.length + solo.length === 0) {
  process.stderr.write(
    "usage: run-tests.ts <concurrency (1 or more)> <test file>... [--solo <test file>...]\n",
  );
  process.exit(2);
}

/** Runs `group` through node's runner, `n` files at a time; resolves when its report is out. */
function runGroup(group: string[], n: number): Promise<void> {
  if (group.length === 0) {
    return Promise.resolve();
  }
  const stream = run({ files: group, concurrency: n });
  stream.on("test:fail", () => {
    process.exitCode = 1;
  });
  const out = stream.compose(new spec());
  out.pipe(process.stdout, { end: false });
  return new Promise((resolve) => out.on("end", resolve));
}

// The files after --solo run afterwards, one at a time: they compare a measured duration with
// an estimate made from an earlier measurement, which other files' load would skew.
void runGroup(files, concurrency).then(() => runGroup(solo, 1));
