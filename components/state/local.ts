/**
 * What the Pulumi machine's state directory says about past attempts and backups. Read at
 * program time so that preview can show a rollback's backup and so that an aborted attempt's
 * next run starts over from preflight.
 */
import { readCatalog } from "./catalog";
import { readAttempts } from "./journal";
import { discoverNodes, samePassword } from "./nodes";
import type { BackupRecord } from "../plan/rollback";

/** Attempt counters and the backup catalog of one cluster. */
export interface LocalState {
  readonly attempts: Record<string, number>;
  readonly backups: BackupRecord[];
  /** Manifests left out of the catalog, each with why and what to do. */
  readonly skippedBackups: string[];
}

/** Reads the state directory and the backup directory (both may be missing on a new stack). */
export function readLocalState(stateDir: string, backupDir: string, cluster: string): LocalState {
  const { manifests, skipped } = readCatalog(backupDir, cluster);
  return {
    attempts: readAttempts(stateDir),
    skippedBackups: skipped,
    backups: manifests.map((m) => ({
      id: m.id,
      fromVersion: m.fromVersion,
      toVersion: m.toVersion,
      path: m.path,
      takenAt: m.takenAt,
      sha256: m.sha256,
      bytes: m.bytes,
      ...(m.store ? { store: m.store } : {}),
      ...(m.location ? { location: m.location } : {}),
    })),
  };
}

/**
 * Whether `password` differs from the one the cluster's `version` nodes were started with, by the
 * salted digests the runner keeps in their records (local and hosts runtimes; the password itself
 * is stored nowhere). False when no record has a digest: nothing to compare with.
 */
export function passwordRotated(
  stateDir: string,
  cluster: string,
  version: string,
  password: string,
): boolean {
  return discoverNodes(stateDir, cluster)
    .filter((r) => r.version === version && r.passwordDigest)
    .some((r) => !samePassword(r.passwordDigest, password));
}
