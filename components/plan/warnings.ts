/**
 * What a person approving the change must read before saying yes: risks the plan accepts, facts
 * the planner could not check, and assumptions behind its numbers. Warnings never block; the
 * refusals are elsewhere.
 */
import { MigrationRef, migrationsFor, newPluginMigrationsNote } from "./migrations";
import type { BackupTarget, Plan, PlannedStep, PlanRequest } from "./types";
import { migrationDbTimeout } from "./dbTimeout";
import { DEFAULT_DATABASE_BYTES, estimateStep } from "./estimate";
import { KongVersion } from "./version";

/** Databases larger than this (1 GiB) get the `--db-timeout` warning (Kong/kong#5934). */
export const LARGE_DATABASE_BYTES = 1024 * 1024 * 1024;

/** What the warnings need besides the plan itself. */
export interface WarningContext {
  readonly req: PlanRequest;
  readonly from?: KongVersion;
  readonly to: KongVersion;
  readonly capacityWarnings: readonly string[];
}

const refs = (list: readonly MigrationRef[]): string =>
  list.map((m) => `${m.subsystem} ${m.name}`).join(", ");

const mib = (bytes: number): string => `${Math.round(bytes / (1024 * 1024))} MiB`;

function upgradeWarnings(plan: Plan, c: WarningContext): string[] {
  const from = plan.from as string;
  const m = plan.migrations;
  const out = [
    `going back restores the backup: once migrations-finish has run, ${from} cannot run on ` +
      `this database again; going back means restoring ${(plan.backup as BackupTarget).path}, ` +
      `which will not have anything written after it was taken (a rollback by version keeps ` +
      `those writes in a backup of its own, to re-apply by hand)`,
  ];
  if (m.pendingAfterUp.length > 0) {
    out.push(
      `migrations-finish runs ${m.pendingAfterUp.length} destructive teardowns ` +
        `(${refs(m.pendingAfterUp)}); if one fails after up succeeded, the backup is the way ` +
        `back (Kong/kong#13391)`,
    );
  }
  if (m.newPluginMigrations) {
    out.push(newPluginMigrationsNote(m.newlyEnabledPlugins));
  }
  if (m.uncataloguedPlugins.length > 0) {
    out.push(
      `plugins ${m.uncataloguedPlugins.join(", ")} are newly listed but not in the planner's ` +
        `migration catalog: if any is a custom plugin with migrations, the same plain 'up' runs ` +
        `them, but they are not shown here`,
    );
  }
  if (c.to.major === 2 && c.to.minor < 8) {
    out.push(
      `the migrations shown for ${plan.to} are inferred from the names in the 2.8 catalog ` +
        `(KONG.md §4 lists 2.8 onward); check them with 'kong migrations list' in preflight`,
    );
  }
  if ((c.from as KongVersion).enterprise !== c.to.enterprise) {
    out.push(
      `the edition changes (${from} → ${plan.to}): ${c.to.enterprise ? "open-source Kong to Kong Enterprise" : "Kong Enterprise to open-source Kong, which cannot read Enterprise-only data"}`,
    );
  }
  return out;
}

function sizeWarnings(plan: Plan): string[] {
  const scaled = plan.steps.some((s) => s.scalesWithDatabase);
  const out: string[] = [];
  if (scaled && plan.databaseBytesAssumed) {
    out.push(
      `database size unknown: estimates assume ${mib(DEFAULT_DATABASE_BYTES)}; pass ` +
        `databaseBytes (--db-bytes) for real numbers`,
    );
  }
  if (scaled && plan.databaseBytes > LARGE_DATABASE_BYTES) {
    out.push(
      `the database is ${mib(plan.databaseBytes)}: migrations get --db-timeout ` +
        `${migrationDbTimeout(0, plan.databaseBytes)} s at least (60 s + 60 s per GiB, or ` +
        `timeouts.dbTimeoutSeconds if larger; Kong/kong#5934), and a failed 'up' is never ` +
        `retried without checking 'kong migrations list' first (Kong/kong#12978)`,
    );
  }
  return out;
}

function windowWarnings(plan: Plan): string[] {
  const w = plan.window;
  if (w === undefined) {
    return [];
  }
  if (!w.mayStartNow) {
    return [
      `${w.now} is outside every maintenance window (${w.windows.join("; ")}); the next opens ` +
        `at ${w.nextOpensAt}, and 'pulumi up' refuses to start before then`,
    ];
  }
  return w.fits
    ? []
    : [
        `the downtime may last until ${w.downtimeEndsBy} (high estimate), after the maintenance ` +
          `window closes at ${w.closesAt}`,
      ];
}

/**
 * What `backup.verify: restore` costs an `in-place` upgrade's outage. The test restore runs
 * beside `kong migrations up` and `finish` waits for it, so the outage grows by however long it
 * outlasts `up`: said here, with the restore's estimate (a rollback's measured `restore`, else
 * the defaults for this database size), so it never lengthens the outage silently. `prepared`
 * and `rolling` back up while the old nodes serve: no cost to the outage.
 */
function testRestoreCost(plan: Plan, c: WarningContext): string[] {
  if (c.req.backupVerify !== "restore" || plan.strategy !== "in-place") {
    return [];
  }
  const skeleton = { ...(plan.steps.find((s) => s.name === "backup") as PlannedStep) };
  const restore = estimateStep(
    { ...skeleton, name: "restore", scalesWithDatabase: true, idle: false },
    c.req.history ?? [],
    plan.databaseBytes,
  ).estimate;
  const up = plan.steps.find((s) => s.name === "migrations-up")?.estimate;
  const over = (key: "lowSeconds" | "expectedSeconds" | "highSeconds"): number =>
    Math.max(0, Math.round((restore[key] - (up?.[key] ?? 0)) * 10) / 10);
  const cost =
    over("highSeconds") === 0
      ? `'up' is expected to take longer, so it should add nothing (only what it outlasts 'up')`
      : `it may add about ${over("expectedSeconds")} s (up to ${over("highSeconds")} s)`;
  return [
    `backup.verify is "restore": the test restore of the dump into a scratch database (about ` +
      `${restore.expectedSeconds} s, ${restore.lowSeconds}–${restore.highSeconds} s for ` +
      `${mib(plan.databaseBytes)}, ${restore.source === "measured" ? "as rollbacks measured" : "from defaults"}) ` +
      `runs beside 'kong migrations up', and migrations-finish waits for it: ${cost} to the ` +
      `outage; backup.verify: list leaves it out (checksum and pg_restore --list only), and ` +
      `strategy prepared takes the backup before the outage`,
  ];
}

/** Collects the warnings for `plan`, most consequential first. */
export function planWarnings(plan: Plan, c: WarningContext): string[] {
  const out: string[] = [];
  if (plan.kind === "upgrade") {
    out.push(...upgradeWarnings(plan, c), ...testRestoreCost(plan, c));
  }
  if (plan.kind === "rollback") {
    const b = plan.rollbackBackup as NonNullable<Plan["rollbackBackup"]>;
    const kept = (plan.backup as BackupTarget).path;
    out.push(
      `the restored database is the one of ${b.takenAt} (backup ${b.id}): anything written ` +
        `through ${plan.from} since then will not be in it; the rollback first dumps the database ` +
        `as ${plan.from} left it to ${kept}, so those writes are kept there, not lost`,
    );
  }
  if (plan.kind === "noop") {
    const deployed = c.req.deployed as NonNullable<PlanRequest["deployed"]>;
    const m = migrationsFor(c.from, c.to, c.req.target.plugins, deployed.plugins);
    if (m.newPluginMigrations) {
      out.push(
        `plugins ${m.newlyEnabledPlugins.join(", ")} are newly enabled at the same version; ` +
          `their migrations need 'kong migrations up', which a settings change does not run ` +
          `(no backup is taken): enable them together with a version bump`,
      );
    }
  }
  if (c.to.enterprise) {
    out.push(
      `${plan.to} is Kong Enterprise: it runs enterprise-only migrations that the planner's ` +
        `catalog (open-source Kong, KONG.md §4) does not list`,
    );
  }
  out.push(...c.capacityWarnings, ...sizeWarnings(plan), ...windowWarnings(plan));
  return out;
}
