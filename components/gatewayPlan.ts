/**
 * What a KongGateway decides before any resource exists: its settings resolved, the plan, the
 * maintenance window, the preview of a same-version change. A refusal here is the component's
 * `ResourceError`, so preview and up stop before a node is touched.
 */
import * as pulumi from "@pulumi/pulumi";
import type { DeployedState } from "./chain";
import {
  LOCAL_DEFAULT_PASSWORD,
  PlainSettings,
  ResolvedConfig,
  withDefaults,
} from "./config/config";
import { renderReconfigure, restartsNodes, SettingChange } from "./config/changes";
import { pastRuns } from "./deploymentHistory";
import { Plan, planChange, PlanError } from "./plan";
import { checkWindow } from "./plan/policy";
import type { BackupRecord } from "./plan/rollback";
import { runnerBundleProblem } from "./runnerBundle";
import { passwordRotated } from "./state/local";

/**
 * The KongGatewayArgs (kongGateway.ts) these decisions read: the plain settings and the inputs
 * documented there. Declared here so this module does not import the component's.
 */
export interface GatewayInputs extends PlainSettings {
  readonly databasePassword?: pulumi.Input<string>;
  readonly deployed?: DeployedState;
  readonly stack?: string;
  readonly now?: Date;
}

/** The step runner every command resource runs is there and current (runnerBundle.ts). */
export function assertRunnerBundle(): void {
  const problem = runnerBundleProblem();
  if (problem) {
    throw new Error(problem);
  }
}

/** Runs a pure check; its refusal fails the run before any resource exists. */
export function refuseBeforeAnything(check: () => void, parent: pulumi.Resource): void {
  try {
    check();
  } catch (e) {
    throw new pulumi.ResourceError((e as Error).message, parent, true);
  }
}

/**
 * The maintenance window, checked by the program at `up` before any resource is created (the
 * runner's preflight checks it again when the chain starts): for changes that take the gateway
 * down — upgrades and rollbacks, and a settings change that restarts the only node.
 */
export function assertWindow(
  cfg: ResolvedConfig,
  plan: Plan,
  changes: readonly SettingChange[],
  now: Date | undefined,
): void {
  const takesDown =
    plan.kind === "upgrade" ||
    plan.kind === "rollback" ||
    (plan.kind === "noop" && cfg.nodes === 1 && restartsNodes(changes, false));
  if (!takesDown || cfg.maintenanceWindows.length === 0) {
    return;
  }
  const spanSeconds = plan.kind === "noop" ? 0 : plan.downtime.highSeconds;
  const problem = checkWindow(cfg.maintenanceWindows, now ?? new Date(), spanSeconds);
  if (problem) {
    throw new Error(
      `kong-gateway:maintenanceWindow ${JSON.stringify(cfg.maintenanceWindows)}: ${problem.replace(/^maintenanceWindows: /, "")}; nothing was created or stopped`,
    );
  }
}

/** Preview of a same-version change: each changed setting and what it does. */
export function warnReconfigure(
  cfg: ResolvedConfig,
  name: string,
  args: GatewayInputs,
  changes: readonly SettingChange[],
  parent: pulumi.Resource,
): void {
  const restartSeconds =
    args.deployed?.history.at(-1)?.steps.find((s) => s.name === "start")?.seconds ?? 2;
  pulumi.output(args.databasePassword ?? LOCAL_DEFAULT_PASSWORD).apply((pw: string) => {
    // The docker runtime's containers carry the password as a file: @pulumi/docker's own diff
    // shows their replacement (README).
    const rotated =
      cfg.runtime !== "docker" && passwordRotated(cfg.stateDir, name, cfg.version, pw);
    if (changes.length > 0 || rotated) {
      void pulumi.log.warn(
        renderReconfigure(cfg.version, cfg.nodes, changes, rotated, restartSeconds),
        parent,
      );
    }
  });
}

/** The settings resolved by withDefaults (config/config.ts); a refusal is the component's. */
export function resolveConfig(
  name: string,
  args: GatewayInputs,
  root: string,
  parent: pulumi.Resource,
): ResolvedConfig {
  try {
    return withDefaults(args, root, args.stack ?? pulumi.getStack(), name);
  } catch (e) {
    throw new pulumi.ResourceError((e as Error).message, parent, true);
  }
}

/** The plan of this change from the deployed state and its history, or the planner's refusal. */
export function planOrFail(
  cfg: ResolvedConfig,
  args: GatewayInputs,
  backups: BackupRecord[],
  parent: pulumi.Resource,
): Plan {
  const d = args.deployed;
  const history = d?.history ?? [];
  try {
    return planChange({
      deployed: d && {
        version: d.version,
        nodes: d.nodes,
        plugins: pluginSetting(d.plugins),
        cpus: d.cpus,
        memoryMb: d.memoryMb,
      },
      target: {
        version: cfg.version,
        nodes: cfg.nodes,
        plugins: pluginSetting(cfg.plugins.join(",")),
        cpus: cfg.capacity.cpus,
        memoryMb: cfg.capacity.memoryMb,
      },
      allowSmallerCluster: cfg.capacity.allowSmallerCluster,
      backups,
      history: pastRuns(history),
      databaseBytes: d?.databaseBytes ?? history.at(-1)?.databaseBytes,
      maintenanceWindows: cfg.maintenanceWindows,
      now: args.now ?? new Date(),
      backupDir: cfg.backup.dir,
      backupVerify: cfg.backup.verify,
      strategy: cfg.strategy,
      allowMixedVersions: cfg.allowMixedVersions,
      stopOverlapsStart: cfg.runtime === "local",
    });
  } catch (e) {
    throw new pulumi.ResourceError(settingMessage(e as Error), parent, true);
  }
}

/** The planner's refusal, led by the stack setting to change (STYLE.md: setting, value, fix). */
function settingMessage(e: Error): string {
  const code = e instanceof PlanError ? e.code : "input";
  const setting =
    code === "capacity"
      ? "kong-gateway:nodes / kong-gateway:capacity"
      : code === "window"
        ? "kong-gateway:maintenanceWindow"
        : code === "strategy"
          ? "kong-gateway:strategy"
          : code === "input"
            ? "kong-gateway"
            : "kong-gateway:version";
  const text = e.message.replace(/^(target|deployed)\.version: /, "");
  // The planner's own wording may already start with the setting's name ("version 3.5.0 → 3.4.0").
  return `${setting} ${setting.endsWith(":version") ? text.replace(/^version /, "") : text}`;
}

function pluginSetting(plugins: string): string[] | "bundled" {
  return plugins === "bundled" ? "bundled" : plugins.split(",");
}
