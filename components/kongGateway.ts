import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { join, resolve } from "node:path";
import { ChainDecision, decideChain, DeployedState, PastRunRecord, stepSpec } from "./chain";
import { fillTemplate, parseBastion, PlainSettings, ResolvedConfig, withDefaults } from "./config";
import { InPlaceUpgrade } from "./inPlaceUpgrade";
import { DockerCluster } from "./dockerCluster";
import { KongCluster } from "./kongCluster";
import { KongDatabase } from "./kongDatabase";
import { passwordRotated, readLocalState } from "./localState";
import { ensureRunnerBundle } from "./runnerBundle";
import { Plan, planChange, PlanError, PlanJson, planToJson, renderPlan } from "./plan";
import { UpgradeReport } from "./steps/report";

/** Arguments of {@link KongGateway}: the plain settings (they decide what resources exist) plus inputs. */
export interface KongGatewayArgs extends PlainSettings {
  /** Password of the Kong database role; reaches commands only as a secret environment value. */
  readonly databasePassword: pulumi.Input<string>;
  /** `database.mode: managed` only: the administrator's password. @default undefined */
  readonly databaseAdminPassword?: pulumi.Input<string>;
  /** `runtime: hosts` only: the private key (OpenSSH or PEM) that logs in to every host. @default undefined */
  readonly sshPrivateKey?: pulumi.Input<string>;
  /**
   * What this stack deployed last (its own `deployment` output, read by index.ts through a
   * StackReference to itself). Absent on a brand-new stack. @default undefined
   */
  readonly deployed?: DeployedState;
  /** Project root: where components/ and scripts/ are. @default the folder above components/ */
  readonly root?: string;
  /** Stack name for the default state directory. @default pulumi.getStack() */
  readonly stack?: string;
  /** The clock maintenance windows are checked against in the plan. @default now */
  readonly now?: Date;
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
  /** The plan while the configured version differs from the deployed one. */
  public readonly upgradePlan: PlanJson | undefined;
  /** The report of the change that produced the running cluster. */
  public readonly lastUpgrade: pulumi.Output<UpgradeReport | undefined>;
  /** The backup catalog after that change. */
  public readonly backups: pulumi.Output<Array<Record<string, unknown>>>;
  /** What the next run needs to know about this one (read back through a StackReference). */
  public readonly deployment: pulumi.Output<DeployedState>;

  constructor(name: string, args: KongGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kong-gateway:index:KongGateway", name, {}, opts);
    const root = args.root ?? resolve(__dirname, "..");
    const cfg = resolveConfig(args, root, this);
    ensureRunnerBundle(root);
    const local = readLocalState(cfg.stateDir, cfg.backup.dir, name);
    const plan = planOrFail(cfg, args, local.backups, this);
    const chain = decideChain(
      cfg,
      name,
      args.deployed,
      { kind: plan.kind, rollbackBackupId: plan.rollbackBackup?.id },
      local.attempts,
    );
    if (plan.kind !== "noop") {
      pulumi.log.warn(renderPlan(plan), this);
    } else if (!cfg.docker) {
      // Same version, so the Kong plan is "no change"; a rotated password still does something.
      pulumi.output(args.databasePassword).apply((pw) => {
        if (passwordRotated(cfg.stateDir, name, cfg.version, pw)) {
          void pulumi.log.warn(
            `kong-gateway:dbPassword changed (Kong ${cfg.version} stays): the steps run again, preflight first (a password PostgreSQL refuses stops the update before any node is touched), then each node restarts with the new password, one after the other`,
            this,
          );
        }
      });
    }
    const spec = stepSpec(cfg, name, chain);
    const db = new KongDatabase(
      `${name}-db`,
      {
        settings: cfg.database,
        password: args.databasePassword,
        adminPassword: args.databaseAdminPassword,
        localDir: join(cfg.stateDir, "postgres"),
        root,
      },
      { parent: this },
    );
    const sshPrivateKey = cfg.hosts ? requireSshKey(args, this) : undefined;
    const install = cfg.hosts
      ? createHostInstalls(name, cfg, chain, cfg.hosts, sshPrivateKey!, this)
      : cfg.docker
        ? []
        : createInstall(name, cfg, root, this);
    const upgrade = new InPlaceUpgrade(
      `${name}-${chain.kind}-${chain.to}`,
      {
        spec,
        password: args.databasePassword,
        sshPrivateKey,
        root,
        after: [...db.ready, ...install],
        startCluster: (after) =>
          cfg.docker
            ? new DockerCluster(
                `${name}-${chain.to}`,
                {
                  spec,
                  password: args.databasePassword,
                  root,
                  startAfter: after,
                  docker: {
                    image: cfg.docker.image,
                    ...(cfg.docker.network ? { network: cfg.docker.network } : {}),
                    dockerHost: cfg.docker.host,
                    publishAddress: cfg.docker.publishAddress,
                    basePort: cfg.docker.basePort,
                  },
                },
                { parent: this },
              )
            : new KongCluster(
                `${name}-${chain.to}`,
                { spec, password: args.databasePassword, sshPrivateKey, root, startAfter: after },
                { parent: this },
              ),
      },
      { parent: this },
    );
    const report = pulumi.unsecret(upgrade.verify.stdout).apply(parseReport);
    this.version = cfg.version;
    this.proxyUrls = upgrade.cluster.proxyUrls;
    this.adminUrls = upgrade.cluster.adminUrls;
    this.upgradePlan = plan.kind === "noop" ? undefined : planToJson(plan);
    this.lastUpgrade = report.apply((r) => r.lastUpgrade);
    this.backups = report.apply((r) => r.backups);
    this.deployment = report.apply((r) => nextDeployment(cfg, chain, args.deployed, r.lastUpgrade));
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

function resolveConfig(
  args: KongGatewayArgs,
  root: string,
  parent: pulumi.Resource,
): ResolvedConfig {
  try {
    return withDefaults(args, root, args.stack ?? pulumi.getStack());
  } catch (e) {
    throw new pulumi.ResourceError((e as Error).message, parent, true);
  }
}

function planOrFail(
  cfg: ResolvedConfig,
  args: KongGatewayArgs,
  backups: ReturnType<typeof readLocalState>["backups"],
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
        plugins: pluginSetting(cfg.plugins),
        cpus: cfg.capacity.cpus,
        memoryMb: cfg.capacity.memoryMb,
      },
      allowSmallerCluster: cfg.capacity.allowSmallerCluster,
      backups,
      history,
      databaseBytes: d?.databaseBytes ?? history.at(-1)?.databaseBytes,
      maintenanceWindows: cfg.maintenanceWindows,
      now: args.now ?? new Date(),
      backupDir: cfg.backup.dir,
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
        : code === "input"
          ? "kong-gateway"
          : "kong-gateway:version";
  return `${setting} ${e.message.replace(/^(target|deployed)\.version: /, "")}`;
}

function pluginSetting(plugins: string): string[] | "bundled" {
  return plugins === "bundled" ? "bundled" : plugins.split(",");
}

/** The command that installs the target version's binary, when the stack configures one. */
function createInstall(
  name: string,
  cfg: ResolvedConfig,
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
 */
function createHostInstalls(
  name: string,
  cfg: ResolvedConfig,
  chain: ChainDecision,
  hosts: NonNullable<ResolvedConfig["hosts"]>,
  privateKey: pulumi.Input<string>,
  parent: pulumi.Resource,
): command.remote.Command[] {
  if (!hosts.install) {
    return [];
  }
  const proxy = bastionConnection(hosts.bastion, hosts.user, privateKey);
  return hosts.addresses.slice(0, cfg.nodes).map(
    (host) =>
      new command.remote.Command(
        `${name}-${cfg.version}-install-${host}`,
        {
          connection: {
            host,
            port: hosts.port,
            user: hosts.user,
            privateKey: pulumi.secret(privateKey),
            ...(proxy ? { proxy } : {}),
          },
          create: fillTemplate(hosts.install, { version: cfg.version, host }),
          logging: "stdoutAndStderr",
          // An aborted attempt's rollback may have reinstalled the old version over this one
          // (one package per host), so the next attempt installs again.
          triggers: [chain.generation],
        },
        { parent },
      ),
  );
}

/** `user@host:port` of the jump host as a command.remote proxy connection. */
function bastionConnection(
  bastion: string,
  defaultUser: string,
  privateKey: pulumi.Input<string>,
): command.types.input.remote.ProxyConnectionArgs | undefined {
  const jump = parseBastion(bastion, defaultUser);
  return jump && { ...jump, privateKey: pulumi.secret(privateKey) };
}

interface ParsedReport {
  lastUpgrade: UpgradeReport | undefined;
  backups: Array<Record<string, unknown>>;
}

/** Reads the `KONG_GW_REPORT` line the verify step prints. */
export function parseReport(stdout: string | undefined): ParsedReport {
  const line = (stdout ?? "").split("\n").find((l) => l.startsWith("KONG_GW_REPORT "));
  if (!line) {
    return { lastUpgrade: undefined, backups: [] };
  }
  const parsed = JSON.parse(line.slice("KONG_GW_REPORT ".length)) as ParsedReport;
  return { lastUpgrade: parsed.lastUpgrade, backups: parsed.backups ?? [] };
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
  if (!sameChain && report && report.kind === "upgrade") {
    history.push({
      steps: report.steps.map((s) => ({ name: s.name, seconds: s.seconds })),
      downtimeSeconds: report.downtimeSeconds,
      ...(report.databaseBytes !== undefined ? { databaseBytes: report.databaseBytes } : {}),
    });
  }
  const databaseBytes = sameChain
    ? previous?.databaseBytes
    : (report?.databaseBytes ?? previous?.databaseBytes);
  return {
    version: cfg.version,
    nodes: cfg.nodes,
    plugins: cfg.plugins,
    ...(cfg.capacity.cpus !== undefined ? { cpus: cfg.capacity.cpus } : {}),
    ...(cfg.capacity.memoryMb !== undefined ? { memoryMb: cfg.capacity.memoryMb } : {}),
    chain,
    history: history.slice(-5),
    ...(databaseBytes !== undefined ? { databaseBytes } : {}),
  };
}
