/**
 * `npm run plan`: the upgrade plan offline, for people preparing a change request. It runs the
 * same planner as `pulumi preview` (components/plan), without a stack or a database.
 *
 * Exit codes: 0 the change is allowed (the plan is printed); 2 it is refused (not a guaranteed
 * path, a downgrade without a backup, a smaller cluster), with the reason and the route to take;
 * 1 the input is malformed, with the usage.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  BackupRecord,
  PastRun,
  PlanError,
  PluginsSetting,
  planChange,
  planToJson,
  renderPlan,
  renderPlanMarkdown,
} from "../components/plan";

const USAGE = `usage: npm run plan -- --to <version> [options]

  --to <version>          target version or image (3.6.1, 3.4.3.12, kong:3.6.1)   required
  --from <version>        deployed version; leave out for a fresh install
  --plugins a,b           KONG_PLUGINS of the target nodes                 default: bundled
  --from-plugins a,b      KONG_PLUGINS of the deployed nodes               default: --plugins
  --nodes N               node count of both clusters                      default: 1
  --db-bytes N            database size in bytes                           default: assume 100 MiB
  --window "<spec>"       maintenance window, repeatable ("Sat 02:00-04:00 UTC")
  --now <ISO time>        the time to check windows against                default: the clock
  --backups <file.json>   backup catalog (BackupRecord[]) for rollbacks
  --history <file.json>   earlier runs (PastRun[]) for measured estimates
  --backup-dir <dir>      where the upgrade's backup goes                  default: .state/backups
  --json                  print the whole plan as JSON (what preview's warning says, as data)
  --markdown              print the plan as Markdown (a table of steps) for a change request

exit status: 0 allowed, 2 refused (with the route to take), 1 bad input`;

/** Bad command-line input: reported with the usage, exit 1. */
class UsageError extends Error {}

function plugins(text: string | undefined): PluginsSetting | undefined {
  if (text === undefined) {
    return undefined;
  }
  return text === "bundled" ? "bundled" : text.split(",").map((p) => p.trim());
}

function wholeNumber(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not a whole number ≥ ${min}`);
  }
  return Number(text);
}

function readJsonArray<T>(flag: string, file: string | undefined): T[] | undefined {
  if (file === undefined) {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`${flag} ${file}: ${(e as Error).message}`);
  }
  if (!Array.isArray(value)) {
    throw new UsageError(`${flag} ${file} must hold a JSON array`);
  }
  return value as T[];
}

function run(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      from: { type: "string" },
      to: { type: "string" },
      plugins: { type: "string" },
      "from-plugins": { type: "string" },
      nodes: { type: "string" },
      "db-bytes": { type: "string" },
      window: { type: "string", multiple: true },
      now: { type: "string" },
      backups: { type: "string" },
      history: { type: "string" },
      "backup-dir": { type: "string" },
      json: { type: "boolean", default: false },
      markdown: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.json && values.markdown) {
    throw new UsageError("--json and --markdown exclude each other; pick one");
  }
  if (values.to === undefined) {
    throw new UsageError("--to is required");
  }
  const now = values.now === undefined ? new Date() : new Date(values.now);
  if (Number.isNaN(now.getTime())) {
    throw new UsageError(`--now ${JSON.stringify(values.now)} is not an ISO time`);
  }
  const nodes = wholeNumber("--nodes", values.nodes, 1) ?? 1;
  const targetPlugins = plugins(values.plugins) ?? "bundled";
  const plan = planChange({
    ...(values.from === undefined
      ? {}
      : {
          deployed: {
            version: values.from,
            nodes,
            plugins: plugins(values["from-plugins"]) ?? targetPlugins,
          },
        }),
    target: { version: values.to, nodes, plugins: targetPlugins },
    databaseBytes: wholeNumber("--db-bytes", values["db-bytes"], 0),
    maintenanceWindows: values.window ?? [],
    now,
    backups: readJsonArray<BackupRecord>("--backups", values.backups) ?? [],
    history: readJsonArray<PastRun>("--history", values.history) ?? [],
    ...(values["backup-dir"] === undefined ? {} : { backupDir: values["backup-dir"] }),
  });
  process.stdout.write(
    values.json
      ? `${JSON.stringify(planToJson(plan), null, 2)}\n`
      : values.markdown
        ? renderPlanMarkdown(plan)
        : renderPlan(plan),
  );
  return 0;
}

const REFUSED = new Set(["path", "downgrade", "capacity"]);

function main(argv: string[]): number {
  try {
    return run(argv);
  } catch (e) {
    if (e instanceof PlanError && REFUSED.has(e.code)) {
      const route =
        e.route && e.route.length > 0 ? `\nsuggested route: ${e.route.join(" → ")}` : "";
      process.stderr.write(`refused: ${e.message}${route}\n`);
      if (argv.includes("--json")) {
        const error = { code: e.code, message: e.message, route: e.route ?? [] };
        process.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
      }
      return 2;
    }
    process.stderr.write(`error: ${(e as Error).message}\n\n${USAGE}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
