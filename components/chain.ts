/**
 * Which chain of steps a KongGateway builds, and the spec each step receives. Pure: the same
 * inputs give the same chain, which is what lets a second `pulumi up` report no changes — while
 * the configured version equals the deployed one, the chain recorded at deploy time is rebuilt
 * exactly, and its already-created steps stay untouched.
 */
import { join } from "node:path";
import { fillTemplate, ResolvedConfig } from "./config/config";
import type { SettingsSnapshot } from "./config/changes";
import { chainResources, Strategy } from "./contract/steps";
import { BackupSpec, NodeSpec, RuntimeSpec, SshSpec, StepSpec } from "./contract/spec";
import { CatalogEntry, decodeCatalog } from "./contract/report";

/** What a chain does; recorded in the stack's `deployment` output. */
export interface ChainDecision {
  readonly kind: "install" | "upgrade" | "rollback";
  readonly from?: string;
  readonly to: string;
  /** Attempt number; an aborted attempt bumps it so every step runs again. */
  readonly generation: number;
  /** For `rollback`: the backup to restore. */
  readonly restoreBackupId?: string;
  /** For `rollback`: its sha256 as the stack's catalog records it (a fetched copy must match). */
  readonly restoreSha256?: string;
}

/** One past run, as the planner's estimate wants it. */
export interface PastRunRecord {
  readonly steps: { name: string; seconds: number }[];
  readonly databaseBytes?: number;
  /** The outage the run measured. */
  readonly downtimeSeconds?: number;
  /** `install` for the install's entry (an upgrade's has none: the records before it had none). */
  readonly kind?: "install";
  /** An install's span from its `stop` to its first ready node (components/plan/fromInstall.ts). */
  readonly installSpanSeconds?: number;
  /** An install's span from the end of the step before `start` to its first ready node. */
  readonly installStartSpanSeconds?: number;
  /** An upgrade's strategy when not `in-place`: its outage stands only for the same strategy. */
  readonly strategy?: Strategy;
}

/** What the stack exports as `deployment` and reads back through a StackReference to itself. */
export interface DeployedState {
  readonly version: string;
  readonly nodes: number;
  readonly plugins: string;
  readonly cpus?: number;
  readonly memoryMb?: number;
  readonly chain: ChainDecision;
  readonly history: PastRunRecord[];
  /** Database size the last change measured (install, upgrade or rollback), for estimates. */
  readonly databaseBytes?: number;
  /**
   * Every resolved, non-secret setting as of this run: the next run compares its own with these
   * to tell a same-version settings change (a "reconfigure") and its impact. Absent on stacks
   * deployed before it was recorded.
   */
  readonly settings?: SettingsSnapshot;
  /** The chain-level settings the chain's resources were created with (see {@link ChainSettings}). */
  readonly chainSettings?: ChainSettings;
  /**
   * The backup catalog as of this run, with where each backup is: what lets another machine
   * (an empty state directory) plan a rollback and fetch the backup. Absent on older stacks.
   */
  readonly backups?: CatalogEntry[];
}

/**
 * The settings a chain of steps uses and its nodes carry without using them on a restart: the
 * backup, the verify probe, the maintenance windows, automatic rollback, capacity rule and the
 * migration timeouts. They stay as the chain was created until the next chain (an upgrade or a
 * rollback), so changing e.g. `backup.retention` on a running cluster touches no resource: it
 * takes effect with the next change that takes a backup.
 */
export type ChainSettings = Pick<
  StepSpec,
  "backup" | "probe" | "maintenanceWindows" | "automaticRollback" | "allowSmallerCluster"
> & {
  readonly dbTimeoutSeconds: number;
  readonly lockTimeoutSeconds: number;
  /** The chain's strategy; absent: `in-place` (and on stacks deployed before strategies). */
  readonly strategy?: Strategy;
};

/** The chain-level settings of a spec. */
export function chainSettingsOf(spec: StepSpec): ChainSettings {
  return {
    backup: spec.backup,
    probe: spec.probe,
    maintenanceWindows: spec.maintenanceWindows,
    automaticRollback: spec.automaticRollback,
    allowSmallerCluster: spec.allowSmallerCluster,
    dbTimeoutSeconds: spec.timeouts.dbTimeoutSeconds,
    lockTimeoutSeconds: spec.timeouts.lockTimeoutSeconds,
    ...(spec.strategy ? { strategy: spec.strategy } : {}),
  };
}

/**
 * `spec` with the chain-level settings the running chain was created with. `frozen` comes back
 * from the stack's outputs, whose objects the engine may return with their keys sorted; the
 * spec's own key order is kept, so the spec's text (a command's environment) is the same as the
 * run that recorded it, and a second `up` has no changes.
 */
export function withChainSettings(spec: StepSpec, frozen: ChainSettings): StepSpec {
  return {
    ...spec,
    // The chain's own (undefined: `in-place`, which the spec's text leaves out).
    strategy: frozen.strategy,
    backup: { ...spec.backup, ...frozen.backup },
    probe: { ...spec.probe, ...frozen.probe },
    maintenanceWindows: frozen.maintenanceWindows,
    automaticRollback: frozen.automaticRollback,
    allowSmallerCluster: frozen.allowSmallerCluster,
    timeouts: {
      ...spec.timeouts,
      dbTimeoutSeconds: frozen.dbTimeoutSeconds,
      lockTimeoutSeconds: frozen.lockTimeoutSeconds,
    },
  };
}

/** Parses the `deployment` output of the stack's last update (undefined on a new stack). */
export function parseDeployed(value: unknown): DeployedState | undefined {
  if (!value || typeof value !== "object") {
    return undefined;
  }
  const d = value as Partial<DeployedState>;
  if (typeof d.version !== "string" || !d.chain || typeof d.chain.to !== "string") {
    return undefined;
  }
  return {
    version: d.version,
    nodes: Number(d.nodes ?? 1),
    plugins: String(d.plugins ?? "bundled"),
    cpus: d.cpus,
    memoryMb: d.memoryMb,
    chain: d.chain,
    history: Array.isArray(d.history) ? d.history : [],
    ...(typeof d.databaseBytes === "number" ? { databaseBytes: d.databaseBytes } : {}),
    ...(isSnapshot(d.settings) ? { settings: d.settings } : {}),
    ...(Array.isArray(d.backups) ? { backups: decodeCatalog(d.backups) } : {}),
    ...(d.chainSettings && typeof d.chainSettings === "object"
      ? { chainSettings: d.chainSettings }
      : {}),
  };
}

function isSnapshot(v: unknown): v is SettingsSnapshot {
  return (
    !!v &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    Object.values(v as Record<string, unknown>).every((x) => typeof x === "string")
  );
}

/**
 * The chain for this run. Same version as deployed: the recorded chain, unchanged. Otherwise a
 * new chain of `kind` (decided by the planner) at the attempt number the state directory holds.
 */
export function decideChain(
  cfg: ResolvedConfig,
  cluster: string,
  deployed: DeployedState | undefined,
  plan: {
    kind: "noop" | "install" | "upgrade" | "rollback";
    rollbackBackupId?: string;
    rollbackSha256?: string;
  },
  attempts: Record<string, number>,
): ChainDecision {
  if (plan.kind === "noop" && deployed) {
    return deployed.chain;
  }
  const kind = plan.kind === "noop" ? "install" : plan.kind;
  return {
    kind,
    from: deployed?.version,
    to: cfg.version,
    generation: attempts[`${cluster}/${kind}-${cfg.version}`] ?? 1,
    ...(plan.rollbackBackupId ? { restoreBackupId: plan.rollbackBackupId } : {}),
    ...(plan.rollbackSha256 ? { restoreSha256: plan.rollbackSha256 } : {}),
  };
}

/** The nodes of a chain's target cluster on the configured runtime. */
export function clusterNodes(
  cfg: ResolvedConfig,
  cluster: string,
  chain: ChainDecision,
): NodeSpec[] {
  if (cfg.runtime === "hosts") {
    const h = cfg.hosts;
    return Array.from({ length: cfg.nodes }, (_, i) => {
      const host = h.addresses[i]!;
      const fill = (t: string) => fillTemplate(t, { version: chain.to, host });
      const id = `node-${i}`;
      const listen = fill(h.listenAddress);
      const admin = fill(h.adminAddress);
      const reach = (address: string) =>
        address === "0.0.0.0" || address === "::" ? urlHost(host) : urlHost(address);
      return {
        id,
        version: chain.to,
        kongBin: fill(h.kongBinary),
        prefix: `${fill(h.prefix).replace(/\/+$/, "")}/${chain.kind}-${chain.to}-g${chain.generation}/${id}`,
        host,
        ...(h.startCommand ? { envFile: `${fill(h.prefix).replace(/\/+$/, "")}/${id}.env` } : {}),
        proxyListen: `${listen}:${h.proxyPort}`,
        adminListen: `${admin}:${h.adminPort}`,
        statusListen: `${listen}:${h.statusPort}`,
        proxyUrl: `http://${reach(listen)}:${h.proxyPort}`,
        adminUrl: `http://${reach(admin)}:${h.adminPort}`,
        statusUrl: `http://${reach(listen)}:${h.statusPort}`,
      };
    });
  }
  if (cfg.runtime === "docker") {
    const d = cfg.docker;
    return Array.from({ length: cfg.nodes }, (_, i) => {
      const base = d.basePort + 10 * i;
      const id = `node-${i}`;
      const container = `${cluster}-${chain.to}-${id}`;
      const at = urlHost(d.publishAddress === "0.0.0.0" ? "127.0.0.1" : d.publishAddress);
      return {
        id,
        version: chain.to,
        kongBin: "kong",
        prefix: `docker:${container}`,
        container,
        proxyListen: "0.0.0.0:8000",
        adminListen: "0.0.0.0:8001",
        statusListen: "0.0.0.0:8100",
        proxyUrl: `http://${at}:${base}`,
        adminUrl: `http://${at}:${base + 1}`,
        statusUrl: `http://${at}:${base + 2}`,
      };
    });
  }
  return localNodes(cfg, chain);
}

/** An address as the host part of a URL (IPv6 in brackets). */
function urlHost(address: string): string {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
}

/** How the runner reaches the hosts of the `hosts` runtime (nodes and the host backup store). */
function runtimeSshSpec(cfg: Extract<ResolvedConfig, { runtime: "hosts" }>): SshSpec {
  return {
    user: cfg.hosts.user,
    port: cfg.hosts.port,
    bastion: cfg.hosts.bastion,
    knownHosts: cfg.hosts.knownHosts,
  };
}

/** Where the runner finds the nodes and runs Kong's CLI. */
export function runtimeSpec(cfg: ResolvedConfig): RuntimeSpec {
  if (cfg.runtime === "hosts") {
    return {
      kind: "hosts",
      ssh: runtimeSshSpec(cfg),
      migrationHost: cfg.hosts.migrationHost,
      install: cfg.hosts.install,
      startCommand: cfg.hosts.startCommand,
      stopCommand: cfg.hosts.stopCommand,
    };
  }
  if (cfg.runtime === "docker") {
    return {
      kind: "docker",
      image: cfg.docker.image,
      network: cfg.docker.network,
      dockerHost: cfg.docker.host,
      databaseHost: cfg.docker.databaseHost,
      pgClient: cfg.docker.pgClient,
      pgClientImage: cfg.docker.pgClientImage,
    };
  }
  return { kind: "local" };
}

/** The nodes of a chain's target cluster on the local runtime. */
export function localNodes(
  cfg: Extract<ResolvedConfig, { runtime: "local" }>,
  chain: ChainDecision,
): NodeSpec[] {
  const kongBin = fillTemplate(cfg.local.kongBinary, { version: chain.to, stateDir: cfg.stateDir });
  return Array.from({ length: cfg.nodes }, (_, i) => {
    const base = cfg.local.basePort + 10 * i;
    const admin = cfg.local.adminAddress;
    const id = `node-${i}`;
    return {
      id,
      version: chain.to,
      kongBin,
      prefix: join(cfg.stateDir, "nodes", `${chain.kind}-${chain.to}-g${chain.generation}`, id),
      proxyListen: `127.0.0.1:${base}`,
      adminListen: `${admin}:${base + 1}`,
      statusListen: `127.0.0.1:${base + 2}`,
      proxyUrl: `http://127.0.0.1:${base}`,
      adminUrl: `http://${admin === "0.0.0.0" ? "127.0.0.1" : admin}:${base + 1}`,
      statusUrl: `http://127.0.0.1:${base + 2}`,
    };
  });
}

/** How backups are taken and where they are kept, as the runner (and the program) reach them. */
export function backupSpec(cfg: ResolvedConfig): BackupSpec {
  return {
    dir: cfg.backup.dir,
    verify: cfg.backup.verify,
    retention: cfg.backup.retention,
    minFreeBytes: cfg.backup.minFreeMb * 1024 * 1024,
    ...(cfg.backup.store === "command" ? { command: cfg.backup.command } : {}),
    ...(cfg.backup.store === "host" && cfg.runtime === "hosts"
      ? {
          host: {
            address: cfg.backup.host,
            dir: cfg.backup.hostDir,
            ssh: runtimeSshSpec(cfg),
            stateDir: cfg.stateDir,
          },
        }
      : {}),
  };
}

/** The spec every step of the chain receives (no secrets). */
export function stepSpec(cfg: ResolvedConfig, cluster: string, chain: ChainDecision): StepSpec {
  const runtime = runtimeSpec(cfg);
  return {
    ...(runtime.kind !== "local" ? { runtime } : {}),
    cluster,
    stateDir: cfg.stateDir,
    kind: chain.kind,
    ...(chain.from ? { from: chain.from } : {}),
    to: chain.to,
    generation: chain.generation,
    nodes: clusterNodes(cfg, cluster, chain),
    plugins: cfg.plugins.join(","),
    database: {
      host: cfg.database.host,
      port: cfg.database.port,
      database: cfg.database.database,
      user: cfg.database.user,
      schema: cfg.database.schema,
      ssl: cfg.database.ssl ? "on" : "off",
    },
    backup: {
      ...backupSpec(cfg),
      ...(chain.restoreSha256 ? { restoreSha256: chain.restoreSha256 } : {}),
    },
    // Only an upgrade has a strategy; `in-place` is left out (see StepSpec.strategy).
    ...(chain.kind === "upgrade" && cfg.strategy !== "in-place" ? { strategy: cfg.strategy } : {}),
    automaticRollback: cfg.automaticRollback,
    ...(chain.restoreBackupId ? { restoreBackupId: chain.restoreBackupId } : {}),
    maintenanceWindows: cfg.maintenanceWindows,
    allowSmallerCluster: cfg.capacity.allowSmallerCluster,
    probe: cfg.probe,
    timeouts: cfg.timeouts,
  };
}

/** The step resources of a chain, in dependency order (node starts sit between them). */
export function chainSteps(
  kind: ChainDecision["kind"],
  strategy: Strategy = "in-place",
): { before: string[]; after: string[] } {
  return chainResources(kind, strategy);
}
