/**
 * The planner's request and plan types, apart from the code that makes them, so the modules that
 * read a plan (warnings, rendering) and the one that builds it do not import each other.
 */
import type { ClusterShape } from "./capacity";
import type { DowntimeEstimate, DurationRange, PastRun, StepEstimate } from "./estimate";
import type { MigrationSet } from "./migrations";
import type { HopKind } from "./paths";
import type { BackupRecord } from "./rollback";
import type { StepSkeleton } from "./steps";
import type { Strategy } from "../contract/steps";
import type { WindowCheck } from "./windows";

/** What to plan: the cluster as deployed (absent on a fresh stack) and as wanted. */
export interface PlanRequest {
  /** The cluster running now, with its version (or image); absent for a fresh install. */
  readonly deployed?: ClusterShape & { readonly version: string };
  /** The cluster wanted, with its version (or image). */
  readonly target: ClusterShape & { readonly version: string };
  /** Accept a target with fewer nodes, CPUs or memory than the deployed cluster. @default false */
  readonly allowSmallerCluster?: boolean;
  /** The stack's backup catalog; a downgrade needs the backup of the upgrade it undoes. @default [] */
  readonly backups?: readonly BackupRecord[];
  /** Measured steps of this stack's earlier changes; absent or empty: defaults. @default [] */
  readonly history?: readonly PastRun[];
  /** Current database size in bytes; scales the estimates. @default 100 MiB, with a warning */
  readonly databaseBytes?: number;
  /** Window specs such as `Sat 02:00-04:00 UTC`; absent or empty: any time. @default [] */
  readonly maintenanceWindows?: readonly string[];
  /** The time to plan for; required with `maintenanceWindows` (the planner never reads a clock). */
  readonly now?: Date;
  /** Directory the upgrade's backup goes to. @default ".state/backups" */
  readonly backupDir?: string;
  /** How an upgrade replaces the deployed nodes. @default "in-place" */
  readonly strategy?: Strategy;
  /** How the upgrade's backup is checked (`backup.verify`): `restore` adds a test restore. @default "list" */
  readonly backupVerify?: "list" | "restore";
  /** Allow `rolling` on a minor (or LTS) hop: two minor versions serve side by side. @default false */
  readonly allowMixedVersions?: boolean;
  /**
   * `prepared` starts Y as soon as X's listeners close, not after `kong quit` returns (the local
   * runtime: components/runner/steps/chain.ts `stop`), so its outage has no quit poll. @default false
   */
  readonly stopOverlapsStart?: boolean;
}

/** What another strategy allowed for this upgrade would cost in downtime (preview compares). */
export interface StrategyAlternative {
  readonly strategy: Strategy;
  readonly downtime: DowntimeEstimate;
}

/** A step of the plan with its duration estimate. */
export interface PlannedStep extends StepSkeleton {
  readonly estimate: StepEstimate;
}

/** Where an upgrade (or a rollback, of the database as it is before the restore) writes its backup. */
export interface BackupTarget {
  readonly dir: string;
  /** The `pg_dump -Fc` file (one checksummed archive; its UTC timestamp is decided when it is taken). */
  readonly path: string;
}

/** The decided change. Plain data: JSON-serialisable as it is (see `planToJson`). */
export interface Plan {
  /** `noop`: same version; `install`: fresh database; `upgrade`: one guaranteed hop; `rollback`: restore. */
  readonly kind: "noop" | "install" | "upgrade" | "rollback";
  readonly from?: string;
  readonly to: string;
  /** For upgrades: why the hop is guaranteed. */
  readonly hop?: HopKind;
  /** How the upgrade replaces the nodes (`in-place` for installs and rollbacks by version). */
  readonly strategy: Strategy;
  /**
   * For `in-place` upgrades: the downtime of each other strategy this hop allows, so the
   * approver sees what choosing one would save.
   */
  readonly alternatives?: StrategyAlternative[];
  readonly steps: PlannedStep[];
  /** From the first deployed node stopping until the new version serves. */
  readonly downtime: DowntimeEstimate;
  /** All steps, start to end. */
  readonly duration: DurationRange;
  /** The size the estimates used, and whether it was assumed. */
  readonly databaseBytes: number;
  readonly databaseBytesAssumed: boolean;
  readonly migrations: MigrationSet;
  /** Whether `kong migrations up`/`finish` run with `-f` (newly enabled plugins). */
  readonly newPluginMigrations: boolean;
  /**
   * For upgrades: where the backup goes. For rollbacks: where the database as the newer version
   * left it goes, before the restore (nothing written since the upgrade is lost).
   */
  readonly backup?: BackupTarget;
  /** For rollbacks: the backup restored. */
  readonly rollbackBackup?: BackupRecord;
  /** Present when maintenance windows were given (and there is something to do). */
  readonly window?: WindowCheck;
  /** Things a person approving the change must know. */
  readonly warnings: string[];
}
