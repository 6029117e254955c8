import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ChainDecision,
  chainSettingsOf,
  decideChain,
  DeployedState,
  PastRunRecord,
  stepSpec,
  withChainSettings,
} from "./chain";
import {
  fillTemplate,
  LOCAL_DEFAULT_PASSWORD,
  parseBastion,
  PlainSettings,
  ResolvedConfig,
  withDefaults,
} from "./config/config";
import { assertBackupRoom, assertPortsFree } from "./guards";
import { InPlaceUpgrade } from "./inPlaceUpgrade";
import { DockerCluster } from "./dockerCluster";
import { KongCluster } from "./kongCluster";
import { KongDatabase } from "./kongDatabase";
import { passwordRotated, readLocalState } from "./state/local";
import { mergeBackups, nextCatalog, toRecord } from "./state/stackCatalog";
import { withStoredAttempt, type StoredAttempt } from "./state/journal";
import { backupStorePolicy } from "./config/backupStore";
import { runnerCommand, runnerDir } from "./runnerCommand";
import { runnerBundleProblem } from "./runnerBundle";
import {
  migrationDbTimeout,
  PastRun,
  Plan,
  planChange,
  PlanError,
  PlanSummary,
  planSummary,
  renderPlan,
} from "./plan";
import {
  assertReconfigurable,
  diffSettings,
  renderReconfigure,
  restartsNodes,
  SettingChange,
  settingsSnapshot,
  unusedSettings,
} from "./config/changes";
import { checkWindow } from "./plan/policy";
import { CatalogEntry, decodeReport, UpgradeReport } from "./contract/report";
import { HOST_KEYS_ENV, HostKeyJob, printedHostKey } from "./runner/steps/hostKeys";
import { pinnedHostKey } from "./runner/infra/knownHosts";
import { SSH_KEY_ENV } from "./runner/infra/ssh";
import type { StepSpec } from "./contract/spec";
import { STRATEGIES, Strategy } from "./contract/steps";
import type { BackupRecord } from "./plan/rollback";

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

/** The step runner every command resource runs is there and current (runnerBundle.ts). */
function assertRunnerBundle(): void {
  const problem = runnerBundleProblem();
  if (problem) {
    throw new Error(problem);
  }
}

/** Runs a pure check; its refusal fails the run before any resource exists. */
function refuseBeforeAnything(check: () => void, parent: pulumi.Resource): void {
  try {
    check();
  } catch (e) {
    throw new pulumi.ResourceError((e as Error).message, parent, true);
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

/** What the runtime adds to the chain: its installs, its SSH key, and the cluster it starts. */
interface RuntimeParts {
  readonly sshPrivateKey?: pulumi.Input<string>;
  /** Resources the chain waits for (the target version's installation). */
  readonly install: pulumi.Resource[];
  readonly startCluster: (after: pulumi.Resource) => KongCluster | DockerCluster;
}

/** The one place the program branches on the runtime. */
function runtimeParts(
  name: string,
  cfg: ResolvedConfig,
  args: KongGatewayArgs,
  ctx: {
    chain: ChainDecision;
    spec: StepSpec;
    password: pulumi.Input<string>;
    root: string;
    plan: Plan;
  },
  parent: pulumi.Resource,
): RuntimeParts {
  const { chain, spec, password } = ctx;
  const clusterName = `${name}-${chain.to}`;
  const processCluster =
    (sshPrivateKey: pulumi.Input<string> | undefined) => (after: pulumi.Resource) =>
      new KongCluster(
        clusterName,
        {
          spec,
          password,
          sshPrivateKey,
          runnerDir: runnerDir(),
          startAfter: after,
          ...(ctx.plan.kind === "noop" && args.deployed
            ? { runningNodes: Math.min(args.deployed.nodes, cfg.nodes) }
            : {}),
        },
        { parent },
      );
  switch (cfg.runtime) {
    case "docker":
      return {
        install: [],
        startCluster: (after) =>
          new DockerCluster(
            clusterName,
            { spec, password, runnerDir: runnerDir(), startAfter: after, docker: cfg.docker },
            { parent },
          ),
      };
    case "hosts": {
      const key = requireSshKey(args, parent);
      return {
        sshPrivateKey: key,
        install: createHostInstalls(name, cfg, chain, cfg.hosts, key, parent),
        startCluster: processCluster(key),
      };
    }
    case "local":
      return {
        install: createInstall(name, cfg, ctx.root, parent),
        startCluster: processCluster(undefined),
      };
  }
}

/**
 * The maintenance window, checked by the program at `up` before any resource is created (the
 * runner's preflight checks it again when the chain starts): for changes that take the gateway
 * down — upgrades and rollbacks, and a settings change that restarts the only node.
 */
function assertWindow(
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
function warnReconfigure(
  cfg: ResolvedConfig,
  name: string,
  args: KongGatewayArgs,
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

function resolveConfig(
  name: string,
  args: KongGatewayArgs,
  root: string,
  parent: pulumi.Resource,
): ResolvedConfig {
  try {
    return withDefaults(args, root, args.stack ?? pulumi.getStack(), name);
  } catch (e) {
    throw new pulumi.ResourceError((e as Error).message, parent, true);
  }
}

function planOrFail(
  cfg: ResolvedConfig,
  args: KongGatewayArgs,
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

/** The command that installs the target version's binary, when the stack configures one. */
function createInstall(
  name: string,
  cfg: Extract<ResolvedConfig, { runtime: "local" }>,
  root: string,
  parent: pulumi.Resource,
): command.local.Command[] {
  if (!cfg.local.install) {
    return [];
  }
  const dir = join(cfg.stateDir, "kong", cfg.version);
  return [
    new command.local.Command(
      `${name}-${cfg.version}-install`,
      {
        create: fillTemplate(cfg.local.install, {
          version: cfg.version,
          dir,
          stateDir: cfg.stateDir,
        }),
        dir: root,
        logging: "stdoutAndStderr",
      },
      { parent },
    ),
  ];
}

/** The hosts runtime's key, or a refusal naming the setting. */
function requireSshKey(args: KongGatewayArgs, parent: pulumi.Resource): pulumi.Input<string> {
  if (args.sshPrivateKey === undefined) {
    throw new pulumi.ResourceError(
      "kong-gateway:sshPrivateKey is not set, but runtime is hosts; store the key that logs in to every host as a secret: pulumi config set --secret kong-gateway:sshPrivateKey < ~/.ssh/kong_ed25519",
      parent,
      true,
    );
  }
  return args.sshPrivateKey;
}

/**
 * The target version's installation on every host (command.remote over SSH, one per host, named
 * by version and host), when the stack configures an install command. With one package per host
 * (the default, apt) this replaces the running version's files before preflight; the running
 * nodes keep serving from memory, and a rollback reinstalls the old version before restarting it.
 *
 * Each connection (and the bastion's) is pinned to the host key in `hosts.knownHosts`, the file
 * the runner's own `ssh` checks: a changed key is refused by the install as by every step. A host
 * not in the file yet is contacted first by {@link createHostKeyRecord}, and pinned to the key
 * recorded then.
 */
function createHostInstalls(
  name: string,
  cfg: ResolvedConfig,
  chain: ChainDecision,
  hosts: HostsConfig,
  privateKey: pulumi.Input<string>,
  parent: pulumi.Resource,
): command.remote.Command[] {
  if (!hosts.install) {
    return [];
  }
  const targets = hosts.addresses.slice(0, cfg.nodes);
  const record = createHostKeyRecord(name, cfg.stateDir, hosts, targets, privateKey, parent);
  const known = existsSync(hosts.knownHosts) ? readFileSync(hosts.knownHosts, "utf8") : "";
  const hostKey = (label: string, host: string, port: number): pulumi.Input<string> =>
    pinnedHostKey(known, host, port) ??
    record.stdout.apply((out) => {
      const key = printedHostKey(out, label);
      if (!key) {
        throw new Error(`no host key was recorded for ${host}:${port} in ${hosts.knownHosts}`);
      }
      return key;
    });
  const jump = parseBastion(hosts.bastion, hosts.user);
  const proxy = jump && {
    ...jump,
    privateKey: pulumi.secret(privateKey),
    hostKey: hostKey("bastion", jump.host, jump.port),
  };
  return targets.map(
    (host) =>
      new command.remote.Command(
        `${name}-${cfg.version}-install-${host}`,
        {
          connection: {
            host,
            port: hosts.port,
            user: hosts.user,
            privateKey: pulumi.secret(privateKey),
            hostKey: hostKey(host, host, hosts.port),
            ...(proxy ? { proxy } : {}),
          },
          create: fillTemplate(hosts.install, { version: cfg.version, host }),
          logging: "stdoutAndStderr",
          // An aborted attempt's rollback may have reinstalled the old version over this one
          // (one package per host), so the next attempt installs again.
          triggers: [chain.generation],
        },
        { parent, dependsOn: [record] },
      ),
  );
}

/**
 * `<name>-host-keys`: the runner's `host-keys` command, which connects to every host once (as the
 * steps do, recording a first contact in `hosts.knownHosts`) and prints the keys. Its inputs do
 * not change with the version, so it runs when the hosts or the SSH settings change, not on every
 * upgrade: later installs pin the keys read from the file (or, if the file lost them, the keys
 * this recorded).
 */
function createHostKeyRecord(
  name: string,
  stateDir: string,
  hosts: HostsConfig,
  targets: string[],
  privateKey: pulumi.Input<string>,
  parent: pulumi.Resource,
): command.local.Command {
  const job: HostKeyJob = {
    ssh: {
      user: hosts.user,
      port: hosts.port,
      bastion: hosts.bastion,
      knownHosts: hosts.knownHosts,
    },
    stateDir,
    hosts: targets,
  };
  return new command.local.Command(
    `${name}-host-keys`,
    {
      create: runnerCommand("host-keys"),
      dir: runnerDir(),
      environment: {
        [HOST_KEYS_ENV]: JSON.stringify(job),
        [SSH_KEY_ENV]: pulumi.secret(privateKey),
      },
      logging: "stderr",
    },
    { parent },
  );
}

/** The `hosts` runtime's resolved settings. */
type HostsConfig = Extract<ResolvedConfig, { runtime: "hosts" }>["hosts"];

/** Reads the `KONG_GW_REPORT` line the verify step prints (components/contract/report.ts). */
export const parseReport = decodeReport;

/**
 * What a change's report adds to `deployment.history` for the next estimate: an upgrade's steps
 * and outage; an install's steps and the span from its `stop` to its first ready node (the first
 * upgrade's estimate starts from it, components/plan/fromInstall.ts). Rollbacks add nothing.
 */
function historyEntry(
  report: UpgradeReport,
  strategy: Strategy | undefined,
): (PastRunRecord & PastRun) | undefined {
  const steps = report.steps.map((s) => ({ name: s.name, seconds: s.seconds }));
  const bytes = report.databaseBytes !== undefined ? { databaseBytes: report.databaseBytes } : {};
  if (report.kind === "upgrade") {
    return {
      steps,
      downtimeSeconds: report.downtimeSeconds,
      ...bytes,
      ...(strategy && strategy !== "in-place" ? { strategy } : {}),
    };
  }
  const stopEnd = report.steps.find((s) => s.name === "stop")?.finishedAt;
  if (report.kind !== "install" || report.outcome !== "succeeded" || !stopEnd) {
    return undefined;
  }
  const ready = report.firstReadyAt;
  // Seconds from `from` to the first ready node, to the millisecond; undefined when unknown.
  const since = (from: string | undefined): number | undefined => {
    const span = ready && from ? (Date.parse(ready) - Date.parse(from)) / 1000 : NaN;
    return Number.isFinite(span) && span >= 0 ? Math.round(span * 1000) / 1000 : undefined;
  };
  const start = report.steps.findIndex((s) => s.name === "start");
  const span = since(stopEnd);
  const startSpan = start > 0 ? since(report.steps[start - 1]?.finishedAt) : undefined;
  return {
    kind: "install",
    steps,
    ...bytes,
    ...(span !== undefined ? { installSpanSeconds: span } : {}),
    ...(startSpan !== undefined ? { installStartSpanSeconds: startSpan } : {}),
  };
}

/** `deployment.history` as recorded (by {@link historyEntry}), in the planner's terms. */
function pastRuns(history: readonly PastRunRecord[]): PastRun[] {
  return history.map((r) => {
    // Read back from the stack's output: checked, not trusted.
    const extra = r as {
      kind?: unknown;
      installSpanSeconds?: unknown;
      installStartSpanSeconds?: unknown;
      strategy?: unknown;
    };
    return {
      steps: r.steps,
      ...(r.databaseBytes !== undefined ? { databaseBytes: r.databaseBytes } : {}),
      ...(r.downtimeSeconds !== undefined ? { downtimeSeconds: r.downtimeSeconds } : {}),
      ...(extra.kind === "install" ? { kind: "install" as const } : {}),
      ...(typeof extra.installSpanSeconds === "number"
        ? { installSpanSeconds: extra.installSpanSeconds }
        : {}),
      ...(typeof extra.installStartSpanSeconds === "number"
        ? { installStartSpanSeconds: extra.installStartSpanSeconds }
        : {}),
      ...(STRATEGIES.includes(extra.strategy as Strategy)
        ? { strategy: extra.strategy as Strategy }
        : {}),
    };
  });
}

/** The `deployment` output: the chain that produced this cluster and the measured history. */
function nextDeployment(
  cfg: ResolvedConfig,
  chain: ChainDecision,
  previous: DeployedState | undefined,
  report: UpgradeReport | undefined,
): DeployedState {
  const sameChain = previous && JSON.stringify(previous.chain) === JSON.stringify(chain);
  const history: PastRunRecord[] = [...(previous?.history ?? [])];
  const measured = sameChain || !report ? undefined : historyEntry(report, cfg.strategy);
  if (measured) {
    history.push(measured);
  }
  const databaseBytes = sameChain
    ? previous?.databaseBytes
    : (report?.databaseBytes ?? previous?.databaseBytes);
  return {
    version: cfg.version,
    nodes: cfg.nodes,
    plugins: cfg.plugins.join(","),
    ...(cfg.capacity.cpus !== undefined ? { cpus: cfg.capacity.cpus } : {}),
    ...(cfg.capacity.memoryMb !== undefined ? { memoryMb: cfg.capacity.memoryMb } : {}),
    chain,
    history: history.slice(-5),
    ...(databaseBytes !== undefined ? { databaseBytes } : {}),
  };
}
