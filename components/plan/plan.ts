/**
 * The planner: everything the project decides before it touches infrastructure, from one request.
 * The Pulumi component calls it during `pulumi preview` and `up`, and `npm run plan` calls it
 * offline, so both show the same plan. It refuses (throws {@link PlanError}) rather than plan a
 * change Kong does not guarantee.
 */
import { checkCapacity, ClusterShape, validateShape } from "./capacity";
import { PlanError } from "./errors";
import {
  DEFAULT_DATABASE_BYTES,
  DurationRange,
  EstimatedStep,
  estimateStep,
  summarizeDowntime,
  measuredDowntime,
  validateBytes,
  validateHistory,
} from "./estimate";
import { MigrationSet, migrationsFor, PluginsSetting } from "./migrations";
import { installDowntime } from "./fromInstall";
import { assertKnownVersion, checkHop, HopKind } from "./paths";
import { BackupRecord, downgradeRefusal, findRollbackBackup, validateBackups } from "./rollback";
import { installSteps, rollbackSteps, StepContext, StepSkeleton, upgradeSteps } from "./steps";
import { formatVersion, KongVersion, parseVersion } from "./version";
import { evaluateWindows, parseWindow } from "./windows";
import { planWarnings } from "./warnings";
import type { BackupTarget, Plan, PlannedStep, PlanRequest, StrategyAlternative } from "./types";
import { STRATEGIES, Strategy } from "../contract/steps";

export type { BackupTarget, Plan, PlannedStep, PlanRequest, StrategyAlternative } from "./types";

/** Where backups go when the request does not say: the project's git-ignored state directory. */
export const DEFAULT_BACKUP_DIR = ".state/backups";

const NO_MIGRATIONS: MigrationSet = {
  up: [],
  pendingAfterUp: [],
  newPluginMigrations: false,
  newlyEnabledPlugins: [],
  uncataloguedPlugins: [],
};

/** `KONG_PLUGINS` text for a setting. */
function pluginsEnv(plugins: PluginsSetting): string {
  return plugins === "bundled" ? "bundled" : plugins.join(",");
}

function parseAt(text: string, setting: string): KongVersion {
  const v = parseVersion(text);
  assertKnownVersion(v, setting);
  return v;
}

/** Validates everything that does not depend on the kind of change. */
function validate(req: PlanRequest): void {
  validateShape(req.target, "target");
  if (req.deployed) {
    validateShape(req.deployed, "deployed");
  }
  validateBytes(req.databaseBytes, "databaseBytes");
  validateHistory(req.history ?? []);
  validateBackups(req.backups ?? []);
  if ((req.maintenanceWindows ?? []).length > 0 && req.now === undefined) {
    throw new PlanError(
      "window",
      "maintenanceWindows are set but now is not; pass the current time as now so the plan " +
        "can check the window (the planner never reads the clock itself)",
    );
  }
}

interface Decision {
  readonly kind: Plan["kind"];
  readonly hop?: HopKind;
  readonly skeletons: StepSkeleton[];
  readonly migrations: MigrationSet;
  readonly backup?: BackupTarget;
  readonly rollbackBackup?: BackupRecord;
  readonly capacityWarnings: string[];
}

/** Where the backup of a change `from` → `to` goes. */
function backupTarget(req: PlanRequest, from: string, to: string): BackupTarget {
  const dir = (req.backupDir ?? DEFAULT_BACKUP_DIR).replace(/\/+$/, "");
  // No timestamp: the same request gives the same plan (and the same stack output) on every
  // preview; the step runner keeps repeated attempts apart.
  return { dir, path: `${dir}/kong-${from}-to-${to}-<timestamp>.dump` };
}

/** Decides the kind of change and its steps; throws the path, downgrade and capacity refusals. */
function decide(req: PlanRequest, from: KongVersion | undefined, to: KongVersion): Decision {
  const base = {
    to: formatVersion(to),
    targetNodes: req.target.nodes,
    pluginsEnv: pluginsEnv(req.target.plugins),
  };
  if (from === undefined) {
    const migrations = migrationsFor(undefined, to, req.target.plugins);
    const ctx: StepContext = { ...base, deployedNodes: 0, migrations, backupPath: "" };
    return { kind: "install", skeletons: installSteps(ctx), migrations, capacityWarnings: [] };
  }
  const deployed = req.deployed as ClusterShape;
  const hop = checkHop(from, to);
  if (hop.kind === "same") {
    return { kind: "noop", skeletons: [], migrations: NO_MIGRATIONS, capacityWarnings: [] };
  }
  const common = { ...base, from: formatVersion(from), deployedNodes: deployed.nodes };
  if (hop.kind === "downgrade") {
    const backup = findRollbackBackup(from, to, req.backups ?? []);
    if (backup === undefined) {
      throw downgradeRefusal(from, to, req.backups ?? []);
    }
    const target = backupTarget(req, common.from, base.to);
    const ctx = {
      ...common,
      migrations: NO_MIGRATIONS,
      backupPath: target.path,
      restorePath: backup.path,
    };
    return {
      kind: "rollback",
      skeletons: rollbackSteps(ctx),
      migrations: NO_MIGRATIONS,
      backup: target,
      rollbackBackup: backup,
      // Never block the way back on size: warn instead.
      capacityWarnings: checkCapacity(deployed, req.target, true),
    };
  }
  if (hop.kind === "skip") {
    throw new PlanError("path", `target.version: ${hop.message}`, hop.route);
  }
  const strategy = req.strategy ?? "in-place";
  const refusal = strategyRefusal(strategy, hop.kind, req);
  if (refusal) {
    throw new PlanError("strategy", refusal);
  }
  const capacityWarnings = checkCapacity(deployed, req.target, req.allowSmallerCluster ?? false);
  const migrations = migrationsFor(from, to, req.target.plugins, deployed.plugins);
  const backup = backupTarget(req, common.from, base.to);
  const ctx = { ...common, migrations, backupPath: backup.path };
  return {
    kind: "upgrade",
    hop: hop.kind,
    skeletons: upgradeSteps(ctx, strategy),
    migrations,
    backup,
    capacityWarnings,
  };
}

/**
 * Why `strategy` cannot make this hop, or undefined. `rolling` serves X and Y side by side: it
 * needs a node to spare on each side, and across minor versions the stack's explicit consent
 * (Kong recommends mixed versions only between patch versions, KONG.md §5).
 */
function strategyRefusal(strategy: Strategy, hop: HopKind, req: PlanRequest): string | undefined {
  if (strategy !== "rolling") {
    return undefined;
  }
  const nodes = Math.min(req.target.nodes, req.deployed?.nodes ?? 0);
  if (nodes < 2) {
    return `rolling needs 2 or more nodes on both sides to replace one at a time (deployed ${req.deployed?.nodes ?? 0}, configured ${req.target.nodes}); use kong-gateway:strategy prepared, or grow the cluster first`;
  }
  if (hop !== "patch" && !req.allowMixedVersions) {
    return `rolling on a ${hop} hop ${req.deployed?.version} → ${req.target.version} runs both minor versions side by side, and Kong recommends mixed versions only between patch versions; set kong-gateway:allowMixedVersions true to accept that, or use kong-gateway:strategy prepared`;
  }
  return undefined;
}

/** The strategies other than `in-place` this upgrade allows. */
function otherStrategies(hop: HopKind, req: PlanRequest): Strategy[] {
  return STRATEGIES.filter((s) => s !== "in-place" && !strategyRefusal(s, hop, req));
}

/**
 * Plans the change from `req.deployed` to `req.target`. Pure and deterministic: the same request
 * gives the same plan. Throws {@link PlanError} with code `version`, `path`, `downgrade`,
 * `capacity`, `window` or `input`; a plan outside its maintenance window is still returned (with
 * `window.mayStartNow` false and a warning) so `preview` can show it; `assertWithinWindow` refuses.
 */
export function planChange(req: PlanRequest): Plan {
  const to = parseAt(req.target.version, "target.version");
  const from = req.deployed ? parseAt(req.deployed.version, "deployed.version") : undefined;
  validate(req);
  const windows = (req.maintenanceWindows ?? []).map(parseWindow);
  const d = decide(req, from, to);
  const history = req.history ?? [];
  const estimated = d.skeletons.map((s) => ({
    ...s,
    ...estimateStep(s, history, req.databaseBytes),
  }));
  const steps: PlannedStep[] = d.skeletons.map((s, i) => ({
    ...s,
    estimate: (estimated[i] as EstimatedStep).estimate,
  }));
  const sum = (key: keyof DurationRange): number =>
    steps.reduce((total, s) => total + s.estimate[key], 0);
  const lastDown = steps.map((s) => s.gatewayDown).lastIndexOf(true);
  const spanSeconds = steps
    .slice(0, lastDown + 1)
    .reduce((total, s) => total + s.estimate.highSeconds, 0);
  const window =
    windows.length > 0 && d.kind !== "noop"
      ? evaluateWindows(windows, req.now as Date, spanSeconds)
      : undefined;
  const plan: Plan = {
    kind: d.kind,
    ...(from === undefined ? {} : { from: formatVersion(from) }),
    to: formatVersion(to),
    ...(d.hop === undefined ? {} : { hop: d.hop }),
    steps,
    strategy: d.kind === "upgrade" ? (req.strategy ?? "in-place") : "in-place",
    // An outage measured under one strategy stands only for the same strategy; the install
    // stands for any (its span covers every outage step an upgrade has).
    downtime:
      measuredDowntime(
        estimated,
        history,
        req.databaseBytes,
        d.kind === "upgrade" ? (req.strategy ?? "in-place") : "in-place",
      ) ??
      installDowntime(estimated, history, req.databaseBytes, req.stopOverlapsStart === true) ??
      summarizeDowntime(estimated),
    ...(d.kind === "upgrade" && d.hop && (req.strategy ?? "in-place") === "in-place"
      ? { alternatives: alternatives(req, d.hop) }
      : {}),
    duration: {
      lowSeconds: sum("lowSeconds"),
      expectedSeconds: sum("expectedSeconds"),
      highSeconds: sum("highSeconds"),
    },
    databaseBytes: req.databaseBytes ?? DEFAULT_DATABASE_BYTES,
    databaseBytesAssumed: req.databaseBytes === undefined,
    migrations: d.migrations,
    newPluginMigrations: d.migrations.newPluginMigrations,
    ...(d.backup === undefined ? {} : { backup: d.backup }),
    ...(d.rollbackBackup === undefined ? {} : { rollbackBackup: d.rollbackBackup }),
    ...(window === undefined ? {} : { window }),
    warnings: [],
  };
  const warnings = planWarnings(plan, { req, from, to, capacityWarnings: d.capacityWarnings });
  if (plan.strategy === "rolling" && d.hop !== "patch") {
    warnings.push(
      `rolling ${plan.from} → ${plan.to} (a ${d.hop} hop) runs both versions side by side while the nodes are replaced; Kong recommends mixed versions only between patch versions (KONG.md §5) — allowed here by kong-gateway:allowMixedVersions`,
    );
  }
  return { ...plan, warnings };
}

/** The downtime each other allowed strategy would have for this upgrade. */
function alternatives(req: PlanRequest, hop: HopKind): StrategyAlternative[] {
  return otherStrategies(hop, req).map((strategy) => ({
    strategy,
    downtime: planChange({ ...req, strategy }).downtime,
  }));
}
