/**
 * Builds the step runner bundle (components/runner/run.ts and everything it imports, one file for
 * node). `npm run setup` builds this checkout's `.tools/runner/run.js` when it is missing or
 * older than a source under components/; `npm run build` always builds the package's
 * `dist/runner/run.js`. The program never builds it (components/runnerBundle.ts says why).
 *
 *   npx tsx scripts/build-runner.ts                       # .tools/runner/run.js, when stale
 *   npx tsx scripts/build-runner.ts --out dist/runner/run.js
 */
import { buildSync } from "esbuild";
import { mkdirSync, renameSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { packageLocation, runnerBundleProblem } from "../components/runnerBundle";

const root = resolve(__dirname, "..");
const outArg = process.argv.indexOf("--out");
const out = outArg >= 0 ? resolve(root, process.argv[outArg + 1] ?? "") : undefined;

/** This checkout, as the program sees it when it runs from source. */
const checkout = packageLocation(join(root, "components", "runnerBundle.ts"));

if (out === undefined && runnerBundleProblem(checkout) === undefined) {
  process.exit(0);
}
const target = out ?? join(root, checkout.runnerBundle);
mkdirSync(dirname(target), { recursive: true });
const tmp = `${target}.${process.pid}.tmp`;
buildSync({
  entryPoints: [join(root, "components", "runner", "run.ts")],
  bundle: true,
  platform: "node",
  target: "node20",
  outfile: tmp,
  logLevel: "error",
  // pg's optional native binding is never used.
  external: ["pg-native"],
});
renameSync(tmp, target);
process.stdout.write(`[build-runner] ${target}\n`);
