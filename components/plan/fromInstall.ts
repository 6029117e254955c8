/**
 * The first upgrade's downtime from what the stack's install measured, when no upgrade has run
 * yet. The install runs the upgrade's own chain on the same host, database and runtime: the same
 * command resources handing over to each other, `kong migrations list`/`bootstrap`/`list` where
 * the upgrade runs `list`/`up`/`list`, the same nodes starting and answering `/status/ready`. So
 * the stretch from the end of its `stop` to its first ready node is the upgrade's outage minus
 * what the install had no work for:
 *
 * - client calls: where the install made fewer than the upgrade will (an empty database is not
 *   dumped; an adopted, already bootstrapped one is only listed, not migrated), each missing
 *   call costs what one took in the install (its `migrations-finish`: a single `list`);
 * - data: the dump reads the whole database, at the default seconds per MiB;
 * - stopping: the outage begins when the first old node stops answering, at the end of `stop`
 *   (a `prepared` outage, `stop` → `start` alone, adds the stop's tail: {@link stopTail}).
 *
 * The defaults alone (components/plan/estimate.ts) are sized for real Kong on an unknown machine
 * and say ~57 s where the stand-in measures a few; this is within ±30 % of the first upgrade's
 * measured outage (test/e2e/preview.test.ts). Pure: no clock, no I/O; monotone in the size.
 */
import {
  DEFAULT_SECONDS_PER_MIB,
  DowntimeEstimate,
  EstimatedStep,
  MEASURED_HIGH_FACTOR,
  MEASURED_LOW_FACTOR,
  median,
  PastRun,
  tenths,
} from "./estimate";
import { StepName, StepSkeleton } from "./steps";

const MIB = 1024 * 1024;

/** The steps whose outage an install's span stands for (an upgrade's; not a restore's). */
const COVERED: ReadonlySet<StepName> = new Set<StepName>([
  "stop",
  "backup",
  "migrations-up",
  "migrations-finish",
  "start",
]);

/**
 * Client calls (`kong migrations list`, `up`, `pg_dump`, …) each outage step of an upgrade makes
 * at least: backup `list` + `pg_dump -Fc` and its read-back; migrations-up `list` + `up` + `list`;
 * migrations-finish `list`. An install may have made fewer: an empty database is not dumped, and
 * an adopted, already bootstrapped one is not migrated (`list` only).
 */
const UPGRADE_CALLS: Readonly<Partial<Record<StepName, number>>> = {
  backup: 2,
  "migrations-up": 3,
  "migrations-finish": 1,
};

/**
 * An upgrade's `kong migrations up` against the install's `bootstrap` on the same machine: the
 * CLI's fixed cost (start, connect, lock, `schema_meta`) is in both, the migrations' own work is
 * all of them in `bootstrap` and the hop's few in `up`. Measured on the stand-in (2 cores):
 * `up` 3.5.0 → 3.6.0 0.24 s against `bootstrap` 3.5.0 0.54 s. With the outage's state read
 * before the stop, the install's `finish` makes no call, so no per-call time stands in for it.
 * Real Kong's bootstrap runs more migrations against its fixed cost: half is on the long side.
 */
const UP_OF_BOOTSTRAP = 0.5;

/** What one install says the upgrade's outage will be, at `databaseBytes`. */
function fromOneInstall(
  run: PastRun & { installSpanSeconds: number },
  down: readonly StepSkeleton[],
  databaseBytes: number | undefined,
): number {
  const runMib = (run.databaseBytes ?? 0) / MIB;
  const mib = databaseBytes === undefined ? runMib : databaseBytes / MIB;
  const rate = (step: StepName) => DEFAULT_SECONDS_PER_MIB[step]?.expectedSeconds ?? 0;
  const took = (step: StepName) =>
    run.steps.filter((s) => s.name === step).reduce((total, s) => total + s.seconds, 0);
  // One client call on this machine: the install's finish is a single `list` of a database
  // that is up to date (freshly bootstrapped or adopted).
  const call = took("migrations-finish");
  let total = run.installSpanSeconds;
  for (const s of down) {
    const calls = UPGRADE_CALLS[s.name];
    if (calls === undefined) {
      continue; // stop: its work ends as the outage begins; start: the same work as the install's
    }
    // The dump reads the whole database; migrations only the rows the install did not have.
    const data = s.name === "backup" ? mib : Math.max(0, mib - runMib);
    // The install's `migrations-up` was `bootstrap`: every migration, where an upgrade's `up`
    // runs only the hop's; it stands for the upgrade's at {@link UP_OF_BOOTSTRAP}.
    const tookHere = took(s.name) * (s.name === "migrations-up" ? UP_OF_BOOTSTRAP : 1);
    const needs =
      Math.max(tookHere, calls * call) + (s.scalesWithDatabase ? rate(s.name) * data : 0);
    total += needs - took(s.name);
  }
  return total;
}

/**
 * How often `kong quit` checks whether its node has exited (Kong's `kong/cmd/quit.lua`: a
 * `kill.is_running` every `ngx.sleep(0.2)`; the stand-in does the same).
 */
const QUIT_POLL_SECONDS = 0.2;

/**
 * The stop's tail: from the first old node going quiet to the end of `stop`, a stretch of the
 * outage the install cannot have measured, since it stopped nothing. After the node goes quiet,
 * `kong quit` notices its exit at its next poll (at most {@link QUIT_POLL_SECONDS} later) and
 * exits; then the runner checks the node's pid and ends the step. The poll is Kong's constant;
 * the runner's part is measured: the install's own `stop` step ran the same discovery and checks
 * with nothing to stop. Where Y starts once X's listeners close (`overlaps`, the local runtime),
 * the quit poll is not waited for: the step ends when the ports refuse connections. Left out:
 * `prepared`'s write-mark check after the stop (a database round trip). In test/e2e/strategies.test.ts (loaded 2-core machine) the tails were 0.44 s and 0.32 s
 * where this gives 0.24 s and 0.22 s; the first estimates came out 9 % below and 22 % above the
 * outage (15 % below and 8 % above without the tail; 30 % below in the README's idle bench run).
 * A whole client call (the install's single `list`, 0.8–1.1 s) was tried and overshot by 60 %.
 */
function stopTail(run: PastRun, overlaps: boolean): number {
  const runnerSteps = run.steps.filter((s) => s.name === "stop");
  return (
    (overlaps ? 0 : QUIT_POLL_SECONDS) + runnerSteps.reduce((total, s) => total + s.seconds, 0)
  );
}

/**
 * What one install says an outage of `stop` → `start` alone (a `prepared` upgrade's) will be:
 * the stop's tail ({@link stopTail}), the hand-over into `start` and the start to the first ready
 * node; none of them scales with data.
 */
function startOnlyFromInstall(run: PastRun, overlaps: boolean): number | undefined {
  const span = run.installStartSpanSeconds;
  return span === undefined ? undefined : stopTail(run, overlaps) + span;
}

/** Outage steps whose work is only the nodes' (no dump, no migrations): a `prepared` outage. */
const NODES_ONLY: ReadonlySet<StepName> = new Set<StepName>(["stop", "start"]);

/**
 * The downtime from the installs in `history`; undefined when none recorded its span or the
 * downtime has steps an install does not stand for (a rollback's restore).
 */
export function installDowntime(
  steps: readonly (StepSkeleton & EstimatedStep)[],
  history: readonly PastRun[],
  databaseBytes: number | undefined,
  stopOverlapsStart = false,
): DowntimeEstimate | undefined {
  const down = steps.filter((s) => s.gatewayDown);
  if (down.length === 0 || down.some((s) => !COVERED.has(s.name))) {
    return undefined;
  }
  const nodesOnly = down.every((s) => NODES_ONLY.has(s.name));
  const installs = history.filter(
    (r): r is PastRun & { installSpanSeconds: number } =>
      r.kind === "install" &&
      typeof r.installSpanSeconds === "number" &&
      (!nodesOnly || typeof r.installStartSpanSeconds === "number"),
  );
  if (installs.length === 0) {
    return undefined;
  }
  const each = installs.map((r) =>
    nodesOnly
      ? (startOnlyFromInstall(r, stopOverlapsStart) as number)
      : fromOneInstall(r, down, databaseBytes),
  );
  return {
    lowSeconds: tenths(Math.min(...each) * MEASURED_LOW_FACTOR),
    expectedSeconds: tenths(median(each)),
    highSeconds: tenths(Math.max(...each) * MEASURED_HIGH_FACTOR),
    source: "install",
    runs: installs.length,
    steps: down.map((s) => s.name),
    defaultedSteps: [],
  };
}
