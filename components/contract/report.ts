/**
 * The report (runner → program): what the verify step prints on one `KONG_GW_REPORT <json>` line
 * and the program turns into the `lastUpgrade` and `backups` outputs. One module owns the wire
 * form both ways: {@link encodeReport} on the runner's side, {@link decodeReport} (checked field
 * by field) on the program's.
 */
import { z } from "zod";

/** One measured step, as exported. */
export interface ReportStep {
  readonly name: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
}

/** The `lastUpgrade` stack output. */
export interface UpgradeReport {
  readonly kind: "install" | "upgrade" | "rollback";
  readonly from?: string;
  readonly to: string;
  readonly generation: number;
  readonly outcome: "succeeded" | "rolled-back" | "failed";
  readonly steps: ReportStep[];
  readonly downtimeSeconds: number;
  /** When the outage began (first old node stopped serving) and ended (first new node ready). */
  readonly outage?: { startedAt: string; endedAt: string };
  /**
   * When the first new node answered ready. An install has no outage, but the time from its
   * `stop` step to this moment is what the first upgrade's estimate starts from.
   */
  readonly firstReadyAt?: string;
  readonly databaseBytes?: number;
  /** The backup this change took (a rollback's: the database as the newer version left it). */
  readonly backup?: {
    id: string;
    path: string;
    sha256: string;
    bytes: number;
    /**
     * Seconds until the dump was written and read back: the part an in-place outage waits for
     * (its test restore and store copy run beside `up`). Absent in reports of older versions.
     */
    dumpSeconds?: number;
  };
  /** Rollbacks: the backup restored. */
  readonly restored?: { id: string; path: string; sha256: string; bytes: number };
}

/** A backup as the `backups` output lists it: its manifest without the row counts. */
export interface CatalogEntry {
  readonly id: string;
  readonly cluster: string;
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly takenAt: string;
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly verifiedBy: "list" | "restore";
  readonly pgDump: string;
  /** Where the backup is kept (`backup.store`); absent: `local`, at `path` on the machine that took it. */
  readonly store?: "local" | "command" | "host";
  /** Its name in the store (`{name}` of the command templates; `<host>:<path>` in a host store). */
  readonly location?: string;
}

/** What the verify step reports. */
export interface RunnerReport {
  readonly lastUpgrade: UpgradeReport | undefined;
  readonly backups: CatalogEntry[];
  /** Ids of the backups this chain's retention deleted (the stack drops them from its catalog). */
  readonly pruned?: string[];
}

const fileRef = z.object({
  id: z.string(),
  path: z.string(),
  sha256: z.string(),
  bytes: z.number(),
});

const upgradeReportSchema = z.object({
  kind: z.enum(["install", "upgrade", "rollback"]),
  from: z.string().optional(),
  to: z.string(),
  generation: z.number().int(),
  outcome: z.enum(["succeeded", "rolled-back", "failed"]),
  steps: z.array(
    z.object({
      name: z.string(),
      startedAt: z.string(),
      finishedAt: z.string(),
      seconds: z.number(),
    }),
  ),
  downtimeSeconds: z.number(),
  outage: z.object({ startedAt: z.string(), endedAt: z.string() }).optional(),
  firstReadyAt: z.string().optional(),
  databaseBytes: z.number().optional(),
  backup: fileRef.extend({ dumpSeconds: z.number().optional() }).optional(),
  restored: fileRef.optional(),
}) satisfies z.ZodType<UpgradeReport>;

const catalogEntrySchema = z.object({
  id: z.string(),
  cluster: z.string(),
  fromVersion: z.string(),
  toVersion: z.string(),
  takenAt: z.string(),
  path: z.string(),
  bytes: z.number(),
  sha256: z.string(),
  verifiedBy: z.enum(["list", "restore"]),
  pgDump: z.string(),
  store: z.enum(["local", "command", "host"]).optional(),
  location: z.string().optional(),
}) satisfies z.ZodType<CatalogEntry>;

/**
 * The catalog entries of a stack output (`deployment.backups`), each checked; an entry that does
 * not decode is left out (the local disk or the store may still know it).
 */
export function decodeCatalog(value: unknown): CatalogEntry[] {
  if (!Array.isArray(value)) {
    return [];
  }
  return value.flatMap((v) => {
    const r = catalogEntrySchema.safeParse(v);
    return r.success ? [r.data] : [];
  });
}

const reportSchema = z.object({
  lastUpgrade: upgradeReportSchema.optional(),
  backups: z.array(catalogEntrySchema),
  pruned: z.array(z.string()).optional(),
});

/** The line's prefix. */
export const REPORT_PREFIX = "KONG_GW_REPORT ";

/** The report line the verify step prints. */
export function encodeReport(report: RunnerReport): string {
  return `${REPORT_PREFIX}${JSON.stringify(reportSchema.parse(report))}`;
}

/**
 * The report in a step's stdout; an empty report when there is none (a chain that has not
 * verified yet). A line that does not hold a report is an error naming what is wrong.
 */
export function decodeReport(stdout: string | undefined): RunnerReport {
  const line = (stdout ?? "").split("\n").find((l) => l.startsWith(REPORT_PREFIX));
  if (!line) {
    return { lastUpgrade: undefined, backups: [] };
  }
  const r = reportSchema.safeParse(JSON.parse(line.slice(REPORT_PREFIX.length)));
  if (!r.success) {
    throw new Error(
      `the verify step's report is malformed: ${r.error.issues
        .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
        .join("; ")}`,
    );
  }
  return { lastUpgrade: r.data.lastUpgrade, backups: r.data.backups };
}
