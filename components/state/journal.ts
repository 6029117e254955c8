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
export function journalPath(spec: StepSpec): string {
  return join(spec.stateDir, "journal", `${spec.cluster}-${attemptKey(spec)}.jsonl`);
}

/** Appends one entry. */
export function record(spec: StepSpec, entry: JournalEntry): void {
  appendFileSync(journalFile(spec), JSON.stringify(entry) + "\n", { mode: 0o600 });
}

/** Every entry of this attempt, in the order they were written. */
export function entries(spec: StepSpec): JournalEntry[] {
  const file = journalFile(spec);
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

/** The backup this attempt took (its last successful `backup` step), if any. */
export function attemptBackup(spec: StepSpec): { id: string } | undefined {
  return entries(spec)
    .filter((e) => e.step === "backup" && e.ok)
    .at(-1)?.details?.backup as { id: string } | undefined;
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
