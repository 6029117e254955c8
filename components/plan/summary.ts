/**
 * Short faces of a plan for places where people skim: the stack's `upgradePlan` output (its diff
 * is what `pulumi preview` prints in a pull request, so it must fit a screen) and a Markdown table
 * for change requests (`npm run plan -- --markdown`). The whole plan stays available as JSON
 * (`planToJson`); these only leave details out, they never say something the plan does not.
 */
import { PlanError } from "./errors";
import type { Plan } from "./plan";
import { formatDuration, formatRange, planHeadline, stepLocation } from "./render";

/** Tags the summary so consumers can tell it from the full plan (`kong-gateway/upgrade-plan@1`). */
export const PLAN_SUMMARY_SCHEMA = "kong-gateway/upgrade-plan-summary@1";

/**
 * The stack's `upgradePlan` output: one line per field in a preview's diff. Strings rather than
 * nested objects and arrays, because Pulumi prints every element of those on a line of its own.
 */
export interface PlanSummary {
  readonly schema: typeof PLAN_SUMMARY_SCHEMA;
  /** `install`, `upgrade` or `rollback`. */
  readonly kind: Exclude<Plan["kind"], "noop">;
  /** The deployed version; absent for an install. */
  readonly from?: string;
  readonly to: string;
  /** Why the hop is guaranteed (`patch`, `minor`, `lts`); upgrades only. */
  readonly hop?: NonNullable<Plan["hop"]>;
  /** How the change replaces the nodes (`kong-gateway:strategy`; `in-place` for rollbacks). */
  readonly strategy: Plan["strategy"];
  /**
   * `in-place` upgrades: the downtime each other allowed strategy would have, e.g.
   * `prepared 2s expected (1s – 5s); rolling none`.
   */
  readonly alternatives?: string;
  /** `15s expected (8s – 1m 00s)`, or `none` when no gateway serves yet. */
  readonly downtime: string;
  /** The downtime's expected seconds, for tools that compare numbers. */
  readonly downtimeExpectedSeconds: number;
  /** Where the backup goes (upgrades; rollbacks: the database as the newer version left it). */
  readonly backup?: string;
  /** Rollbacks: the id of the backup restored. */
  readonly restores?: string;
  /** The step names in order, joined with ` → `. */
  readonly steps: string;
  /** How many warnings the plan printed (the text is in the preview's diagnostics). */
  readonly warnings: number;
}

/** The summary of a plan that changes something; a `noop` plan has none (the output is absent). */
export function planSummary(plan: Plan): PlanSummary {
  if (plan.kind === "noop") {
    throw new PlanError(
      "input",
      `plan ${plan.to} is a no-op; only a change has a summary (export nothing for a no-op)`,
    );
  }
  const d = plan.downtime;
  return {
    schema: PLAN_SUMMARY_SCHEMA,
    kind: plan.kind,
    ...(plan.from === undefined ? {} : { from: plan.from }),
    to: plan.to,
    ...(plan.hop === undefined ? {} : { hop: plan.hop }),
    strategy: plan.strategy,
    ...(plan.alternatives && plan.alternatives.length > 0
      ? {
          alternatives: plan.alternatives
            .map(
              (a) =>
                `${a.strategy} ${a.downtime.steps.length === 0 ? "none" : formatRange(a.downtime)}`,
            )
            .join("; "),
        }
      : {}),
    downtime: d.steps.length === 0 ? "none" : formatRange(d),
    downtimeExpectedSeconds: d.steps.length === 0 ? 0 : d.expectedSeconds,
    ...(plan.backup === undefined ? {} : { backup: plan.backup.path }),
    ...(plan.rollbackBackup === undefined ? {} : { restores: plan.rollbackBackup.id }),
    steps: plan.steps.map((s) => s.name).join(" → "),
    warnings: plan.warnings.length,
  };
}

/**
 * Escapes text for Markdown outside code spans: a pipe or a newline would break a table row, and
 * `<timestamp>` would be taken for an HTML tag and vanish.
 */
function cell(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\|/g, "\\|")
    .replace(/\r?\n/g, "<br>");
}

/** A code span for a table cell: only pipes need escaping there (GFM), and backticks cannot nest. */
function codeCell(text: string): string {
  return `\`${text.replace(/`/g, "'").replace(/\|/g, "\\|").replace(/\r?\n/g, " ")}\``;
}

/**
 * The plan as Markdown for a change request: a heading, the facts a reviewer approves (downtime,
 * total, backup, restore), one table row per step (where it runs, whether the gateway is down,
 * the estimate and its source, the command), and the warnings as a list.
 */
export function renderPlanMarkdown(plan: Plan): string {
  if (plan.kind === "noop") {
    return `### ${cell(planHeadline(plan))}\n`;
  }
  const s = planSummary(plan);
  const title = `### ${cell(planHeadline(plan))}`;
  const facts = [
    `- **Strategy:** ${s.strategy}`,
    `- **Downtime:** ${s.downtime}` +
      (plan.downtime.steps.length === 0 ? "" : ` (${plan.downtime.steps.join(" → ")})`),
    `- **Total:** ${formatRange(plan.duration)}`,
    ...(s.backup === undefined ? [] : [`- **Backup:** \`${s.backup}\``]),
    ...(plan.rollbackBackup === undefined
      ? []
      : [`- **Restores:** backup \`${plan.rollbackBackup.id}\` (\`${plan.rollbackBackup.path}\`)`]),
  ];
  const rows = plan.steps.map((st, i) => {
    const e = st.estimate;
    const estimate =
      `${formatDuration(e.expectedSeconds)} (${formatDuration(e.lowSeconds)} – ` +
      `${formatDuration(e.highSeconds)})`;
    const source = e.source === "measured" ? `measured ×${e.runs}` : "default";
    const command = st.command === undefined ? "" : codeCell(st.command);
    return `| ${i + 1} | ${cell(st.name)} | ${cell(stepLocation(st))} | ${st.gatewayDown ? "**down**" : "up"} | ${estimate} | ${source} | ${command} |`;
  });
  const table = [
    "| # | step | runs on | gateway | estimate | source | command |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ];
  const warnings =
    plan.warnings.length === 0
      ? []
      : ["", "**Warnings**", "", ...plan.warnings.map((w) => `- ${cell(w)}`)];
  return [title, "", ...facts, "", ...table, ...warnings].join("\n") + "\n";
}
