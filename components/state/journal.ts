/**
 * The journal of a change: one JSON line per finished step under `<stateDir>/journal/`, and the
 * attempt counters in `<stateDir>/attempts.json`. The report the stack exports is rebuilt from it,
 * so it survives crashes and re-runs; the counter is how an aborted attempt makes the next
 * `pulumi up` run the whole chain again instead of only the step that failed.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { StepName, StepSpec } from "../contract/spec";

/** One finished (or failed) step. */
export interface JournalEntry {
  readonly step: StepName;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly ok: boolean;
  /** Step-specific facts (backup manifest, first stop time, readiness times, messages). */
  readonly details?: Record<string, unknown>;
}

/** The key of one attempt of one change: `upgrade-3.6.0-g1`. */
export function attemptKey(spec: Pick<StepSpec, "kind" | "to" | "generation">): string {
  return `${spec.kind}-${spec.to}-g${spec.generation}`;
}

function journalFile(spec: StepSpec): string {
  mkdirSync(join(spec.stateDir, "journal"), { recursive: true, mode: 0o700 });
  return journalPath(spec);
}

/** The journal file of this attempt (its directory may not exist yet). */
export function journalPath(
  spec: Pick<StepSpec, "stateDir" | "cluster" | "kind" | "to" | "generation">,
): string {
  return join(spec.stateDir, "journal", `${spec.cluster}-${attemptKey(spec)}.jsonl`);
}

/** Appends one entry. */
export function record(spec: StepSpec, entry: JournalEntry): void {
  appendFileSync(journalFile(spec), JSON.stringify(entry) + "\n", { mode: 0o600 });
}

/** Every entry of this attempt, in the order they were written. */
export function entries(spec: StepSpec): JournalEntry[] {
  return entriesIn(journalFile(spec));
}

/** Every entry of the journal file `file` (none when it does not exist). */
export function entriesIn(file: string): JournalEntry[] {
  if (!existsSync(file)) {
    return [];
  }
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as JournalEntry);
}

/** The attempt counters: `{"<cluster>/<kind>-<to>": <next generation>}`. */
export function readAttempts(stateDir: string): Record<string, number> {
  const file = join(stateDir, "attempts.json");
  if (!existsSync(file)) {
    return {};
  }
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
}

/** Marks this attempt as aborted: the next run of the same change uses the next generation. */
export function abortAttempt(spec: StepSpec): number {
  mkdirSync(spec.stateDir, { recursive: true, mode: 0o700 });
  const attempts = readAttempts(spec.stateDir);
  const key = `${spec.cluster}/${spec.kind}-${spec.to}`;
  const next = Math.max(attempts[key] ?? 1, spec.generation) + 1;
  attempts[key] = next;
  const file = join(spec.stateDir, "attempts.json");
  writeFileSync(file + ".tmp", JSON.stringify(attempts, null, 2) + "\n", { mode: 0o600 });
  renameSync(file + ".tmp", file);
  return next;
}

/**
 * The backup this attempt took (its last `backup` entry), if any. None when that entry failed: a
 * backup that was read back but then failed its test restore or store copy (made durable while
 * `up` ran, components/runner/run.ts) is not one to restore.
 */
export function attemptBackup(spec: StepSpec): { id: string } | undefined {
  const last = entries(spec)
    .filter((e) => e.step === "backup")
    .at(-1);
  return last?.ok ? (last.details?.backup as { id: string } | undefined) : undefined;
}

/**
 * Whether an earlier attempt of this same change ran `kong migrations up` to the end. A
 * `prepared` or `rolling` attempt rolled back before `finish` leaves the database migrated up
 * (X runs on it), so the next attempt finds this change's own migrations pending.
 */
export function earlierAttemptMigrated(spec: StepSpec): boolean {
  for (let g = 1; g < spec.generation; g++) {
    const file = journalPath({ ...spec, generation: g });
    if (
      existsSync(file) &&
      readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .some((l) => {
          const e = JSON.parse(l) as JournalEntry;
          return e.step === "migrations-up" && e.ok;
        })
    ) {
      return true;
    }
  }
  return false;
}

/**
 * An attempt as the backup store records it while it runs (issue #16): written when preflight has
 * passed, marked `aborted` (with the next generation) by the automatic rollback, removed when the
 * change has reported success. The stack's outputs cannot carry it — Pulumi keeps the outputs of
 * the last successful update when one fails — so a machine that did not run the attempt reads it
 * from the store, which every machine running the stack shares.
 */
export interface StoredAttempt {
  readonly cluster: string;
  readonly kind: StepSpec["kind"];
  readonly from?: string;
  readonly to: string;
  readonly generation: number;
  readonly state: "started" | "aborted";
  /** When the state was recorded (ISO 8601). */
  readonly at: string;
}

/** The record of the attempt `spec` runs, in `state`, now. */
export function storedAttempt(spec: StepSpec, state: StoredAttempt["state"]): StoredAttempt {
  return {
    cluster: spec.cluster,
    kind: spec.kind,
    ...(spec.from ? { from: spec.from } : {}),
    to: spec.to,
    generation: spec.generation,
    state,
    at: new Date().toISOString(),
  };
}

/** The store's object name of `cluster`'s attempt record. */
export const attemptObject = (cluster: string): string => `${cluster}-attempt.json`;

/** The stored attempt in `text`, or undefined when it is not one (another file, a torn write). */
export function parseStoredAttempt(text: string, cluster: string): StoredAttempt | undefined {
  try {
    const a = JSON.parse(text) as StoredAttempt;
    const ok =
      a?.cluster === cluster &&
      typeof a.to === "string" &&
      Number.isInteger(a.generation) &&
      a.generation >= 1 &&
      (a.state === "started" || a.state === "aborted");
    return ok ? a : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The attempt counters with an unfinished attempt another machine recorded in the store: its
 * change starts over with the next generation (fresh step resources, from preflight), unless this
 * machine's own journal holds that attempt (then this machine ran it, and its counters already
 * say what to do). Returns the counters and, when the stored attempt changed them, a note for
 * preview.
 */
export function withStoredAttempt(
  stateDir: string,
  local: Record<string, number>,
  stored: StoredAttempt | undefined,
): { attempts: Record<string, number>; note?: string } {
  if (!stored) {
    return { attempts: local };
  }
  const key = `${stored.cluster}/${stored.kind}-${stored.to}`;
  const { cluster, kind, to, generation } = stored;
  if (existsSync(journalPath({ stateDir, cluster, kind, to, generation }))) {
    return { attempts: local };
  }
  const next = stored.generation + 1;
  if ((local[key] ?? 1) >= next) {
    return { attempts: local };
  }
  const what = stored.state === "aborted" ? "failed and was rolled back" : "did not finish";
  return {
    attempts: { ...local, [key]: next },
    note: `an attempt of ${stored.kind} ${stored.from ?? "(new)"} → ${stored.to} (generation ${stored.generation}, recorded in the backup store at ${stored.at}) ${what} on another machine; this run starts that change over from preflight as generation ${next}`,
  };
}
