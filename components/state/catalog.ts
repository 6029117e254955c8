/**
 * The backup catalog on disk: one JSON manifest next to each dump in the backup directory. The
 * runner writes it (runner/steps/backup.ts); the runner and the program both read it through
 * this module, so neither knows the other's private files.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CatalogEntry } from "../contract/report";
import { parseVersion } from "../plan/version";

/**
 * What the catalog records about one backup: the entry the `backups` output lists
 * (contract/report.ts), plus the row counts per table at backup time, which a restore must give
 * back.
 */
export interface BackupManifest extends CatalogEntry {
  readonly tables: Record<string, number>;
}

/** Every manifest in the backup directory for `cluster`, oldest first (unreadable ones skipped). */
export function catalog(dir: string, cluster: string): BackupManifest[] {
  return readCatalog(dir, cluster).manifests;
}

/**
 * The catalog and, separately, every manifest that cannot be used: not JSON, a field missing, or
 * a version that is not a Kong version (e.g. "unknown", written by an older release). One bad
 * manifest must not block every future run: it is reported (so a person can fix or delete it)
 * and left out; nothing is deleted automatically.
 */
export function readCatalog(
  dir: string,
  cluster: string,
): { manifests: BackupManifest[]; skipped: string[] } {
  if (!existsSync(dir)) {
    return { manifests: [], skipped: [] };
  }
  const manifests: BackupManifest[] = [];
  const skipped: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
    const file = join(dir, f);
    let m: BackupManifest;
    try {
      m = JSON.parse(readFileSync(file, "utf8")) as BackupManifest;
    } catch (e) {
      skipped.push(
        `backup manifest ${file} is not JSON (${(e as Error).message}); skipped: fix or delete it`,
      );
      continue;
    }
    if (m?.cluster !== cluster) {
      continue;
    }
    const problem = manifestProblem(m);
    if (problem) {
      skipped.push(
        `backup manifest ${file} ${problem}; skipped (this backup cannot be restored by the stack): fix or delete it`,
      );
      continue;
    }
    manifests.push(m);
  }
  manifests.sort((a, b) => a.takenAt.localeCompare(b.takenAt));
  return { manifests, skipped };
}

function manifestProblem(m: BackupManifest): string | undefined {
  for (const k of ["id", "path", "takenAt", "fromVersion", "toVersion", "sha256"] as const) {
    if (typeof m[k] !== "string" || m[k] === "") {
      return `has no ${k}`;
    }
  }
  if (Number.isNaN(Date.parse(m.takenAt))) {
    return `has takenAt ${JSON.stringify(m.takenAt)}, not a time`;
  }
  for (const k of ["fromVersion", "toVersion"] as const) {
    try {
      parseVersion(m[k]);
    } catch {
      return `records ${k} ${JSON.stringify(m[k])}, not a Kong version`;
    }
  }
  return undefined;
}
