/**
 * The step table: the one place that says which steps a change runs, in which order, where each
 * runs, whether the gateway is down meanwhile, and what its failure triggers. The command
 * resources (components/chain.ts `chainSteps`), the plan and its estimate (components/plan), the
 * runner's dispatch and its automatic rollback (components/runner) all read it; nothing else lists
 * step names. Pure: no Pulumi, no I/O.
 *
 * Step names are API: the stack exports measured durations under them (`lastUpgrade.steps`,
 * `deployment.history`), and the next estimate looks earlier measurements up by them.
 */

/** What a chain does. */
export type ChainKind = "install" | "upgrade" | "rollback";

/**
 * How a step exists in the stack: a command resource of the chain, the node resources of the
 * target cluster (each node's creation starts it), or Pulumi's deletion of the replaced cluster's
 * nodes at the end of the update.
 */
export type StepResource = "chain" | "nodes" | "deletion";

/**
 * Where a step acts: the nodes of the version being replaced, the nodes of the version being
 * brought up, a one-off job of the target version (migrations), or the database itself.
 */
export type StepTarget = "deployed-nodes" | "target-nodes" | "migration-job" | "database";

/** One row of the table. */
export interface StepRow {
  readonly resource: StepResource;
  /** A failure of this step (in an upgrade or a rollback by version) rolls the change back. */
  readonly rollsBackOnFailure: boolean;
  /**
   * The database is certainly as before the change when this step fails (nothing to restore: the
   * automatic rollback only restarts the old nodes).
   */
  readonly databaseUntouchedIfItFails: boolean;
}

/** Every step, by name. `rollback` is the automatic rollback's own journal entry, not a chain step. */
export const STEP_TABLE = {
  preflight: { resource: "chain", rollsBackOnFailure: false, databaseUntouchedIfItFails: true },
  stop: { resource: "chain", rollsBackOnFailure: true, databaseUntouchedIfItFails: true },
  backup: { resource: "chain", rollsBackOnFailure: true, databaseUntouchedIfItFails: true },
  "migrations-up": {
    resource: "chain",
    rollsBackOnFailure: true,
    databaseUntouchedIfItFails: false,
  },
  "migrations-finish": {
    resource: "chain",
    rollsBackOnFailure: true,
    databaseUntouchedIfItFails: false,
  },
  restore: { resource: "chain", rollsBackOnFailure: true, databaseUntouchedIfItFails: false },
  start: { resource: "nodes", rollsBackOnFailure: true, databaseUntouchedIfItFails: false },
  verify: { resource: "chain", rollsBackOnFailure: true, databaseUntouchedIfItFails: false },
  decommission: {
    resource: "deletion",
    rollsBackOnFailure: false,
    databaseUntouchedIfItFails: false,
  },
  rollback: { resource: "chain", rollsBackOnFailure: false, databaseUntouchedIfItFails: false },
} as const satisfies Record<string, StepRow>;

/** A step's name. */
export type StepName = keyof typeof STEP_TABLE;

/** Every step name, in table order. */
export const STEP_NAMES = Object.keys(STEP_TABLE) as StepName[];

/**
 * How an upgrade replaces the old version (X) by the new one (Y) — `kong-gateway:strategy`.
 * - `in-place`: stop X, back up the quiet database, `up`, `finish`, start Y (Kong's runbook).
 * - `prepared`: back up and `up` while X serves (X runs on the database until `finish`, KONG.md
 *   §5), then stop X, start Y, verify, and `finish` last: the outage is only stop + start.
 * - `rolling`: as `prepared`, but each node is replaced on its own (stop X_i, start Y_i on the
 *   same ports, wait ready), so with two or more nodes some node always serves.
 */
export type Strategy = "in-place" | "prepared" | "rolling";

/** Every strategy, the default first. */
export const STRATEGIES: readonly Strategy[] = ["in-place", "prepared", "rolling"];

/**
 * The order of each chain. The order is the safety argument. `in-place`: nothing writes to the
 * database while the old nodes run, the backup is taken (and read back) before the first
 * migration, and the new nodes start only after `finish`. `prepared` and `rolling` rely on Kong's
 * guarantee that X still runs on the database after `up` (KONG.md §5): backup and `up` run while
 * X serves, and `finish` — the point after which X can no longer run — comes last, after Y is
 * verified; `rolling`'s `start` stops each X node just before its Y node starts. An install runs
 * the upgrade's steps (each finds little to do: nothing to stop, an empty database to skip
 * backing up, `bootstrap` instead of `up`), so a re-run over a half-done install is as safe as an
 * upgrade's.
 */
export const CHAIN_ORDER: Readonly<Record<ChainKind, readonly StepName[]>> = {
  install: ["preflight", "stop", "backup", "migrations-up", "migrations-finish", "start", "verify"],
  upgrade: [
    "preflight",
    "stop",
    "backup",
    "migrations-up",
    "migrations-finish",
    "start",
    "verify",
    "decommission",
  ],
  rollback: ["preflight", "stop", "backup", "restore", "start", "verify"],
};

/** The upgrade's order per strategy (`in-place` is {@link CHAIN_ORDER}'s). */
const UPGRADE_ORDER: Readonly<Record<Strategy, readonly StepName[]>> = {
  "in-place": CHAIN_ORDER.upgrade,
  prepared: [
    "preflight",
    "backup",
    "migrations-up",
    "stop",
    "start",
    "verify",
    "migrations-finish",
    "decommission",
  ],
  rolling: [
    "preflight",
    "backup",
    "migrations-up",
    "start",
    "verify",
    "migrations-finish",
    "decommission",
  ],
};

/**
 * The steps during which no node serves, per strategy: the downtime. `rolling` has none (with two
 * or more nodes one always serves); installs and rollbacks by version are as their chains say.
 */
const DOWN_STEPS: Readonly<Record<Strategy, readonly StepName[]>> = {
  "in-place": ["stop", "backup", "migrations-up", "migrations-finish", "start"],
  prepared: ["stop", "start"],
  rolling: [],
};

/** The steps of a chain in order; only upgrades depend on the strategy. */
export function chainOrder(kind: ChainKind, strategy: Strategy = "in-place"): readonly StepName[] {
  return kind === "upgrade" ? UPGRADE_ORDER[strategy] : CHAIN_ORDER[kind];
}

/** Whether the gateway serves nothing while `step` of an upgrade with `strategy` runs. */
export function gatewayDownDuring(step: StepName, strategy: Strategy): boolean {
  return DOWN_STEPS[strategy].includes(step);
}

/**
 * The steps one runner process runs back to back: an upgrade's outage (its steps during which
 * no node serves, in chain order), started by the command resource of its first step. Each is
 * still a step of its own (its lock, time limit, journal entry, report line and rollback); the
 * resources of the later ones find theirs done in the journal and return at once, after the
 * gateway serves again, so no hand-off between command resources (~0.25 s each) falls inside
 * the outage. An install runs the same stretch as an `in-place` upgrade (so what it measures
 * stands for the first upgrade's outage, components/plan/fromInstall.ts); a rollback by version
 * runs one step per process, and so does `docker` (whose containers Pulumi creates). Empty when
 * there is nothing to run together.
 */
export function outageRun(
  kind: ChainKind,
  strategy: Strategy,
  runnerStartsNodes: boolean,
): StepName[] {
  if (kind === "rollback" || !runnerStartsNodes) {
    // On docker (Pulumi creates the containers) the steps run one per process, as before: not
    // yet proven together there (test/docker/engine.test.ts drives them step by step).
    return [];
  }
  const like = kind === "install" ? "in-place" : strategy;
  const run = chainOrder(kind, like).filter((s) => gatewayDownDuring(s, like));
  return run.length > 1 ? run : [];
}

/** The chain's command resources before and after the node starts, in order. */
export function chainResources(
  kind: ChainKind,
  strategy: Strategy = "in-place",
): { before: StepName[]; after: StepName[] } {
  const order = chainOrder(kind, strategy);
  const startAt = order.indexOf("start");
  const chain = (names: readonly StepName[]) =>
    names.filter((n) => STEP_TABLE[n].resource === "chain");
  return { before: chain(order.slice(0, startAt)), after: chain(order.slice(startAt + 1)) };
}

/** The chain's last command resource: the one whose output carries the change's report. */
export function reportingStep(kind: ChainKind, strategy: Strategy = "in-place"): StepName {
  const { after } = chainResources(kind, strategy);
  return after.at(-1) ?? "verify";
}

/** Whether a failure of `step` rolls the change back automatically. */
export function rollsBackOnFailure(step: StepName): boolean {
  return STEP_TABLE[step].rollsBackOnFailure;
}

/**
 * Whether the automatic rollback must restore the backup when `step` failed. `in-place`: when the
 * database may have changed. `prepared` and `rolling`: only from `migrations-finish` on — before
 * it, the database still serves X (KONG.md §5), so the rollback restarts X on it as it is and
 * nothing written since the backup is lost.
 */
export function restoreOnFailure(kind: ChainKind, strategy: Strategy, step: StepName): boolean {
  if (kind !== "upgrade" || strategy === "in-place") {
    return !STEP_TABLE[step].databaseUntouchedIfItFails;
  }
  const order = UPGRADE_ORDER[strategy];
  return order.indexOf(step) >= order.indexOf("migrations-finish");
}

/** The steps a runner process runs by name (`node run.js <step>`). */
export function runnerSteps(): StepName[] {
  return STEP_NAMES.filter((n) => STEP_TABLE[n].resource === "chain" && n !== "rollback");
}

/**
 * The steps (and the settings check, a runner command of its own) that have a time limit
 * (components/runner/infra/limits.ts; `timeouts.stepSeconds.<step>` names them).
 */
export const LIMITED_STEPS = [
  "settings",
  "preflight",
  "stop",
  "backup",
  "migrations-up",
  "migrations-finish",
  "restore",
  "start",
  "verify",
] as const;

/** One of {@link LIMITED_STEPS}. */
export type LimitedStep = (typeof LIMITED_STEPS)[number];
