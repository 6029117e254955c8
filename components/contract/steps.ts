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
 * The order of each chain. The order is the safety argument: nothing writes to the database while
 * the old nodes run, the backup is taken (and read back) before the first migration, and the new
 * nodes start only after `finish`. An install runs the upgrade's steps (each finds little to do:
 * nothing to stop, an empty database to skip backing up, `bootstrap` instead of `up`), so a
 * re-run over a half-done install is as safe as an upgrade's.
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

/** The chain's command resources before and after the node starts, in order. */
export function chainResources(kind: ChainKind): { before: StepName[]; after: StepName[] } {
  const order = CHAIN_ORDER[kind];
  const startAt = order.indexOf("start");
  const chain = (names: readonly StepName[]) =>
    names.filter((n) => STEP_TABLE[n].resource === "chain");
  return { before: chain(order.slice(0, startAt)), after: chain(order.slice(startAt + 1)) };
}

/** Whether a failure of `step` rolls the change back automatically. */
export function rollsBackOnFailure(step: StepName): boolean {
  return STEP_TABLE[step].rollsBackOnFailure;
}

/** Whether the database may have changed when `step` failed (the rollback then restores it). */
export function databaseMayHaveChanged(step: StepName): boolean {
  return !STEP_TABLE[step].databaseUntouchedIfItFails;
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
