/**
 * What the Pulumi machine's state directory says about past attempts and backups. Read at
 * program time so that preview can show a rollback's backup and so that an aborted attempt's
 * next run starts over from preflight.
 */
import { catalog } from "./steps/backup";
import { readAttempts } from "./steps/journal";
import type { BackupRecord } from "./plan/rollback";

/** Attempt counters and the backup catalog of one cluster. */
export interface LocalState {
  readonly attempts: Record<string, number>;
  readonly backups: BackupRecord[];
}

/** Reads the state directory and the backup directory (both may be missing on a new stack). */
export function readLocalState(stateDir: string, backupDir: string, cluster: string): LocalState {
  return {
    attempts: readAttempts(stateDir),
    backups: catalog(backupDir, cluster).map((m) => ({
      id: m.id,
      fromVersion: m.fromVersion,
      toVersion: m.toVersion,
      path: m.path,
      takenAt: m.takenAt,
      sha256: m.sha256,
      bytes: m.bytes,
    })),
  };
}
