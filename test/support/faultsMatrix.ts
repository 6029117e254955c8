/**
 * The fault matrix of issue #15, as data: every chain (install, upgrade per strategy, rollback by
 * version), every step of it, four faults — the step fails, the process group of what runs it is
 * killed while it runs, PostgreSQL restarts while it runs, another `kong migrations` holds the
 * lock — and what each cell's outcome must be, whoever drives it: the step runner directly
 * (test/support/faults.ts) or a real `pulumi up` (test/support/faultsEngine.ts).
 */
import assert from "node:assert/strict";
import { StepSpec } from "../../components/contract/spec";
import { chainOrder, restoreOnFailure, Strategy } from "../../components/contract/steps";
import type { JournalEntry } from "../../components/state/journal";

/** What goes wrong while a step runs. */
export type Fault = "fail" | "kill" | "pg-restart" | "lock";

/** Every fault, in the matrix's column order. */
export const FAULTS: readonly Fault[] = ["fail", "kill", "pg-restart", "lock"];

/** One chain of the matrix. */
export interface ChainCase {
  readonly name: string;
  readonly kind: StepSpec["kind"];
  readonly strategy?: Strategy;
}

/** The chains: install, the upgrade per strategy, the rollback by version. */
export const CHAINS: readonly ChainCase[] = [
  { name: "install", kind: "install" },
  { name: "upgrade in-place", kind: "upgrade", strategy: "in-place" },
  { name: "upgrade prepared", kind: "upgrade", strategy: "prepared" },
  { name: "upgrade rolling", kind: "upgrade", strategy: "rolling" },
  { name: "rollback", kind: "rollback" },
];

/** The installed versions: X (installed), Y (upgraded to, with a teardown left for `finish`). */
export const X = "3.6.0";
export const Y = "3.6.1";

/** The version a chain brings up. */
export function targetOf(chain: ChainCase): string {
  return chain.kind === "upgrade" ? Y : X;
}

/** The version a chain replaces (an install replaces none). */
export function sourceOf(chain: ChainCase): string | undefined {
  return chain.kind === "upgrade" ? X : chain.kind === "rollback" ? Y : undefined;
}

/** The snapshot a chain starts from: nothing installed, X installed and seeded, or Y. */
export function baseOf(chain: ChainCase): "empty" | "x" | "y" {
  return chain.kind === "install" ? "empty" : chain.kind === "upgrade" ? "x" : "y";
}

/** One cell: a chain, one of its steps, one fault. */
export interface Cell {
  readonly chain: ChainCase;
  readonly step: string;
  readonly fault: Fault;
}

/** Every cell of the matrix, chain by chain, step by step (the step table's order). */
export function allCells(): Cell[] {
  return CHAINS.flatMap((chain) =>
    chainOrder(chain.kind, chain.strategy).flatMap((step) =>
      FAULTS.map((fault) => ({ chain, step, fault })),
    ),
  );
}

/** The cells named `[chain, step, fault]`, e.g. `["rollback", "restore", "fail"]`. */
export function cellsNamed(names: readonly (readonly [string, string, Fault])[]): Cell[] {
  return names.map(([chain, step, fault]) => {
    const c = CHAINS.find((x) => x.name === chain);
    assert.ok(c, `${chain} is a chain of the matrix`);
    assert.ok(
      chainOrder(c.kind, c.strategy).includes(step as never),
      `${step} is a step of ${chain}`,
    );
    return { chain: c, step, fault };
  });
}

/** A cell's label, e.g. `upgrade prepared / migrations-up / kill`. */
export function label(c: Cell): string {
  return `${c.chain.name} / ${c.step} / ${c.fault}`;
}

/** How the fault showed: the step went on unaffected, failed (rolled back or not), was killed. */
export type Effect = "unaffected" | "failed" | "rolled back" | "killed";

/** What happened in one cell. */
export interface CellResult {
  readonly cell: Cell;
  readonly effect: Effect;
  /** The evidence that the fault landed in the step (pid, lock row, restart). */
  readonly evidence: string;
  /** The whole cell's time, fault, recovery and checks included. */
  readonly seconds: number;
  /** Of which putting its snapshot back (the engine cells' restore before the `up`). */
  readonly restoreSeconds?: number;
}

/** The configuration hashes a world compares with (test/support/faultsEvidence.ts `dataHash`). */
export interface Hashes {
  /** Nothing installed (masked). */
  readonly empty: string;
  /** X just installed (masked: `bootstrap` makes ids and times up). */
  readonly installed: string;
  /** X installed and seeded: the upgrade's start, the rollback's end. */
  readonly x: string;
  /** After the upgrade's `kong migrations up` only (X still runs on it). */
  readonly migratedUp: string;
  /** Y, upgraded and finished: the upgrade's end, the rollback's start. */
  readonly y: string;
}

/** The hashes a chain starts from and must end with, and whether they are masked. */
export function expectations(
  chain: ChainCase,
  h: Hashes,
): { before: string; after: string; masked: boolean } {
  if (chain.kind === "install") {
    return { before: h.empty, after: h.installed, masked: true };
  }
  if (chain.kind === "upgrade") {
    return { before: h.x, after: h.y, masked: false };
  }
  return { before: h.y, after: h.x, masked: false };
}

/**
 * The hash the data must have right after the automatic rollback of `cell`: as before the change,
 * except a `prepared`/`rolling` upgrade whose failure came before `finish` once `up` had migrated
 * (X runs on the migrated database, which is kept as it is).
 */
export function afterRollback(cell: Cell, h: Hashes, attempt: readonly JournalEntry[]): string {
  const { chain } = cell;
  const migratedUp = attempt.some(
    (e) => e.step === "migrations-up" && e.ok && e.details?.state !== "up-to-date",
  );
  // The step whose failure started the rollback: the faulted one, or a later one it led to (a
  // migrations lock held past the faulted step fails `finish`, journaled as not ok).
  const failed = attempt.find((e) => !e.ok && e.step !== "rollback")?.step ?? cell.step;
  const kept =
    chain.kind === "upgrade" &&
    !restoreOnFailure(chain.kind, chain.strategy ?? "in-place", failed as never) &&
    migratedUp;
  return kept ? h.migratedUp : expectations(chain, h).before;
}

/** Which of the chain's known states `hash` is (for a failed assertion's message). */
export function nameOf(hash: string, h: Hashes): string {
  const known = Object.entries(h).find(([, v]) => v === hash);
  return known ? `${hash} (${known[0]})` : `${hash} (none of ${Object.keys(h).join(", ")})`;
}

/**
 * What a fault must do to its step, whoever runs it: a PostgreSQL restart and the migrations lock
 * leave every step but the migrations (and preflight, which refuses) unaffected. `output` is what
 * the step (or the `pulumi up` that ran it) printed, for the messages.
 */
export function checkEffect(cell: Cell, effect: Effect, output: string): void {
  if (cell.fault === "fail") {
    assert.notEqual(effect, "unaffected", `a failed ${cell.step} went on:\n${output}`);
  } else if (cell.fault === "pg-restart") {
    // The server is back before the step does its work: every step copes (verify gives the
    // nodes a few seconds to reconnect), nothing fails or rolls back.
    assert.equal(effect, "unaffected", `${cell.step} copes with a PostgreSQL restart:\n${output}`);
  } else if (cell.fault === "lock" && cell.step === "preflight") {
    // Refused before anything stops (components/runner/steps/chain.ts preflight).
    assert.equal(effect, "failed", "preflight refuses while another kong migrations runs");
    assert.match(output, /another 'kong migrations' is running .* the migrations lock is held by/);
  } else if (cell.fault === "lock" && !["migrations-up", "migrations-finish"].includes(cell.step)) {
    assert.equal(
      effect,
      "unaffected",
      `${cell.step} does not take the migrations lock:\n${output}`,
    );
  }
}

/**
 * The lock fault's effect on its step itself, from the attempt's journal. The process that ran
 * the step may go on while the other `kong migrations` still holds the lock (a `pulumi up`, or
 * the outage's steps in one runner process, contract/steps.ts `outageRun`), so a later migrations
 * step may fail on it, as it must: then the faulted step itself must have finished well, and the
 * failure must be that of `migrations-up` or `migrations-finish`.
 */
export function lockedStepEffect(
  cell: Cell,
  effect: Effect,
  attempt: readonly { step: string; ok: boolean }[],
): Effect {
  const migrations = ["migrations-up", "migrations-finish"];
  if (
    cell.fault !== "lock" ||
    effect === "unaffected" ||
    [...migrations, "preflight"].includes(cell.step)
  ) {
    return effect;
  }
  assert.ok(
    attempt.some((e) => e.step === cell.step && e.ok),
    `${cell.step} itself finished well while the lock was held`,
  );
  assert.ok(
    attempt.some((e) => migrations.includes(e.step) && !e.ok),
    `the run failed in a migrations step, on the lock (not in ${cell.step})`,
  );
  return "unaffected";
}

/** A failure without a rollback: only an install's steps, preflight and decommissioning have one. */
export function checkPlainFailure(cell: Cell, output: string): void {
  if (cell.chain.kind !== "install" && cell.step !== "decommission") {
    assert.equal(cell.step, "preflight", `only preflight fails without a rollback:\n${output}`);
  }
}

/**
 * The matrix's result line: cells that converged of those run, and rows lost over all of them;
 * `engine` for the cells driven through `pulumi up`.
 */
export function summary(converged: number, run: number, lostRows: number, engine = false): string {
  return `fault matrix${engine ? " (engine)" : ""}: ${converged}/${run} converged, ${lostRows} rows lost`;
}
