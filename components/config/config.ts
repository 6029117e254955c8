/**
 * The KongGateway's arguments and their defaults, resolved once in {@link withDefaults} into a
 * fully populated shape, and validated before any resource exists. Beside it: the argument types
 * (args.ts), the resolved shape (resolved.ts), the single-setting checks (validate.ts), the runtime
 * defaults (runtimeDefaults.ts), the known keys (settingKeys.ts) and the backup store
 * (backupStore.ts); every importer reads them from here. Pure: no Pulumi resources.
 */
import { isAbsolute, resolve } from "node:path";

import { bundledLater } from "../plan";
import type { LocalRuntimeArgs, PlainSettings } from "./args";
import { backupStore } from "./backupStore";
import type { ResolvedBackup, ResolvedCommon, ResolvedConfig } from "./resolved";
import { dockerDefaults, hostsDefaults } from "./runtimeDefaults";
import {
  assertPortsApart,
  canonicalVersion,
  capacityOf,
  checkDirectory,
  fail,
  positiveInt,
  resolveDatabase,
  resolveStrategy,
  statuses,
  stepLimits,
} from "./validate";

export { fillTemplate, parseBastion } from "../contract/templates";
export type {
  BackupArgs,
  BackupCommandArgs,
  CapacityArgs,
  DatabaseArgs,
  DockerRuntimeArgs,
  HostsRuntimeArgs,
  LocalRuntimeArgs,
  PlainSettings,
  ProbeArgs,
  RuntimeName,
  TimeoutArgs,
} from "./args";
export { canonicalVersion, resolveDatabase, sshKeyProblem } from "./validate";
export type {
  ResolvedBackup,
  ResolvedBackupStore,
  ResolvedConfig,
  ResolvedDockerRuntime,
} from "./resolved";
export { SETTING_KEYS, unknownSettings } from "./settingKeys";

/**
 * The role password of `database.mode: local` when `kong-gateway:dbPassword` is not set: the
 * server is a loopback-only throwaway on this machine. Every other mode must set one.
 */
export const LOCAL_DEFAULT_PASSWORD = "kong-gateway-local";

/** Resolves every default and validates every setting; `root` anchors relative paths. */
export function withDefaults(
  s: PlainSettings,
  root: string,
  stack: string,
  cluster = "kong",
): ResolvedConfig {
  const version = canonicalVersion(s.version);
  const runtime: string = s.runtime ?? "local";
  if (runtime !== "local" && runtime !== "hosts" && runtime !== "docker") {
    fail(
      "runtime",
      runtime,
      "is not a runtime",
      'use "local" (processes on this machine), "hosts" (machines over SSH) or "docker"',
    );
  }
  const nodes = positiveInt("nodes", s.nodes ?? 2, 32);
  const plugins = (s.plugins ?? ["bundled"]).map((p) => p.trim()).filter((p) => p !== "");
  if (plugins.length === 0) {
    fail("plugins", s.plugins, "is empty", 'use ["bundled"] or list plugin names');
  }
  for (const p of plugins) {
    if (!/^[a-z0-9-]+$/.test(p)) {
      fail("plugins", p, "is not a plugin name", 'use names like "key-auth" or "bundled"');
    }
    const since = bundledLater(p, version);
    if (since !== undefined) {
      fail(
        "plugins",
        p,
        `is bundled from Kong ${since} on, and kong-gateway:version is ${version} (its nodes would not start)`,
        `remove it, or enable it together with a version of ${since} or later`,
      );
    }
  }
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(root, p));
  const stateDir = abs(s.stateDir ?? `.state/${stack}`);
  const database = resolveDatabase(s.database);
  const mode = database.mode;
  if (mode === "local" && database.host !== "127.0.0.1" && database.host !== "localhost") {
    fail(
      "database.host",
      database.host,
      "cannot be used with database.mode local (the local server listens on 127.0.0.1)",
      "remove database.host or use database.mode existing",
    );
  }
  const verify = s.backup?.verify ?? "list";
  if (verify !== "list" && verify !== "restore") {
    fail("backup.verify", verify, "is not a verification mode", 'use "list" or "restore"');
  }
  const hosts =
    runtime === "hosts" ? hostsDefaults(s.hosts ?? {}, nodes, stateDir, abs) : undefined;
  const backup: ResolvedBackup = {
    dir: abs(s.backup?.dir ?? `${stateDir}/backups`),
    verify,
    retention: positiveInt("backup.retention", s.backup?.retention ?? 5, 1000),
    minFreeMb: s.backup?.minFreeMb ?? 64,
    ...backupStore(s.backup, runtime, hosts),
  };
  if (!Number.isInteger(backup.minFreeMb) || backup.minFreeMb < 0) {
    fail(
      "backup.minFreeMb",
      backup.minFreeMb,
      "is not a whole number of MiB (0 or more)",
      "set it with 'pulumi config set --path kong-gateway:backup.minFreeMb 64'",
    );
  }
  checkDirectory("stateDir", stateDir);
  checkDirectory("backup.dir", backup.dir);
  const local: Required<LocalRuntimeArgs> = {
    kongBinary: s.local?.kongBinary ?? "{stateDir}/kong/{version}/bin/kong",
    install: s.local?.install ?? "",
    basePort: positiveInt("local.basePort", s.local?.basePort ?? 18000, 65535 - 10 * nodes),
    adminAddress: s.local?.adminAddress ?? "127.0.0.1",
  };
  if (runtime === "local") {
    assertPortsApart(local.basePort, nodes, database);
  }
  if (!local.kongBinary.includes("{version}")) {
    fail(
      "local.kongBinary",
      local.kongBinary,
      "has no {version} placeholder, so every version would run the same binary",
      'use a template such as "/opt/kong/{version}/bin/kong"',
    );
  }
  const probePath = s.probe?.path ?? "/";
  if (!probePath.startsWith("/")) {
    fail("probe.path", probePath, "does not start with /", 'use a path such as "/health"');
  }
  const common: ResolvedCommon = {
    version,
    nodes,
    plugins,
    stateDir,
    database,
    backup,
    capacity: capacityOf(s.capacity),
    probe: { path: probePath, expectStatus: statuses(s.probe?.expectStatus ?? []) },
    timeouts: {
      quitSeconds: positiveInt("timeouts.quitSeconds", s.timeouts?.quitSeconds ?? 10, 3600),
      startSeconds: positiveInt("timeouts.startSeconds", s.timeouts?.startSeconds ?? 60, 3600),
      dbTimeoutSeconds: positiveInt(
        "timeouts.dbTimeoutSeconds",
        s.timeouts?.dbTimeoutSeconds ?? 60,
        86400,
      ),
      lockTimeoutSeconds: positiveInt(
        "timeouts.lockTimeoutSeconds",
        s.timeouts?.lockTimeoutSeconds ?? 60,
        86400,
      ),
      backupSeconds: positiveInt(
        "timeouts.backupSeconds",
        s.timeouts?.backupSeconds ?? 3600,
        604800,
      ),
      stepSeconds: stepLimits(s.timeouts?.stepSeconds ?? {}),
    },
    maintenanceWindows: s.maintenanceWindows ?? [],
    automaticRollback: s.automaticRollback ?? true,
    strategy: resolveStrategy(s.strategy, nodes),
    allowMixedVersions: s.allowMixedVersions ?? false,
  };
  switch (runtime) {
    case "hosts":
      return { ...common, runtime, hosts: hosts! };
    case "docker":
      return {
        ...common,
        runtime,
        docker: dockerDefaults(s.docker ?? {}, nodes, database.host, cluster),
      };
    default:
      return { ...common, runtime: "local", local };
  }
}
