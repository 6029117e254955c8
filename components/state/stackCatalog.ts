/**
 * The backup catalog the stack carries in its own `deployment` output, merged with what this
 * machine's backup directory holds. The stack is the source of truth across machines (a CI runner
 * or a fresh clone starts with an empty state directory); the local directory adds what a run
 * recorded there but could not export (a run that failed after its backup).
 */
import type { CatalogEntry } from "../contract/report";
import type { BackupRecord } from "../plan/rollback";

/** A catalog entry as the planner wants it. */
export function toRecord(e: CatalogEntry): BackupRecord {
  return {
    id: e.id,
    fromVersion: e.fromVersion,
    toVersion: e.toVersion,
    path: e.path,
    takenAt: e.takenAt,
    sha256: e.sha256,
    bytes: e.bytes,
    ...(e.store ? { store: e.store } : {}),
    ...(e.location ? { location: e.location } : {}),
  };
}

/**
 * Every backup either side knows, by id, oldest first. The local record wins for a backup both
 * know (its `path` is where this machine has the file).
 */
export function mergeBackups<T extends { id: string; takenAt: string }>(
  fromStack: readonly T[],
  fromDisk: readonly T[],
): T[] {
  const byId = new Map<string, T>();
  for (const b of [...fromStack, ...fromDisk]) {
    byId.set(b.id, b);
  }
  return [...byId.values()].sort((a, b) => a.takenAt.localeCompare(b.takenAt));
}

/**
 * The catalog the next run reads: the previous run's, plus what this chain's runner reported,
 * minus what its retention deleted. Stable under re-runs (a same-version `up` reports the same).
 */
export function nextCatalog(
  previous: readonly CatalogEntry[],
  reported: readonly CatalogEntry[],
  pruned: readonly string[],
): CatalogEntry[] {
  return mergeBackups(previous, reported).filter((b) => !pruned.includes(b.id));
}
