/**
 * After `verify`: the report of the change and its timeline picture, side by side under
 * `<stateDir>/reports/<from>-to-<to>-<time>.{json,svg}` (`new` for a fresh install), and the
 * picture's path on stderr, which `pulumi up` shows live.
 *
 * The dashed "planned" bars come from the same planner `pulumi preview` runs, fed with what this
 * machine knows at the end of the change: the database size preflight measured, and the earlier
 * upgrades' reports in the same directory as measured history (the stack's `deployment` output
 * holds the same runs; the runner cannot read stack outputs). A picture is a by-product: nothing
 * here may fail the step, so every error becomes a line on stderr.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PastRun, planChange, PluginsSetting } from "../../plan";
import { estimateFromPlan, renderTimeline, TimelineEstimate } from "../../report/timeline";
import { catalog } from "../../state/catalog";
import type { UpgradeReport } from "./report";
import type { StepSpec } from "../../contract/spec";

/** How many earlier upgrades feed the estimate (the program's `deployment.history` keeps 5). */
const HISTORY_RUNS = 5;

/** `<stateDir>/reports`. */
export function reportsDir(spec: Pick<StepSpec, "stateDir">): string {
  return join(spec.stateDir, "reports");
}

/** Earlier reports in the directory, oldest first (by the time their first step started). */
export function readReports(dir: string): UpgradeReport[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  const reports = files.flatMap((f) => {
    try {
      const r = JSON.parse(readFileSync(join(dir, f), "utf8")) as UpgradeReport;
      return Array.isArray(r.steps) && typeof r.to === "string" ? [r] : [];
    } catch {
      return [];
    }
  });
  const start = (r: UpgradeReport) => r.steps[0]?.startedAt ?? "";
  return reports.sort((a, b) => start(a).localeCompare(start(b)));
}

/** What the planner would have said for this change, given the earlier reports; undefined if it refuses. */
function plannedFor(
  spec: StepSpec,
  report: UpgradeReport,
  earlier: readonly UpgradeReport[],
): TimelineEstimate | undefined {
  const history: PastRun[] = earlier
    .filter((r) => r.kind === "upgrade" && r.outcome === "succeeded")
    .slice(-HISTORY_RUNS)
    .map((r) => ({
      steps: r.steps.map((s) => ({ name: s.name, seconds: s.seconds })),
      downtimeSeconds: r.downtimeSeconds,
      ...(r.databaseBytes === undefined ? {} : { databaseBytes: r.databaseBytes }),
    }));
  const plugins: PluginsSetting = spec.plugins === "bundled" ? "bundled" : spec.plugins.split(",");
  const shape = { nodes: spec.nodes.length, plugins };
  try {
    const plan = planChange({
      ...(spec.from === undefined ? {} : { deployed: { ...shape, version: spec.from } }),
      target: { ...shape, version: spec.to },
      allowSmallerCluster: true,
      backups: catalog(spec.backup.dir, spec.cluster),
      history,
      ...(report.databaseBytes === undefined ? {} : { databaseBytes: report.databaseBytes }),
    });
    return plan.kind === "noop" ? undefined : estimateFromPlan(plan);
  } catch {
    return undefined;
  }
}

/** `20240601T020304Z`: sortable, and no colons in a file name. */
function stamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}

/**
 * Writes the report and its timeline, prints the picture's path, and returns it (undefined when
 * writing failed; the reason is on stderr).
 */
export function writeTimeline(spec: StepSpec, report: UpgradeReport): string | undefined {
  try {
    const dir = reportsDir(spec);
    const earlier = readReports(dir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const end = report.steps.at(-1)?.finishedAt ?? new Date().toISOString();
    const base = join(dir, `${report.from ?? "new"}-to-${report.to}-${stamp(end)}`);
    const estimate = plannedFor(spec, report, earlier);
    const svg = renderTimeline(
      [{ report, ...(estimate ? { estimate } : {}) }],
      `${spec.cluster}: Kong ${report.from ?? "(new)"} → ${report.to}`,
    );
    writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + "\n", { mode: 0o600 });
    writeFileSync(`${base}.svg`, svg, { mode: 0o644 });
    process.stderr.write(`[kong-gateway] timeline: ${base}.svg\n`);
    return `${base}.svg`;
  } catch (e) {
    process.stderr.write(`[kong-gateway] no timeline written: ${(e as Error).message}\n`);
    return undefined;
  }
}
