/**
 * What `npm run bench` records (bench/results.json) and how it reads as text (bench/results.md).
 * Pure: summaries and rendering depend only on the results passed in.
 */
import type { ReportStep, UpgradeReport } from "../components/contract/report";
import { median, Outage, ratio, round3 } from "./stats";

/** The scripted runbook's row name; strategies use their `kong-gateway:strategy` value. */
export const RUNBOOK = "runbook";

/** One measured upgrade: the runbook script or one strategy through `pulumi up`. */
export interface RunResult {
  /** {@link RUNBOOK} or a strategy name. */
  readonly strategy: string;
  /** Entities seeded (services + routes + plugins + consumers + credentials). */
  readonly size: number;
  /** 1-based run number within this size. */
  readonly run: number;
  /** What the external prober saw. */
  readonly outage: Outage;
  /** The project's own `lastUpgrade.downtimeSeconds` (strategies only). */
  readonly reportedDowntimeSeconds?: number;
  /** The preview's expected downtime before this `up` (strategies only). */
  readonly estimatedDowntimeSeconds?: number;
  /** Steps as measured (the runbook script's own timestamps, or `lastUpgrade.steps`). */
  readonly steps: readonly ReportStep[];
  /**
   * The backup step's seconds (the runbook's `pg_dump -Fc`, or the project's `backup` until it is
   * durable: read back, listed, test-restored where configured, copied to the store).
   */
  readonly backupSeconds?: number;
  /**
   * The project's dump until written and read back (`lastUpgrade.backup.dumpSeconds`): what an
   * in-place outage waits for before `up`. The runbook's: its `pg_dump -Fc`.
   */
  readonly dumpSeconds?: number;
  /** Wall time of the whole change (script, or `pulumi up`), seconds. */
  readonly wallSeconds: number;
}

/** One seeded size. */
export interface SizeInfo {
  readonly size: number;
  /** Rows per entity kind as seeded through the Admin API. */
  readonly entities: Readonly<Record<string, number>>;
  /** `pg_database_size` of the seeded database. */
  readonly databaseBytes: number;
  readonly seedSeconds: number;
  /** Raw `pg_dump -Fc` of a copy of the seeded database, seconds, one per run. */
  readonly rawDumpSeconds: readonly number[];
}

/** `pulumi preview` of a version bump on a deployed stack of `nodes` nodes. */
export interface PreviewTime {
  readonly nodes: number;
  readonly seconds: number;
}

/** A strategy the build refused, and its words. */
export interface Unavailable {
  readonly strategy: string;
  readonly reason: string;
}

/** Everything one `npm run bench` measured. */
export interface BenchResults {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly machine: {
    readonly cpus: number;
    /** The 1-minute load average before the bench began: the machine's other work. */
    readonly loadAtStart?: number;
    /** At the end: the bench's own processes included. */
    readonly loadAverage: readonly number[];
  };
  readonly hop: { readonly from: string; readonly to: string; readonly nodes: number };
  readonly probeIntervalMs: number;
  /** Said at the top of results.md (e.g. a smaller run than the default). */
  readonly note?: string;
  readonly sizes: readonly SizeInfo[];
  readonly runs: readonly RunResult[];
  readonly unavailable: readonly Unavailable[];
  readonly preview: readonly PreviewTime[];
  /** SVG timelines written, relative to bench/. */
  readonly timelines: readonly string[];
}

/** Medians of one strategy at one size. */
export interface SummaryRow {
  readonly size: number;
  readonly strategy: string;
  readonly runs: number;
  readonly outageSeconds: number | undefined;
  /** Median outage / the runbook's median outage at the same size. */
  readonly ratioToRunbook: number | undefined;
  readonly reportedSeconds: number | undefined;
  readonly estimatedSeconds: number | undefined;
  readonly backupSeconds: number | undefined;
  /** Median backup step / median raw `pg_dump -Fc` at this size. */
  readonly backupRatio: number | undefined;
  readonly dumpSeconds: number | undefined;
  /** Median dump until read back / median raw `pg_dump -Fc` at this size. */
  readonly dumpRatio: number | undefined;
  readonly wallSeconds: number | undefined;
}

const med = (xs: readonly (number | undefined)[]): number | undefined => {
  const m = median(xs.filter((x): x is number => x !== undefined));
  return m === undefined ? undefined : round3(m);
};

/** One row per (size, strategy) in the order they first appear, runbook first within a size. */
export function summarize(results: Pick<BenchResults, "runs" | "sizes">): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const sizes = [...new Set(results.runs.map((r) => r.size))];
  for (const size of sizes) {
    const atSize = results.runs.filter((r) => r.size === size);
    const strategies = [...new Set(atSize.map((r) => r.strategy))].sort(
      (a, b) => Number(b === RUNBOOK) - Number(a === RUNBOOK),
    );
    const baseline = med(
      atSize.filter((r) => r.strategy === RUNBOOK).map((r) => r.outage.longestSeconds),
    );
    const raw = med(results.sizes.find((s) => s.size === size)?.rawDumpSeconds ?? []);
    for (const strategy of strategies) {
      const runs = atSize.filter((r) => r.strategy === strategy);
      const outage = med(runs.map((r) => r.outage.longestSeconds));
      const backup = med(runs.map((r) => r.backupSeconds));
      const dump = med(runs.map((r) => r.dumpSeconds ?? r.backupSeconds));
      rows.push({
        size,
        strategy,
        runs: runs.length,
        outageSeconds: outage,
        ratioToRunbook: ratio(outage, baseline),
        reportedSeconds: med(runs.map((r) => r.reportedDowntimeSeconds)),
        estimatedSeconds: med(runs.map((r) => r.estimatedDowntimeSeconds)),
        backupSeconds: backup,
        backupRatio: ratio(backup, raw),
        dumpSeconds: dump,
        dumpRatio: ratio(dump, raw),
        wallSeconds: med(runs.map((r) => r.wallSeconds)),
      });
    }
  }
  return rows;
}

/** The runbook or strategy row drawn in a timeline: the prober's outage shaded. */
export function timelineReport(r: RunResult, from: string, to: string): UpgradeReport {
  const start = r.outage.startedAt;
  return {
    kind: "upgrade",
    from,
    to,
    generation: 1,
    outcome: "succeeded",
    steps: [...r.steps],
    downtimeSeconds: r.outage.longestSeconds,
    ...(start !== undefined && r.outage.longestSeconds > 0
      ? {
          outage: {
            startedAt: new Date(start).toISOString(),
            endedAt: new Date(start + r.outage.longestSeconds * 1000).toISOString(),
          },
        }
      : {}),
  };
}

const s = (x: number | undefined, unit = " s"): string =>
  x === undefined ? "–" : `${x.toFixed(2)}${unit}`;
const x = (v: number | undefined): string => (v === undefined ? "–" : `${v.toFixed(2)}×`);

/** The table README.md quotes: median prober outage per strategy and size. */
export function outageTable(rows: readonly SummaryRow[]): string {
  const lines = [
    "| entities | strategy | runs | outage (prober, median) | × runbook | reported `downtimeSeconds` | preview estimate |",
    "|---:|---|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.size.toLocaleString("en-US")} | ${r.strategy} | ${r.runs} | ${s(r.outageSeconds)} | ${x(r.ratioToRunbook)} | ${s(r.reportedSeconds)} | ${s(r.estimatedSeconds)} |`,
    );
  }
  return lines.join("\n");
}

/** The whole run's wall time, `12 min 05 s` (from its start and end). */
export function wallTime(res: Pick<BenchResults, "startedAt" | "finishedAt">): string {
  const total = Math.round((Date.parse(res.finishedAt) - Date.parse(res.startedAt)) / 1000);
  const min = Math.floor(total / 60);
  const sec = String(total % 60).padStart(2, "0");
  return min > 0 ? `${min} min ${sec} s` : `${total % 60} s`;
}

/** bench/results.md. */
export function renderMarkdown(res: BenchResults): string {
  const rows = summarize(res);
  const out: string[] = ["# `npm run bench` results", ""];
  if (res.note) {
    out.push(`> ${res.note}`, "");
  }
  out.push(
    `\`${res.command}\` — ${res.startedAt} → ${res.finishedAt} (wall time ${wallTime(res)}), ${res.machine.cpus} CPUs (${loadText(res.machine)}).`,
    `Kong stand-in (test/kong-sim) ${res.hop.from} → ${res.hop.to} on ${res.hop.nodes} nodes over a real PostgreSQL; every strategy's stack is installed once per size on a \`CREATE DATABASE … TEMPLATE\` copy of the size's seeded database and put back from its snapshot (directories, database, running nodes) before each later run; every runbook run starts from a fresh copy.`,
    `Outage: an external prober GETs a proxied route on every node every ${res.probeIntervalMs} ms; the gateway is up while any node answers (< 500); the outage is the longest stretch with none answering.`,
    "",
    "## Outage",
    "",
    outageTable(rows),
    "",
  );
  for (const u of res.unavailable) {
    out.push(`- \`${u.strategy}\`: not available in this build (${u.reason})`);
  }
  if (res.unavailable.length > 0) {
    out.push("");
  }
  out.push("## Backup vs raw `pg_dump -Fc`", "");
  out.push(
    "The dump: `pg_dump -Fc` until its file is written and read back (sha256), with the row counts and write mark read beside it in the dump's own snapshot: what an in-place outage waits for before `up`. The whole step adds `pg_restore --list`, the test restore where configured, the copy to the backup store and retention; in the outage those run beside `up`, and `finish` waits for them.",
    "",
    "| entities | database | strategy | dump, read back (median) | × raw | whole backup step (median) | × raw | raw `pg_dump -Fc` (median) |",
  );
  out.push("|---:|---:|---|---:|---:|---:|---:|---:|");
  for (const r of rows.filter((r) => r.backupSeconds !== undefined)) {
    const size = res.sizes.find((z) => z.size === r.size);
    out.push(
      `| ${r.size.toLocaleString("en-US")} | ${size ? `${(size.databaseBytes / 1048576).toFixed(1)} MiB` : "–"} | ${r.strategy} | ${s(r.dumpSeconds)} | ${x(r.dumpRatio)} | ${s(r.backupSeconds)} | ${x(r.backupRatio)} | ${s(med(size?.rawDumpSeconds ?? []))} |`,
    );
  }
  out.push("", "## `pulumi preview` on a deployed stack", "");
  out.push("| nodes | seconds |", "|---:|---:|");
  for (const p of res.preview) {
    out.push(`| ${p.nodes} | ${p.seconds.toFixed(2)} |`);
  }
  out.push("", "## Data", "");
  out.push("| entities | rows | database | seeding (Admin API) |", "|---:|---|---:|---:|");
  for (const z of res.sizes) {
    const rowsText = Object.entries(z.entities)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    out.push(
      `| ${z.size.toLocaleString("en-US")} | ${rowsText} | ${(z.databaseBytes / 1048576).toFixed(1)} MiB | ${z.seedSeconds.toFixed(1)} s |`,
    );
  }
  out.push("", "## Every run", "");
  out.push(
    "| entities | strategy | run | outage | failed probes | reported | estimate | dump | backup | wall |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const r of res.runs) {
    out.push(
      `| ${r.size.toLocaleString("en-US")} | ${r.strategy} | ${r.run} | ${s(r.outage.longestSeconds)} | ${r.outage.failed}/${r.outage.samples} | ${s(r.reportedDowntimeSeconds)} | ${s(r.estimatedDowntimeSeconds)} | ${s(r.dumpSeconds ?? r.backupSeconds)} | ${s(r.backupSeconds)} | ${s(r.wallSeconds)} |`,
    );
  }
  if (res.timelines.length > 0) {
    out.push("", "## Timelines", "");
    for (const t of res.timelines) {
      out.push(`- [${t}](${t})`);
    }
  }
  return `${out.join("\n")}\n`;
}

/** The machine's load: before the bench (its other work) and at the end (the bench's own too). */
function loadText(m: BenchResults["machine"]): string {
  const end = `load ${m.loadAverage.map((l) => l.toFixed(2)).join(", ")} at the end, the bench's own processes included`;
  if (m.loadAtStart === undefined) {
    return end;
  }
  const before = `load ${m.loadAtStart.toFixed(2)} before it began`;
  const busy = m.loadAtStart >= 0.5 * m.cpus ? "; other work shared the machine" : "";
  return `${before}${busy}; ${end}`;
}
