/**
 * The planner's public surface: the Pulumi component, `pulumi preview` and `npm run plan` import
 * from here only, so the modules behind it can be rearranged freely. Explicit names (no
 * `export *`) keep the API reviewable in one place. See README.md beside this file.
 */
export { migrationDbTimeout } from "./dbTimeout";
export { bundledLater } from "./plugins";
export { PlanError } from "./errors";
export type { PlanErrorCode } from "./errors";
export { compareReleases, compareVersions, formatVersion, minorOf, parseVersion } from "./version";
export type { KongVersion } from "./version";
export {
  assertKnownVersion,
  checkHop,
  classifyMinorHop,
  KNOWN_MINORS,
  LATEST_MINOR,
  LTS_HOPS,
  shortestRoute,
} from "./paths";
export type { HopCheck, HopKind } from "./paths";
export { CATALOGUED_PLUGINS, MIGRATION_CATALOG } from "./catalog";
export type { CatalogEntry } from "./catalog";
export { groupBySubsystem, migrationsFor, resolvePlugins } from "./migrations";
export type { MigrationRef, MigrationSet, PluginsSetting } from "./migrations";
export { checkCapacity, validateShape } from "./capacity";
export type { ClusterShape } from "./capacity";
export { installSteps, rollbackSteps, STEP_NAMES, upgradeSteps } from "./steps";
export type { StepContext, StepName, StepSkeleton, StepTarget } from "./steps";
export {
  DEFAULT_DATABASE_BYTES,
  DEFAULT_SECONDS_PER_MIB,
  DEFAULT_STEP_SECONDS,
  estimateStep,
  MEASURED_HIGH_FACTOR,
  MEASURED_LOW_FACTOR,
  MIN_MIB_FOR_MEASURED_RATE,
  summarizeDowntime,
  measuredDowntime,
  INSTALL_UNLIKE_UPGRADE,
} from "./estimate";
export { installDowntime } from "./fromInstall";
export type {
  DowntimeEstimate,
  DurationRange,
  EstimatedStep,
  MeasuredStep,
  PastRun,
  StepEstimate,
} from "./estimate";
export { assertWithinWindow, evaluateWindows, parseWindow } from "./windows";
export type { MaintenanceWindow, WindowCheck } from "./windows";
export { downgradeRefusal, findRollbackBackup } from "./rollback";
export type { BackupRecord } from "./rollback";
export { LARGE_DATABASE_BYTES } from "./warnings";
export { DEFAULT_BACKUP_DIR, planChange } from "./plan";
export type { BackupTarget, Plan, PlannedStep, PlanRequest } from "./plan";
export {
  formatDuration,
  formatRange,
  PLAN_SCHEMA,
  planHeadline,
  planToJson,
  renderPlan,
  stepLocation,
} from "./render";
export type { PlanJson } from "./render";
export { PLAN_SUMMARY_SCHEMA, planSummary, renderPlanMarkdown } from "./summary";
export type { PlanSummary } from "./summary";
