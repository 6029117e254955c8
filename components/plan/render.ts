/**
 * The two faces of a plan: text for people (what `pulumi preview` prints as a warning and
 * `npm run plan` prints), and JSON for machines (the stack's `upgradePlan` output). Both come from
 * the same {@link Plan}, so what a reviewer approves is what the stack records.
 */
import { DurationRange } from "./estimate";
import { groupBySubsystem } from "./migrations";
import type { Plan, PlannedStep } from "./plan";

/** `45s`, `3m 05s`, `1h 02m`: short enough for a table, exact enough for a change request. */
export function formatDuration(seconds: number): string {
  if (seconds > 0 && seconds < 10 && !Number.isInteger(seconds)) {
    return `${(Math.round(seconds * 10) / 10).toFixed(1)}s`;
  }
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s}s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  }
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** `1m 05s expected (45s – 3m 10s)`. */
export function formatRange(r: DurationRange): string {
  return (
    `${formatDuration(r.expectedSeconds)} expected ` +
    `(${formatDuration(r.lowSeconds)} – ${formatDuration(r.highSeconds)})`
  );
}

const TITLES: Record<Plan["kind"], string> = {
  noop: "no change",
  install: "fresh install",
  upgrade: "in-place upgrade",
  rollback: "rollback by restore",
};

const HOPS = { patch: "patch upgrade", minor: "adjacent minor", lts: "LTS to LTS" } as const;

/** Where a step runs, as the plan's text and Markdown say it: `2 × 3.6.0 nodes`, `database`. */
export function stepLocation(step: PlannedStep): string {
  switch (step.runsOn) {
    case "deployed-nodes":
    case "target-nodes":
      return `${step.nodes} × ${step.version} nodes`;
    case "migration-job":
      return `migration job ${step.version}`;
    case "database":
      return "database";
  }
}

function stepLines(plan: Plan): string[] {
  const nameWidth = Math.max(...plan.steps.map((s) => s.name.length));
  const whereWidth = Math.max(...plan.steps.map((s) => stepLocation(s).length));
  return plan.steps.map((s, i) => {
    const down = s.gatewayDown ? "DOWN" : "up  ";
    const source = s.estimate.source === "measured" ? `measured ×${s.estimate.runs}` : "default";
    return (
      `  ${i + 1}. ${s.name.padEnd(nameWidth)}  ${stepLocation(s).padEnd(whereWidth)}  gateway ${down}  ` +
      `${formatRange(s.estimate)} [${source}]\n      ${s.description}` +
      (s.command === undefined ? "" : `\n      $ ${s.command}`)
    );
  });
}

function migrationLines(plan: Plan): string[] {
  const m = plan.migrations;
  const verb = plan.kind === "install" ? "kong migrations bootstrap" : "kong migrations up";
  if (plan.kind === "rollback") {
    return ["Migrations: none (a rollback restores the database as it was before the upgrade)"];
  }
  if (m.up.length === 0) {
    return [`Migrations: none new for '${verb}'`];
  }
  const lines = [`Migrations run by '${verb}' (${m.up.length}):`];
  for (const [subsystem, names] of groupBySubsystem(m.up)) {
    lines.push(`  ${subsystem}: ${names.join(", ")}`);
  }
  if (m.pendingAfterUp.length > 0) {
    lines.push(`Pending after up, completed by 'kong migrations finish' (teardowns):`);
    for (const [subsystem, names] of groupBySubsystem(m.pendingAfterUp)) {
      lines.push(`  ${subsystem}: ${names.join(", ")}`);
    }
  }
  return lines;
}

function downtimeLine(plan: Plan): string {
  const d = plan.downtime;
  if (d.steps.length === 0) {
    return plan.strategy === "rolling"
      ? "Estimated downtime: none (rolling: one node at a time; a client that tries every node is always answered)"
      : "Estimated downtime: none (no gateway is serving yet)";
  }
  const source =
    d.source === "defaults"
      ? "defaults"
      : d.source === "install"
        ? d.steps.every((step) => step === "stop" || step === "start")
          ? "measured by this stack's install (its hand-over into start → first ready node, plus the stop's tail)"
          : "measured by this stack's install (its stop → first ready node, plus the backup and data it did not have)"
        : `measured in ${d.runs} earlier ${d.runs === 1 ? "upgrade" : "upgrades"}` +
          (d.defaultedSteps.length > 0 ? ` (defaults for ${d.defaultedSteps.join(", ")})` : "");
  return `Estimated downtime (${d.steps.join(" → ")}): ${formatRange(d)}; numbers: ${source}`;
}

function nodeLines(plan: Plan): string[] {
  const stopped = plan.steps.find((s) => s.name === "stop");
  const started = plan.steps.find((s) => s.name === "start");
  const lines: string[] = [];
  if (stopped && stopped.nodes > 0) {
    lines.push(`Nodes stopped: ${stopped.nodes} × ${stopped.version}`);
  }
  if (started) {
    lines.push(`Nodes started: ${started.nodes} × ${started.version}`);
  }
  return lines;
}

function windowLine(plan: Plan): string[] {
  const w = plan.window;
  if (w === undefined) {
    return [];
  }
  const state = !w.mayStartNow
    ? `closed now; next opens ${w.nextOpensAt}`
    : `open until ${w.closesAt}; downtime ends by ${w.downtimeEndsBy}: ` +
      (w.fits ? "fits" : "DOES NOT FIT");
  return [`Maintenance window (${w.windows.join("; ")}): ${state}`];
}

/** The plan's first line: `Kong 3.5.0 → 3.6.0: in-place upgrade (adjacent minor)`, with the
 * upgrade's strategy (`prepared upgrade`, `rolling upgrade`). */
export function planHeadline(plan: Plan): string {
  return plan.kind === "noop"
    ? `Kong ${plan.to}: no change (the deployed version is the target)`
    : `Kong ${plan.from === undefined ? "" : `${plan.from} → `}${plan.to}: ` +
        (plan.kind === "upgrade" ? `${plan.strategy} upgrade` : TITLES[plan.kind]) +
        (plan.hop === undefined ? "" : ` (${HOPS[plan.hop]})`);
}

/**
 * Renders a plan for people, top to bottom: what changes, the steps in order with where they run,
 * whether the gateway is down and how long each takes, nodes stopped and started, migrations,
 * downtime with its range and source, backup location, window, warnings.
 */
export function renderPlan(plan: Plan): string {
  const head = planHeadline(plan);
  if (plan.kind === "noop") {
    return [head, ...plan.warnings.map((w) => `  ! ${w}`)].join("\n") + "\n";
  }
  const lines = [head, "", "Steps:", ...stepLines(plan), "", ...nodeLines(plan)];
  lines.push(...migrationLines(plan), `Strategy: ${plan.strategy}`, downtimeLine(plan));
  for (const a of plan.alternatives ?? []) {
    lines.push(
      `  with kong-gateway:strategy ${a.strategy}: ${a.downtime.steps.length === 0 ? "none" : `${formatRange(a.downtime)} (${a.downtime.steps.join(" → ")})`}`,
    );
  }
  lines.push(`Estimated total: ${formatRange(plan.duration)}`);
  if (plan.backup) {
    lines.push(
      `Backup: ${plan.backup.path} (pg_dump -Fc, checksummed and read back before ${plan.kind === "rollback" ? "restoring" : "migrating"})`,
    );
  }
  if (plan.rollbackBackup) {
    const b = plan.rollbackBackup;
    lines.push(
      `Restoring backup ${b.id}: ${b.store === "command" || b.store === "host" ? `${b.store} store ${b.location ?? b.id} (fetched and checked against sha256 ${b.sha256 ?? "?"} first)` : b.path}, taken ${b.takenAt} before ${b.fromVersion} → ${b.toVersion}`,
    );
  }
  lines.push(...windowLine(plan));
  if (plan.warnings.length > 0) {
    lines.push("", "Warnings:", ...plan.warnings.map((w) => `  ! ${w}`));
  }
  return lines.join("\n") + "\n";
}

/** The JSON form: the plan with a schema tag, as plain data (no `undefined`, no class instances). */
export type PlanJson = Plan & { readonly schema: typeof PLAN_SCHEMA };

/** Tags exported plans so consumers can tell formats apart if the shape ever changes. */
export const PLAN_SCHEMA = "kong-gateway/upgrade-plan@1";

/**
 * What the stack exports as `upgradePlan`: a deep copy that survives `JSON.stringify` and Pulumi's
 * output serialisation unchanged (absent optional fields are left out, not `undefined`).
 */
export function planToJson(plan: Plan): PlanJson {
  return JSON.parse(JSON.stringify({ schema: PLAN_SCHEMA, ...plan })) as PlanJson;
}
