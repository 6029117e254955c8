/**
 * Runs test files through node's own test runner (`run()` from node:test, its spec reporter and
 * summary), `concurrency` files at a time, each in its own process, STARTED IN THE ORDER GIVEN:
 * `node --test a b c` sorts the files by name, so a long end-to-end file could start last and
 * run alone for minutes; scripts/test.sh passes the slowest first. Exits 1 when any test failed.
 *
 * Usage: node --import tsx scripts/run-tests.ts <concurrency> <file>... (the children inherit
 * `--import tsx` from this process).
 */
import { run } from "node:test";
import { spec } from "node:test/reporters";

const [concurrencyArg, ...files] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
if (!Number.isInteger(concurrency) || concurrency < 1 || files.length === 0) {
  process.stderr.write("usage: run-tests.ts <concurrency (1 or more)> <test file>...\n");
  process.exit(2);
}

const stream = run({ files, concurrency });
stream.on("test:fail", () => {
  process.exitCode = 1;
});
stream.compose(new spec()).pipe(process.stdout);
