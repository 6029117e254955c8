/**
 * Going back to a lower version. Kong's migrations only go forward: `up` adds the new schema and
 * `finish` runs teardowns that delete what the old version reads (KONG.md §2, §6). So a lower
 * version can only run on a copy of the database taken before the upgrade, and the planner only
 * plans a downgrade when the backup catalog holds exactly that copy.
 */
import { PlanError } from "./errors";
import { compareVersions, formatVersion, KongVersion, parseVersion } from "./version";

/** A backup the stack took, as its catalog records it. */
export interface BackupRecord {
  /** Stable id of the backup (the stack refers to it in `restoreBackupId`). */
  readonly id: string;
  /** Version deployed when it was taken: what a restore of it brings back. */
  readonly fromVersion: string;
  /** Version the upgrade that took it went to. */
  readonly toVersion: string;
  /** Where the `pg_dump -Fc` archive is. */
  readonly path: string;
  /** When it was taken (ISO 8601). */
  readonly takenAt: string;
  readonly sha256?: string;
  readonly bytes?: number;
  /** `backup.store` it is kept in; absent: `local` (at `path` on the machine that took it). */
  readonly store?: "local" | "command" | "host";
  /** Its name in the store. */
  readonly location?: string;
}

/** Throws an `input` refusal naming the first malformed record of the catalog. */
export function validateBackups(backups: readonly BackupRecord[]): void {
  backups.forEach((b, i) => {
    const where = `backups[${i}]`;
    if (b.id.trim() === "" || b.path.trim() === "") {
      throw new PlanError(
        "input",
        `${where} (${JSON.stringify(b.id)}) has an empty id or path; every backup record needs ` +
          `the id and the location of its dump`,
      );
    }
    if (Number.isNaN(Date.parse(b.takenAt))) {
      throw new PlanError(
        "input",
        `${where}.takenAt ${JSON.stringify(b.takenAt)} is not a time; record it as ISO 8601 ` +
          `(for example 2024-06-01T02:00:00Z)`,
      );
    }
    parseVersion(b.fromVersion);
    parseVersion(b.toVersion);
  });
}

/** Same release and edition: a backup of 3.4.3 is not a backup of 3.4.3.12. */
const same = (a: string, b: KongVersion): boolean => compareVersions(parseVersion(a), b) === 0;

/**
 * The backup that rolls `deployed` back to `target`: one taken by an upgrade from `target` to
 * `deployed`. The newest wins when there are several (it loses the fewest changes).
 */
export function findRollbackBackup(
  deployed: KongVersion,
  target: KongVersion,
  backups: readonly BackupRecord[],
): BackupRecord | undefined {
  const matching = backups.filter(
    (b) => same(b.fromVersion, target) && same(b.toVersion, deployed),
  );
  return matching.sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt))[0];
}

/** The refusal for a downgrade without a matching backup: why, and how to restore by hand. */
export function downgradeRefusal(
  deployed: KongVersion,
  target: KongVersion,
  backups: readonly BackupRecord[],
): PlanError {
  const x = formatVersion(target);
  const y = formatVersion(deployed);
  const known =
    backups.length === 0
      ? "the backup catalog is empty"
      : "recorded backups: " +
        backups.map((b) => `${b.id} (${b.fromVersion} → ${b.toVersion})`).join(", ");
  return new PlanError(
    "downgrade",
    `version ${y} → ${x} is a downgrade, and no backup taken by the upgrade ${x} → ${y} is ` +
      `recorded (${known}). Kong migrations cannot be reversed: 'up' changed the schema for ` +
      `${y} and 'finish' ran teardowns that deleted data ${x} reads, so ${x} cannot run on this ` +
      `database. To go back, restore a pg_dump taken before the upgrade ` +
      `(pg_restore --clean --if-exists into the Kong database) and start ${x} on it; changes ` +
      `made since that dump are lost. Or keep ${y} and fix forward.`,
  );
}
