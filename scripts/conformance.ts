/**
 * `npm run conformance -- --kong <kong binary> | --image <kong image> [--from-kong <older binary> |
 * --from-image <older image>] [--pg postgres://user:password@host:port/database]`
 *
 * Runs the rows of Kong's contract the step runner relies on (test/conformance/rows.ts) against
 * that Kong and a throwaway PostgreSQL (started here on a free port unless --pg names one: the kit
 * RESETS that database), and prints a table: row, expected, seen, ok. Exit 0 when every row that
 * ran is ok, 1 when one differs, 2 when the kit could not run (bad arguments, no database, a
 * `kong version` it cannot read).
 */
import {
  ownDatabase,
  parsePgUrl,
  userDatabase,
  type KitDatabase,
} from "../test/conformance/database";
import { parseKongVersion, runKit, type KitKong } from "../test/conformance/kit";
import { SCENARIOS } from "../test/conformance/rows";
import { renderDetails, renderSummary, renderTable } from "../test/conformance/table";
import { binaryTarget, imageTarget, type KongTarget } from "../test/conformance/target";

const USAGE = `usage: npm run conformance -- (--kong <kong binary> | --image <kong image>)
         [--from-kong <older kong binary> | --from-image <older kong image>]
         [--pg postgres://user:password@host:port/database]

Runs Kong's CLI and node contract (shared/KONG.md §1–§3) against that Kong and a throwaway
PostgreSQL. Without --pg the kit starts its own server on a free port. With --pg it RESETS that
database (drops its public schema) many times: never point it at a database you need.`;

interface Options {
  kong?: string;
  image?: string;
  fromKong?: string;
  fromImage?: string;
  pg?: string;
}

function parse(argv: readonly string[]): Options {
  const opts: Options = {};
  const keys: Record<string, keyof Options> = {
    "--kong": "kong",
    "--image": "image",
    "--from-kong": "fromKong",
    "--from-image": "fromImage",
    "--pg": "pg",
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? "";
    const [name, inline] = flag.includes("=") ? flag.split(/=(.*)/s) : [flag, undefined];
    const key = keys[name ?? ""];
    if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    const value = inline ?? argv[++i];
    if (!key || value === undefined || value === "") {
      throw new Error(key ? `${name} needs a value` : `unknown argument '${flag}'`);
    }
    opts[key] = value;
  }
  if (!opts.kong === !opts.image) {
    throw new Error("give exactly one of --kong <binary> and --image <image>");
  }
  if (opts.fromKong && opts.fromImage) {
    throw new Error("give at most one of --from-kong and --from-image");
  }
  return opts;
}

/** A target and the version its `kong version` reports. */
async function open(target: KongTarget): Promise<KitKong> {
  const r = await target.kong(["version"], {});
  const version = parseKongVersion(r.stdout);
  if (r.code !== 0 || !version) {
    throw new Error(
      `${target.label}: 'kong version' exited ${r.code} and printed ${JSON.stringify(r.stdout + r.stderr)}; expected a version such as 3.6.1`,
    );
  }
  return { target, version };
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`conformance: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const opened: KongTarget[] = [];
  let db: KitDatabase | undefined;
  try {
    const target = async (bin?: string, image?: string) => {
      const t = bin ? binaryTarget(bin) : await imageTarget(image ?? "");
      opened.push(t);
      return open(t);
    };
    const kong = await target(opts.kong, opts.image);
    const from =
      opts.fromKong || opts.fromImage ? await target(opts.fromKong, opts.fromImage) : undefined;
    db = opts.pg ? await userDatabase(parsePgUrl(opts.pg)) : await ownDatabase();
    console.log("Kong conformance kit: shared/KONG.md §1–§3, the rows the step runner relies on");
    console.log(`  kong:      ${kong.version.text}  (${kong.target.label})`);
    console.log(
      `  from-kong: ${from ? `${from.version.text}  (${from.target.label})` : "none (rows that need two versions are skipped)"}`,
    );
    console.log(`  database:  ${db.label}\n`);
    let n = 0;
    const { results, notApplicable } = await runKit(kong, from, db, SCENARIOS, (r) =>
      process.stderr.write(`[${++n}] ${r.row}: ${r.status}\n`),
    );
    console.log(renderTable(results));
    console.log(`\n${renderSummary(results, notApplicable, kong.version.text)}`);
    const details = renderDetails(results);
    if (details) {
      console.log(`\n${details}`);
      console.log(
        "\nIf your Kong differs from a row, open an issue with this table and the output of 'kong version -a'.",
      );
    }
    return results.some((r) => r.status === "FAIL") ? 1 : 0;
  } catch (err) {
    console.error(`conformance: ${(err as Error).message}`);
    return 2;
  } finally {
    for (const t of opened) {
      await t.close();
    }
    await db?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
