/**
 * The kong-gateway program: reads the stack config, reads what this stack deployed last (its own
 * outputs, through a StackReference to itself), builds the KongGateway, exports its outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import type {
  BackupArgs,
  CapacityArgs,
  DatabaseArgs,
  DockerRuntimeArgs,
  HostsRuntimeArgs,
  LocalRuntimeArgs,
  ProbeArgs,
  TimeoutArgs,
} from "./components/config";
import { unknownSettings } from "./components/config";
import { previousDeployment } from "./components/deployment";
import { KongGateway } from "./components/kongGateway";

/** The fixed password of `database.mode: local` when none is configured (a loopback-only throwaway server). */
const LOCAL_DEFAULT_PASSWORD = "kong-gateway-local";

/**
 * A configuration mistake (a refused version, a bad setting) fails the run with its message and
 * nothing else. It is logged and the process exits with the SDK's "error already reported" code
 * (32): the engine then fails the update without touching any resource. Letting the rejection
 * escape this async function works too, but the Node SDK then spends ~25 s of CPU formatting it;
 * merely logging it and returning would be worse: the engine would see a program that registered
 * nothing and delete the whole cluster.
 */
export = async () => {
  try {
    return await program();
  } catch (e) {
    if (e instanceof pulumi.ResourceError || e instanceof pulumi.RunError) {
      await pulumi.log.error(e.message, e instanceof pulumi.ResourceError ? e.resource : undefined);
      process.exit(32);
    }
    throw e;
  }
};

async function program() {
  const unknown = unknownSettings(pulumi.runtime.allConfig());
  if (unknown.length > 0) {
    throw new pulumi.RunError(unknown.join("\n"));
  }
  const config = new pulumi.Config("kong-gateway");
  const database = config.getObject<DatabaseArgs>("database");
  const configured = config.get("dbPassword") ? config.requireSecret("dbPassword") : undefined;
  const mode = database?.mode ?? "local";
  if (mode !== "local" && mode !== "existing" && mode !== "managed") {
    throw new pulumi.RunError(
      `kong-gateway:database.mode ${JSON.stringify(mode)} is not a database mode; use "local", "existing" or "managed"`,
    );
  }
  if (!configured && mode !== "local") {
    throw new pulumi.RunError(
      "kong-gateway:dbPassword is not set; an existing database needs its password: pulumi config set --secret kong-gateway:dbPassword <password>",
    );
  }
  const gateway = new KongGateway("kong", {
    version: config.require("version"),
    nodes: config.getNumber("nodes"),
    runtime: config.get("runtime"),
    plugins: config.getObject<string[]>("plugins"),
    stateDir: config.get("stateDir") || undefined,
    database,
    backup: config.getObject<BackupArgs>("backup"),
    local: config.getObject<LocalRuntimeArgs>("local"),
    hosts: config.getObject<HostsRuntimeArgs>("hosts"),
    docker: config.getObject<DockerRuntimeArgs>("docker"),
    capacity: config.getObject<CapacityArgs>("capacity"),
    probe: config.getObject<ProbeArgs>("probe"),
    timeouts: config.getObject<TimeoutArgs>("timeouts"),
    maintenanceWindows: config.getObject<string[]>("maintenanceWindow"),
    automaticRollback: config.getBoolean("automaticRollback"),
    strategy: config.get("strategy") || undefined,
    allowMixedVersions: config.getBoolean("allowMixedVersions"),
    databasePassword: configured ?? pulumi.secret(LOCAL_DEFAULT_PASSWORD),
    databaseAdminPassword: config.get("dbAdminPassword")
      ? config.requireSecret("dbAdminPassword")
      : undefined,
    sshPrivateKey: config.get("sshPrivateKey") ? config.requireSecret("sshPrivateKey") : undefined,
    deployed: await previousDeployment(),
    root: __dirname,
  });
  return {
    version: gateway.version,
    proxyUrls: gateway.proxyUrls,
    adminUrls: gateway.adminUrls,
    upgradePlan: gateway.upgradePlan,
    lastUpgrade: gateway.lastUpgrade,
    backups: gateway.backups,
    deployment: gateway.deployment,
  };
}
