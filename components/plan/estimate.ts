/**
 * How long each step and the downtime will take. Measured durations from this stack's earlier
 * changes beat any default, because they include this database, this host and this network; the
 * defaults below only have to be sane and pessimistic enough for a first upgrade.
 *
 * Two promises callers rely on: the result depends only on the inputs (no clock, no randomness),
 * and no estimate decreases when the database grows (each step is a non-decreasing function of
 * the size, and sums, minima, maxima and medians of those are too).
 */
import { PlanError } from "./errors";
import type { Strategy } from "../contract/steps";
import { StepName, StepSkeleton } from "./steps";

/** A duration estimate in seconds: optimistic, most likely, pessimistic. */
export interface DurationRange {
  readonly lowSeconds: number;
  readonly expectedSeconds: number;
  readonly highSeconds: number;
}

/** A step's estimate and where its numbers came from. */
export interface StepEstimate extends DurationRange {
  /** `measured`: from earlier runs of this stack; `default`: from the constants below. */
  readonly source: "measured" | "default";
  /** How many earlier runs measured this step (0 for defaults). */
  readonly runs: number;
}

/** One step as an earlier run measured it (the stack's exported `steps`). */
export interface MeasuredStep {
  readonly name: string;
  readonly seconds: number;
}

/** An earlier change of this stack: its measured steps and the database size at the time. */
export interface PastRun {
  readonly steps: readonly MeasuredStep[];
  /** Database size when it ran; absent when unknown (then it is not scaled). */
  readonly databaseBytes?: number;
  /**
   * The outage that run measured (first old node stopped serving → first new node ready). When
   * runs carry it, the downtime estimate starts from it instead of summing per-step numbers:
   * it includes the time between steps and ends at the first ready node, as users see it.
   */
  readonly downtimeSeconds?: number;
  /**
   * `install`: the stack's fresh install. It ran the upgrade's chain with less to do in two
   * steps (no node to stop, an empty database not backed up), so those two of its steps never
   * stand for an upgrade's; the rest do. @default "upgrade"
   */
  readonly kind?: "install" | "upgrade";
  /**
   * Installs: seconds from the end of `stop` to the first node answering ready — the stretch an
   * upgrade's outage covers (hand-offs, migrations, start) minus the work the install skipped.
   */
  readonly installSpanSeconds?: number;
  /**
   * Installs: seconds from the end of the step before `start` to the first node answering ready
   * — a `prepared` upgrade's whole outage (its `stop` hands straight over to `start`).
   */
  readonly installStartSpanSeconds?: number;
  /**
   * Upgrades: the strategy that ran; its measured outage only stands for the same strategy.
   * @default "in-place" (and on stacks recorded before strategies)
   */
  readonly strategy?: Strategy;
}

/** Steps an install runs with less to do than an upgrade: its numbers never stand for one. */
export const INSTALL_UNLIKE_UPGRADE: readonly StepName[] = ["stop", "backup"];

const range = (
  lowSeconds: number,
  expectedSeconds: number,
  highSeconds: number,
): DurationRange => ({
  lowSeconds,
  expectedSeconds,
  highSeconds,
});

/**
 * Fixed cost of each step whatever the database size, for when nothing was measured. `stop`
 * allows for `kong quit`'s 10 s graceful drain plus a forced stop; `start` for Kong's boot,
 * router build and `/status/ready`; migration steps for starting a container, connecting and
 * taking the migrations lock. Node steps run on all nodes in parallel, so node count is not a
 * factor.
 */
export const DEFAULT_STEP_SECONDS: Readonly<Record<StepName, DurationRange>> = {
  preflight: range(5, 15, 60),
  stop: range(3, 10, 30),
  backup: range(2, 5, 20),
  "migrations-up": range(5, 15, 60),
  "migrations-finish": range(3, 10, 45),
  start: range(5, 15, 60),
  verify: range(3, 10, 30),
  rollback: range(10, 30, 120),
  restore: range(5, 15, 60),
  decommission: range(2, 5, 20),
};

/**
 * Extra seconds per MiB of database for steps that read or rewrite all of it, for when nothing
 * was measured: `pg_dump -Fc` plus reading the dump back at 100 … 10 MiB/s; `pg_restore`, which
 * rebuilds indexes, about twice as slow; migrations that rewrite plugin tables (rate-limiting,
 * oauth2 tokens) at a similar rate (Kong/kong#5934: large databases are slow to migrate).
 */
export const DEFAULT_SECONDS_PER_MIB: Readonly<Partial<Record<StepName, DurationRange>>> = {
  backup: range(0.01, 0.03, 0.1),
  "migrations-up": range(0.005, 0.02, 0.1),
  "migrations-finish": range(0.005, 0.02, 0.1),
  restore: range(0.02, 0.06, 0.25),
};

/** Database size assumed when none is given: a mid-sized Kong config (the plan warns about it). */
export const DEFAULT_DATABASE_BYTES = 100 * 1024 * 1024;

/**
 * Measured runs give one number per run; the range around them widens by these factors (low =
 * fastest run × 0.8, high = slowest run × 1.5) because a few runs do not show the spread.
 */
export const MEASURED_LOW_FACTOR = 0.8;
/** See {@link MEASURED_LOW_FACTOR}. */
export const MEASURED_HIGH_FACTOR = 1.5;

/**
 * Runs on databases smaller than this (MiB) are dominated by fixed costs, so their seconds/MiB
 * would explode when extrapolated; growth beyond their size is costed at the default rate.
 */
export const MIN_MIB_FOR_MEASURED_RATE = 64;

const MIB = 1024 * 1024;

/** Throws an `input` refusal naming the first malformed field of `history`. */
export function validateHistory(history: readonly PastRun[]): void {
  history.forEach((run, i) => {
    const bytes = run.databaseBytes;
    if (bytes !== undefined && !(Number.isFinite(bytes) && bytes >= 0)) {
      throw new PlanError(
        "input",
        `history[${i}].databaseBytes ${bytes} is not a size; give the database size in bytes ` +
          `(0 or more) or leave it out`,
      );
    }
    for (const key of ["installSpanSeconds", "installStartSpanSeconds"] as const) {
      const span = run[key];
      if (span !== undefined && !(Number.isFinite(span) && span >= 0)) {
        throw new PlanError(
          "input",
          `history[${i}].${key} ${span} is not a duration; give measured seconds (0 or more) or leave it out`,
        );
      }
    }
    const down = run.downtimeSeconds;
    if (down !== undefined && !(Number.isFinite(down) && down >= 0)) {
      throw new PlanError(
        "input",
        `history[${i}].downtimeSeconds ${down} is not a duration; give measured seconds (0 or more) or leave it out`,
      );
    }
    run.steps.forEach((step, j) => {
      if (!(Number.isFinite(step.seconds) && step.seconds >= 0)) {
        throw new PlanError(
          "input",
          `history[${i}].steps[${j}].seconds ${step.seconds} (${step.name}) is not a duration; ` +
            `give measured seconds (0 or more)`,
        );
      }
    });
  });
}

/** Validates a database size; `setting` names the field for the message. */
export function validateBytes(bytes: number | undefined, setting: string): void {
  if (bytes !== undefined && !(Number.isFinite(bytes) && bytes >= 0)) {
    throw new PlanError(
      "input",
      `${setting} ${bytes} is not a database size; give it in bytes (for example 524288000 for ` +
        `500 MiB) or leave it out to assume ${DEFAULT_DATABASE_BYTES / MIB} MiB`,
    );
  }
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

/** Whole seconds, rounded up: monotone, and a step never shows as taking 0 s when it costs time. */
const whole = (seconds: number): number => Math.ceil(seconds - 1e-9);

/**
 * One run's duration for a step, moved to the current database size. Growth is costed at the
 * run's own seconds/MiB (so a big database scales proportionally) unless the run's database was
 * too small to give a meaningful rate; shrinking never lowers the number (pessimistic, and it
 * keeps the estimate monotone).
 */
function scaleRun(
  seconds: number,
  runBytes: number | undefined,
  bytes: number | undefined,
  step: StepName,
): number {
  if (bytes === undefined) {
    return seconds;
  }
  const runMib = (runBytes ?? 0) / MIB;
  const growthMib = Math.max(0, bytes / MIB - runMib);
  const defaultRate = (DEFAULT_SECONDS_PER_MIB[step] as DurationRange).expectedSeconds;
  const rate = runMib >= MIN_MIB_FOR_MEASURED_RATE ? seconds / runMib : defaultRate;
  return seconds + rate * growthMib;
}

/** Per-run measured seconds for `name` (summed if a run recorded it more than once), by run index. */
function samples(history: readonly PastRun[], name: StepName): Map<number, number> {
  const found = new Map<number, number>();
  history.forEach((run, i) => {
    if (run.kind === "install" && INSTALL_UNLIKE_UPGRADE.includes(name)) {
      return;
    }
    for (const s of run.steps) {
      if (s.name === name) {
        found.set(i, (found.get(i) ?? 0) + s.seconds);
      }
    }
  });
  return found;
}

/** A step estimate plus which earlier runs fed it (to count runs across the downtime). */
export interface EstimatedStep {
  readonly estimate: StepEstimate;
  readonly runIndices: readonly number[];
}

/**
 * Estimates one step from `history` when any run measured it, else from the defaults.
 * `databaseBytes` undefined means unknown: measured runs are used as they are and the defaults
 * assume {@link DEFAULT_DATABASE_BYTES}.
 */
export function estimateStep(
  step: StepSkeleton,
  history: readonly PastRun[],
  databaseBytes: number | undefined,
): EstimatedStep {
  if (step.idle) {
    // It only confirms there is nothing to do: a command or two, whatever was measured before.
    return {
      estimate: { lowSeconds: 0, expectedSeconds: 0.5, highSeconds: 2, source: "default", runs: 0 },
      runIndices: [],
    };
  }
  const measured = samples(history, step.name);
  if (measured.size > 0) {
    const scaled = [...measured].map(([i, seconds]) =>
      step.scalesWithDatabase
        ? scaleRun(seconds, (history[i] as PastRun).databaseBytes, databaseBytes, step.name)
        : seconds,
    );
    return {
      estimate: {
        lowSeconds: whole(Math.min(...scaled) * MEASURED_LOW_FACTOR),
        expectedSeconds: whole(median(scaled)),
        highSeconds: whole(Math.max(...scaled) * MEASURED_HIGH_FACTOR),
        source: "measured",
        runs: measured.size,
      },
      runIndices: [...measured.keys()],
    };
  }
  const fixed = DEFAULT_STEP_SECONDS[step.name];
  const perMib = step.scalesWithDatabase ? DEFAULT_SECONDS_PER_MIB[step.name] : undefined;
  const mib = (databaseBytes ?? DEFAULT_DATABASE_BYTES) / MIB;
  const at = (key: keyof DurationRange): number =>
    whole(fixed[key] + (perMib ? perMib[key] * mib : 0));
  return {
    estimate: {
      lowSeconds: at("lowSeconds"),
      expectedSeconds: at("expectedSeconds"),
      highSeconds: at("highSeconds"),
      source: "default",
      runs: 0,
    },
    runIndices: [],
  };
}

/** The downtime of a plan: the steps with the gateway down, and where their numbers came from. */
export interface DowntimeEstimate extends DurationRange {
  /**
   * `measured`: earlier upgrades measured it; `install`: from what the stack's install measured
   * (no upgrade yet); `defaults`: nothing measured.
   */
  readonly source: "measured" | "install" | "defaults";
  /** How many earlier runs contributed measurements to the window. */
  readonly runs: number;
  /** The steps inside the window, in order. */
  readonly steps: StepName[];
  /** Steps inside the window that had no measurement and used defaults. */
  readonly defaultedSteps: StepName[];
}

/** Sums the estimates of the steps with `gatewayDown` into the downtime window. */
export function summarizeDowntime(
  steps: readonly (StepSkeleton & EstimatedStep)[],
): DowntimeEstimate {
  const down = steps.filter((s) => s.gatewayDown);
  const sum = (key: keyof DurationRange): number =>
    down.reduce((total, s) => total + s.estimate[key], 0);
  const runs = new Set(down.flatMap((s) => s.runIndices));
  return {
    lowSeconds: sum("lowSeconds"),
    expectedSeconds: sum("expectedSeconds"),
    highSeconds: sum("highSeconds"),
    source: runs.size > 0 ? "measured" : "defaults",
    runs: runs.size,
    steps: down.map((s) => s.name),
    defaultedSteps: down.filter((s) => s.estimate.source === "default").map((s) => s.name),
  };
}

/** Rounds up to a tenth of a second: small outages stay visible, and the estimate stays monotone. */
export const tenths = (seconds: number): number => Math.ceil(seconds * 10 - 1e-9) / 10;

/**
 * The downtime from earlier runs' measured outages, each grown by what its database-scaled steps
 * would cost at today's size; undefined when no run of `strategy` measured one (an outage
 * measured under one strategy says nothing about another's).
 */
export function measuredDowntime(
  steps: readonly (StepSkeleton & EstimatedStep)[],
  history: readonly PastRun[],
  databaseBytes: number | undefined,
  strategy: Strategy = "in-place",
): DowntimeEstimate | undefined {
  const runs = history
    .map((run, i) => ({ run, i }))
    .filter(
      ({ run }) =>
        run.downtimeSeconds !== undefined &&
        Number.isFinite(run.downtimeSeconds) &&
        (run.strategy ?? "in-place") === strategy,
    );
  if (runs.length === 0) {
    return undefined;
  }
  const down = steps.filter((s) => s.gatewayDown);
  const scaled = runs.map(({ run }) => {
    let total = run.downtimeSeconds as number;
    for (const s of down.filter((d) => d.scalesWithDatabase)) {
      const measured = run.steps
        .filter((m) => m.name === s.name)
        .reduce((a, m) => a + m.seconds, 0);
      total += scaleRun(measured, run.databaseBytes, databaseBytes, s.name) - measured;
    }
    return total;
  });
  return {
    lowSeconds: tenths(Math.min(...scaled) * MEASURED_LOW_FACTOR),
    expectedSeconds: tenths(median(scaled)),
    highSeconds: tenths(Math.max(...scaled) * MEASURED_HIGH_FACTOR),
    source: "measured",
    runs: runs.length,
    steps: down.map((s) => s.name),
    defaultedSteps: [],
  };
}
