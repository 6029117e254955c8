/**
 * The upgrade report the stack exports as `lastUpgrade`, rebuilt from the journal: steps in the
 * order they ran with their own timestamps, and the measured downtime from the moment the first
 * old node was told to stop until the first new node answered ready.
 */
import { catalog } from "../../state/catalog";
import { entries, JournalEntry } from "../../state/journal";
import type { CatalogEntry, ReportStep, UpgradeReport } from "../../contract/report";
import { StepSpec } from "../../contract/spec";

export type { ReportStep, UpgradeReport } from "../../contract/report";

const seconds = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / 10) / 100;

/** Folds the per-node `start` entries into one `start` step (first start → last ready). */
function foldStarts(list: JournalEntry[]): ReportStep[] {
  const out: ReportStep[] = [];
  const starts = list.filter((e) => e.step === "start" && e.ok);
  for (const e of list) {
    if (!e.ok || out.some((s) => s.name === e.step)) {
      continue;
    }
    if (e.step === "start") {
      const startedAt = starts.map((s) => s.startedAt).sort()[0]!;
      const finishedAt = starts
        .map((s) => String(s.details?.readyAt ?? s.finishedAt))
        .sort()
        .at(-1)!;
      out.push({ name: "start", startedAt, finishedAt, seconds: seconds(startedAt, finishedAt) });
    } else {
      out.push({
        name: e.step,
        startedAt: e.startedAt,
        finishedAt: e.finishedAt,
        seconds: e.seconds,
      });
    }
  }
  return out;
}

/** Builds the report of the current attempt. */
export function buildReport(spec: StepSpec, outcome: UpgradeReport["outcome"]): UpgradeReport {
  const list = latestPerStep(entries(spec));
  const stop = list.find((e) => e.step === "stop" && e.ok);
  const firstStop =
    typeof stop?.details?.firstStopAt === "string" ? stop.details.firstStopAt : undefined;
  const readies = list
    .filter((e) => e.step === "start" && e.ok)
    .map((e) => String(e.details?.readyAt))
    .sort();
  const firstReady = readies[0];
  const backupEntry = list.find((e) => e.step === "backup" && e.ok && e.details?.backup);
  const restoreEntry = list.find((e) => e.step === "restore" && e.ok && e.details?.restored);
  const preflight = list.find((e) => e.step === "preflight" && e.ok);
  return {
    kind: spec.kind,
    from: spec.from,
    to: spec.to,
    generation: spec.generation,
    outcome,
    steps: foldStarts(list),
    downtimeSeconds: firstStop && firstReady ? seconds(firstStop, firstReady) : 0,
    ...(firstStop && firstReady ? { outage: { startedAt: firstStop, endedAt: firstReady } } : {}),
    ...(firstReady ? { firstReadyAt: firstReady } : {}),
    databaseBytes:
      typeof preflight?.details?.databaseBytes === "number"
        ? preflight.details.databaseBytes
        : undefined,
    backup: backupEntry?.details?.backup as UpgradeReport["backup"],
    ...(restoreEntry
      ? { restored: restoreEntry.details?.restored as UpgradeReport["restored"] }
      : {}),
  };
}

/** Keeps, per step (and per node for `start`), only the last entry: re-runs replace earlier ones. */
function latestPerStep(list: JournalEntry[]): JournalEntry[] {
  const key = (e: JournalEntry) =>
    e.step === "start" ? `start/${String(e.details?.node)}` : e.step;
  const last = new Map<string, JournalEntry>();
  for (const e of list) {
    last.set(key(e), e);
  }
  // In the order they began: a backup made durable while `up` ran is journaled after it.
  return list
    .filter((e) => last.get(key(e)) === e)
    .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
}

/** The backup catalog as exported (`backups`): no row counts, newest last. */
export function exportedCatalog(spec: StepSpec): CatalogEntry[] {
  return catalog(spec.backup.dir, spec.cluster).map((m) => {
    const rest: Record<string, unknown> = { ...m };
    delete rest.tables;
    return rest as unknown as CatalogEntry;
  });
}

/** Ids this attempt's backup step deleted under retention: the stack drops them from its catalog. */
export function prunedBackups(spec: StepSpec): string[] {
  return entries(spec).flatMap((e) =>
    e.step === "backup" && e.ok && Array.isArray(e.details?.pruned)
      ? (e.details.pruned as unknown[]).map(String)
      : [],
  );
}
