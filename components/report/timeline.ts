/**
 * A picture of one or more changes as SVG text: each run is a block of lanes, one per step, with
 * the measured step as a solid bar on a shared time axis (seconds from the run's first step), the
 * plan's estimate as a dashed bar where the plan expected the step to run, the outage shaded
 * across the block, and the backup id in the run's heading. Several runs share one axis so they
 * compare at a glance (one row per strategy in a benchmark).
 *
 * Pure: the same input gives the same text, no clock, no files. The step runner writes it beside
 * each report (components/runner/steps/timeline.ts).
 */
import type { DurationRange, Plan } from "../plan";
import { formatDuration, formatRange } from "../plan";
import type { UpgradeReport } from "../contract/report";

/** What the plan expected, for drawing beside what was measured. */
export interface TimelineEstimate {
  /** Per step name; steps without an entry get no dashed bar. */
  readonly steps: Readonly<Partial<Record<string, DurationRange>>>;
  /** The planned outage. */
  readonly downtime?: DurationRange;
}

/** One row of the chart: a report, and optionally what the plan said and a label of its own. */
export interface TimelineRun {
  readonly report: UpgradeReport;
  /** @default `Kong <from> → <to>: <kind>, <outcome>` */
  readonly label?: string;
  readonly estimate?: TimelineEstimate;
}

/** The estimate of a plan, in the shape {@link renderTimeline} draws. */
export function estimateFromPlan(plan: Plan): TimelineEstimate {
  const steps: Record<string, DurationRange> = {};
  for (const s of plan.steps) {
    const { lowSeconds, expectedSeconds, highSeconds } = s.estimate;
    steps[s.name] = { lowSeconds, expectedSeconds, highSeconds };
  }
  const d = plan.downtime;
  return {
    steps,
    ...(d.steps.length === 0
      ? {}
      : {
          downtime: {
            lowSeconds: d.lowSeconds,
            expectedSeconds: d.expectedSeconds,
            highSeconds: d.highSeconds,
          },
        }),
  };
}

/** Escapes text for SVG (XML) content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const WIDTH = 1000;
const NAMES = 150; // step names column
const NUMBERS = 170; // measured / estimated seconds column
const CHART = WIDTH - NAMES - NUMBERS - 20;
const LANE = 26;
const HEAD = 46; // a run's two heading lines
const GAP = 18;
const TOP = 40;
const AXIS = 34;
const COLORS = { bar: "#1f6fb2", estimate: "#7a7a7a", outage: "#d93025", text: "#202124" };

/** One step's lane: measured start and length, and where the plan expected it (seconds). */
interface Lane {
  readonly name: string;
  readonly at: number;
  readonly seconds: number;
  readonly estAt?: number;
  readonly est?: number;
}

/** A run laid out: times in seconds from its first step. */
interface Laid {
  readonly run: TimelineRun;
  readonly lanes: Lane[];
  readonly outage?: { at: number; seconds: number };
  readonly end: number;
}

function layout(run: TimelineRun): Laid {
  const steps = [...run.report.steps].sort(
    (a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt),
  );
  const t0 = steps.length > 0 ? Date.parse(steps[0]!.startedAt) : 0;
  const rel = (iso: string) => (Date.parse(iso) - t0) / 1000;
  let planned = 0;
  const lanes = steps.map((s): Lane => {
    const at = rel(s.startedAt);
    const seconds = Math.max(0, rel(s.finishedAt) - at);
    const e = run.estimate?.steps[s.name];
    if (e === undefined) {
      // A step the plan does not list takes, in the plan, what it took: later steps stay aligned.
      planned += seconds;
      return { name: s.name, at, seconds };
    }
    const lane = { name: s.name, at, seconds, estAt: planned, est: e.expectedSeconds };
    planned += e.expectedSeconds;
    return lane;
  });
  const o = outageOf(run.report);
  const outage = o && { at: rel(o.startedAt), seconds: o.seconds };
  const end = Math.max(
    0,
    ...lanes.map((l) => l.at + l.seconds),
    ...lanes.map((l) => (l.estAt ?? 0) + (l.est ?? 0)),
    outage ? outage.at + outage.seconds : 0,
  );
  return { run, lanes, ...(outage ? { outage } : {}), end };
}

/**
 * The outage: as the report measured it, or (reports written before it carried the interval)
 * `downtimeSeconds` from the start of `stop`, which is when the first node is told to stop.
 */
function outageOf(r: UpgradeReport): { startedAt: string; seconds: number } | undefined {
  if (r.outage) {
    return { startedAt: r.outage.startedAt, seconds: r.downtimeSeconds };
  }
  const stop = r.steps.find((s) => s.name === "stop");
  return stop && r.downtimeSeconds > 0
    ? { startedAt: stop.startedAt, seconds: r.downtimeSeconds }
    : undefined;
}

/** A tick step giving at most ~8 ticks over `span` seconds. */
function tickStep(span: number): number {
  const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
  return steps.find((s) => span / s <= 8) ?? Math.ceil(span / 8 / 3600) * 3600;
}

const fmt = (n: number) => (Math.round(n * 100) / 100).toString();

function heading(run: TimelineRun): string[] {
  const r = run.report;
  const label = run.label ?? `Kong ${r.from ?? "(new)"} → ${r.to}: ${r.kind}, ${r.outcome}`;
  const parts = [`outage ${formatDuration(r.downtimeSeconds)} measured`];
  const planned = run.estimate?.downtime;
  if (planned) {
    parts.push(`${formatRange(planned)} planned`);
  }
  if (r.backup) {
    parts.push(`backup ${r.backup.id}`);
  }
  if (r.restored) {
    parts.push(`restored ${r.restored.id}`);
  }
  return [label, parts.join(" · ")];
}

/**
 * Renders runs as one SVG document (text). Steps appear in the order they started; the time
 * axis is shared, in seconds from each run's first step; estimates (dashed) are laid end to end
 * in the same order, as the plan expected them to run.
 */
export function renderTimeline(runs: readonly TimelineRun[], title = "kong-gateway"): string {
  const laid = runs.map(layout);
  const span = Math.max(1, ...laid.map((l) => l.end));
  const step = tickStep(span);
  const domain = Math.ceil(span / step) * step;
  const x = (seconds: number) => NAMES + (seconds / domain) * CHART;
  const out: string[] = [];
  let y = TOP;
  for (const l of laid) {
    const [label, sub] = heading(l.run);
    out.push(
      `<text x="10" y="${y + 16}" font-weight="bold" font-size="14">${escapeXml(label!)}</text>`,
      `<text x="10" y="${y + 34}" font-size="12" fill="#5f6368">${escapeXml(sub!)}</text>`,
    );
    y += HEAD;
    const blockTop = y;
    const blockHeight = Math.max(1, l.lanes.length) * LANE;
    if (l.outage) {
      const ox = x(l.outage.at);
      const ow = Math.max(1, (l.outage.seconds / domain) * CHART);
      out.push(
        `<rect class="outage" x="${fmt(ox)}" y="${blockTop}" width="${fmt(ow)}" height="${blockHeight}" fill="${COLORS.outage}" fill-opacity="0.14" stroke="${COLORS.outage}" stroke-opacity="0.5"/>`,
      );
    }
    l.lanes.forEach((lane, i) => {
      const ly = blockTop + i * LANE;
      out.push(
        `<text x="${NAMES - 8}" y="${ly + 17}" text-anchor="end" font-size="12">${escapeXml(lane.name)}</text>`,
      );
      if (lane.est !== undefined && lane.estAt !== undefined) {
        out.push(
          `<rect class="estimate" x="${fmt(x(lane.estAt))}" y="${ly + 3}" width="${fmt(Math.max(1, (lane.est / domain) * CHART))}" height="${LANE - 6}" fill="none" stroke="${COLORS.estimate}" stroke-dasharray="4 3"/>`,
        );
      }
      out.push(
        `<rect class="step" data-step="${escapeXml(lane.name)}" x="${fmt(x(lane.at))}" y="${ly + 7}" width="${fmt(Math.max(2, (lane.seconds / domain) * CHART))}" height="${LANE - 14}" fill="${COLORS.bar}"/>`,
      );
      const numbers =
        formatDuration(lane.seconds) +
        (lane.est === undefined ? "" : ` · est. ${formatDuration(lane.est)}`);
      out.push(
        `<text x="${NAMES + CHART + 12}" y="${ly + 17}" font-size="12">${escapeXml(numbers)}</text>`,
      );
    });
    if (l.outage) {
      out.push(
        `<text x="${fmt(x(l.outage.at) + 3)}" y="${blockTop + blockHeight + 12}" font-size="11" fill="${COLORS.outage}">outage ${escapeXml(formatDuration(l.outage.seconds))}</text>`,
      );
    }
    y = blockTop + blockHeight + GAP;
  }
  const axisY = y;
  out.push(
    `<line x1="${NAMES}" y1="${axisY}" x2="${NAMES + CHART}" y2="${axisY}" stroke="${COLORS.text}"/>`,
  );
  for (let t = 0; t <= domain + 1e-9; t += step) {
    out.push(
      `<line x1="${fmt(x(t))}" y1="${TOP + HEAD - 4}" x2="${fmt(x(t))}" y2="${axisY + 4}" stroke="#dadce0" stroke-width="0.8"/>`,
      `<text x="${fmt(x(t))}" y="${axisY + 18}" text-anchor="middle" font-size="11">${escapeXml(formatDuration(t))}</text>`,
    );
  }
  const height = axisY + AXIS;
  const legend =
    `<rect x="${NAMES}" y="12" width="14" height="10" fill="${COLORS.bar}"/><text x="${NAMES + 20}" y="21" font-size="11">measured</text>` +
    `<rect x="${NAMES + 90}" y="12" width="14" height="10" fill="none" stroke="${COLORS.estimate}" stroke-dasharray="4 3"/><text x="${NAMES + 110}" y="21" font-size="11">planned (expected)</text>` +
    `<rect x="${NAMES + 230}" y="12" width="14" height="10" fill="${COLORS.outage}" fill-opacity="0.14" stroke="${COLORS.outage}" stroke-opacity="0.5"/><text x="${NAMES + 250}" y="21" font-size="11">outage</text>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" fill="${COLORS.text}">\n` +
    `<title>${escapeXml(title)}</title>\n` +
    `<rect width="100%" height="100%" fill="#ffffff"/>\n` +
    `${legend}\n` +
    out.join("\n") +
    `\n</svg>\n`
  );
}
