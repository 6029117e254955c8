import * as pulumi from "@pulumi/pulumi";
import { join } from "node:path";
import { chainSettingsOf, decideChain, DeployedState, stepSpec, withChainSettings } from "./chain";
import { LOCAL_DEFAULT_PASSWORD, PlainSettings, ResolvedConfig } from "./config/config";
import { backupStorePolicy } from "./config/backupStore";
import {
  assertReconfigurable,
  diffSettings,
  settingsSnapshot,
  unusedSettings,
} from "./config/changes";
import { CatalogEntry, decodeReport, UpgradeReport } from "./contract/report";
import { nextDeployment } from "./deploymentHistory";
import {
  assertRunnerBundle,
  assertWindow,
  planOrFail,
  refuseBeforeAnything,
  resolveConfig,
  warnReconfigure,
} from "./gatewayPlan";
import { assertBackupRoom, assertPortsFree } from "./guards";
import { InPlaceUpgrade } from "./inPlaceUpgrade";
import { KongDatabase } from "./kongDatabase";
import { migrationDbTimeout, PlanSummary, planSummary, renderPlan } from "./plan";
import { runnerDir } from "./runnerCommand";
import { runtimeParts } from "./runtimeParts";
import { readLocalState } from "./state/local";
import { mergeBackups, nextCatalog, toRecord } from "./state/stackCatalog";
import { withStoredAttempt, type StoredAttempt } from "./state/journal";

/** Arguments of {@link KongGateway}: the plain settings (they decide what resources exist) plus inputs. */
export interface KongGatewayArgs extends PlainSettings {
  /**
   * Password of the Kong database role; reaches commands only as a secret environment value.
   * Required unless `database.mode` is `local` (a loopback-only server on this machine).
   * @default a fixed password, for `database.mode: local` only
   */
  readonly databasePassword?: pulumi.Input<string>;
  /** `database.mode: managed` only: the administrator's password. @default undefined */
  readonly databaseAdminPassword?: pulumi.Input<string>;
  /** `runtime: hosts` only: the private key (OpenSSH or PEM) that logs in to every host. @default undefined */
  readonly sshPrivateKey?: pulumi.Input<string>;
  /**
   * What this stack deployed last (its own `deployment` output, read by index.ts through a
   * StackReference to itself). Absent on a brand-new stack. @default undefined
   */
  readonly deployed?: DeployedState;
  /**
   * The folder relative paths in the settings (`stateDir`, `backup.dir`, …) are resolved from,
   * and where `local.install` runs. The package's own files (step runner, scripts) are found
   * from its own location, never from here. @default process.cwd() (the Pulumi program's folder)
   */
  readonly root?: string;
  /** Stack name for the default state directory. @default pulumi.getStack() */
  readonly stack?: string;
  /** The clock maintenance windows are checked against in the plan. @default now */
  readonly now?: Date;
  /**
   * An unfinished attempt another machine recorded in the backup store (index.ts reads it with
   * components/storedAttempt.ts): its change starts over from preflight. @default undefined
   */
  readonly storedAttempt?: StoredAttempt;
}

/**
 * A Kong Gateway cluster in traditional mode on one PostgreSQL database, upgraded in place.
 *
 * The configured version decides everything: the same version as deployed changes nothing; a
 * newer one (one guaranteed hop, KONG.md §5) builds the upgrade chain preflight → stop X →
 * backup → migrations up → migrations finish → start Y → verify, and Pulumi removes X's nodes at
 * the end of the update; an older one with a backup from the upgrade that left it builds the
 * rollback chain preflight → stop Y → back up Y's database → restore → start X → verify. Preview
 * prints the plan as a warning.
 */
export class KongGateway extends pulumi.ComponentResource {
  /** The version serving after this update. */
  public readonly version: string;
  public readonly proxyUrls: string[];
  public readonly adminUrls: string[];
  /** The plan's summary while the configured version differs from the deployed one (short diff). */
  public readonly upgradePlan: PlanSummary | undefined;
  /** The report of the change that produced the running cluster. */
  public readonly lastUpgrade: pulumi.Output<UpgradeReport | undefined>;
  /** The backup catalog after that change. */
  public readonly backups: pulumi.Output<CatalogEntry[]>;
  /** What the next run needs to know about this one (read back through a StackReference). */
  public readonly deployment: pulumi.Output<DeployedState>;

  constructor(name: string, args: KongGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kong-gateway:index:KongGateway", name, {}, opts);
    const root = args.root ?? process.cwd();
    const cfg = resolveConfig(name, args, root, this);
    refuseBeforeAnything(assertRunnerBundle, this);
    const local = readLocalState(cfg.stateDir, cfg.backup.dir, name);
    for (const note of [...local.skippedBackups, ...unusedSettings(cfg.runtime, args)]) {
      void pulumi.log.warn(note, this);
    }
    const backups = mergeBackups((args.deployed?.backups ?? []).map(toRecord), local.backups);
    const plan = planOrFail(cfg, args, backups, this);
    const attempts = withStoredAttempt(cfg.stateDir, local.attempts, args.storedAttempt);
    if (attempts.note && plan.kind !== "noop") {
      void pulumi.log.warn(attempts.note, this);
    }
    const storePolicy = backupStorePolicy(cfg, plan.kind);
    if (storePolicy.kind === "refuse") {
      refuseBeforeAnything(() => {
        throw new Error(storePolicy.message);
      }, this);
    } else if (storePolicy.kind === "note") {
      void pulumi.log.info(storePolicy.message, this);
    }
    const snapshot = settingsSnapshot(cfg);
    const changes = plan.kind === "noop" ? diffSettings(args.deployed?.settings, snapshot) : [];
    refuseBeforeAnything(() => assertReconfigurable(changes), this);
    refuseBeforeAnything(() => assertPortsFree(cfg, args.deployed), this);
    const takesBackup = plan.kind === "upgrade" || plan.kind === "rollback";
    refuseBeforeAnything(() => assertBackupRoom(cfg, takesBackup, args.deployed), this);
    // Guards before side effects: outside its window, `up` stops here, before any resource (an
    // install on the hosts, a new container) exists. Preview shows the plan with the warning.
    if (!pulumi.runtime.isDryRun()) {
      refuseBeforeAnything(() => assertWindow(cfg, plan, changes, args.now), this);
    }
    const chain = decideChain(
      cfg,
      name,
      args.deployed,
      {
        kind: plan.kind,
        rollbackBackupId: plan.rollbackBackup?.id,
        rollbackSha256: plan.rollbackBackup?.sha256,
      },
      attempts.attempts,
    );
    if (plan.kind !== "noop") {
      pulumi.log.warn(renderPlan(plan), this);
    } else {
      warnReconfigure(cfg, name, args, changes, this);
    }
    // Every `kong migrations` call gets --db-timeout sized to the database (plan/dbTimeout.ts).
    const databaseBytes =
      args.deployed?.databaseBytes ?? args.deployed?.history.at(-1)?.databaseBytes;
    const fresh = stepSpec(
      {
        ...cfg,
        timeouts: {
          ...cfg.timeouts,
          dbTimeoutSeconds: migrationDbTimeout(cfg.timeouts.dbTimeoutSeconds, databaseBytes),
        },
      },
      name,
      chain,
    );
    // A same-version change keeps the chain-level settings the chain was created with: only the
    // nodes' own settings flow to the running nodes (see ChainSettings).
    const frozen = plan.kind === "noop" ? args.deployed?.chainSettings : undefined;
    const spec = frozen ? withChainSettings(fresh, frozen) : fresh;
    const settingsSpec = { ...spec, maintenanceWindows: cfg.maintenanceWindows };
    const password = databasePassword(args, cfg, this);
    const db = new KongDatabase(
      `${name}-db`,
      {
        settings: cfg.database,
        password,
        adminPassword: args.databaseAdminPassword,
        localDir: join(cfg.stateDir, "postgres"),
      },
      { parent: this },
    );
    const runtime = runtimeParts(name, cfg, args, { chain, spec, password, root, plan }, this);
    const upgrade = new InPlaceUpgrade(
      `${name}-${chain.kind}-${chain.to}`,
      {
        spec,
        settingsSpec,
        password,
        sshPrivateKey: runtime.sshPrivateKey,
        runnerDir: runnerDir(),
        after: [...db.ready, ...runtime.install],
        startCluster: runtime.startCluster,
      },
      { parent: this },
    );
    const report = pulumi.unsecret(upgrade.reporting.stdout).apply(parseReport);
    this.version = cfg.version;
    this.proxyUrls = upgrade.cluster.proxyUrls;
    this.adminUrls = upgrade.cluster.adminUrls;
    this.upgradePlan = plan.kind === "noop" ? undefined : planSummary(plan);
    this.lastUpgrade = report.apply((r) => r.lastUpgrade);
    this.backups = report.apply((r) =>
      nextCatalog(args.deployed?.backups ?? [], r.backups, r.pruned ?? []),
    );
    this.deployment = report.apply((r) => ({
      ...nextDeployment(cfg, chain, args.deployed, r.lastUpgrade),
      backups: nextCatalog(args.deployed?.backups ?? [], r.backups, r.pruned ?? []),
      settings: snapshot,
      chainSettings: frozen ?? chainSettingsOf(fresh),
    }));
    this.registerOutputs({
      version: this.version,
      proxyUrls: this.proxyUrls,
      adminUrls: this.adminUrls,
      upgradePlan: this.upgradePlan,
      lastUpgrade: this.lastUpgrade,
      backups: this.backups,
      deployment: this.deployment,
    });
  }
}

/**
 * The role password: the configured secret, or, for `database.mode: local` only, the fixed
 * password of the loopback-only throwaway server (config/config.ts LOCAL_DEFAULT_PASSWORD).
 */
function databasePassword(
  args: KongGatewayArgs,
  cfg: ResolvedConfig,
  parent: pulumi.Resource,
): pulumi.Input<string> {
  if (args.databasePassword !== undefined) {
    return args.databasePassword;
  }
  if (cfg.database.mode === "local") {
    return pulumi.secret(LOCAL_DEFAULT_PASSWORD);
  }
  throw new pulumi.ResourceError(
    `kong-gateway:dbPassword is not set; database.mode ${cfg.database.mode} needs the database's password: pulumi config set --secret kong-gateway:dbPassword <password>`,
    parent,
    true,
  );
}

/** Reads the `KONG_GW_REPORT` line the verify step prints (components/contract/report.ts). */
export const parseReport = decodeReport;
