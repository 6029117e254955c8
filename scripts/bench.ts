/**
 * `npm run bench [-- --quick] [--size 1000,10000] [--runs 3] [--strategies in-place,prepared,rolling]
 *  [--preview-nodes 1,3,10] [--out bench] [--note "..."]`: see bench/main.ts and README.md.
 */
import { resolve } from "node:path";
import { bench } from "../bench/main";
import { outageTable, summarize, wallTime } from "../bench/results";

const STRATEGIES = ["in-place", "prepared", "rolling"];

function parse(argv: readonly string[]) {
  const flag = (name: string) => argv.includes(name);
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (name: string, dflt: string): string[] => (value(name) ?? dflt).split(",");
  const nums = (name: string, dflt: string): number[] =>
    list(name, dflt).map((s) => {
      const n = Number(s.toLowerCase().replace(/k$/, "000"));
      if (!Number.isInteger(n) || n <= 0) {
        throw new Error(`${name} ${s} is not a positive whole number; e.g. ${name} ${dflt}`);
      }
      return n;
    });
  const quick = flag("--quick");
  const strategies = list("--strategies", STRATEGIES.join(","));
  for (const s of strategies) {
    if (!STRATEGIES.includes(s)) {
      throw new Error(`--strategies ${s} is not a strategy; use some of ${STRATEGIES.join(",")}`);
    }
  }
  const [runs] = nums("--runs", quick ? "1" : "3");
  return {
    sizes: nums("--size", quick ? "100" : "1000,10000"),
    runs: runs ?? 1,
    strategies,
    previewNodes: nums("--preview-nodes", quick ? "1,3" : "1,3,10"),
    nodes: 2,
    from: "3.5.0",
    to: "3.6.0",
    outDir: resolve(value("--out") ?? resolve(__dirname, "../bench")),
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`,
    ...(value("--note") ? { note: value("--note") } : {}),
  };
}

async function main(): Promise<void> {
  const opts = parse(process.argv.slice(2));
  const res = await bench(opts);
  process.stdout.write(
    `${outageTable(summarize(res))}\n\nwall time ${wallTime(res)}\nwritten: ${opts.outDir}/results.md, results.json, timelines/\n`,
  );
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
