/**
 * The kong-gateway program: reads the stack config, checks what only the world and the plaintext
 * secrets show (components/databaseCheck.ts), reads what this stack deployed last (its own
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
  PlainSettings,
  ProbeArgs,
  RuntimeName,
  TimeoutArgs,
} from "./components/config/config";
import { unknownSettings } from "./components/config/config";
import { worldProblem } from "./components/databaseCheck";
import { previousDeployment } from "./components/deployment";
import { KongGateway } from "./components/kongGateway";
import { storedAttemptOf } from "./components/storedAttempt";

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
  const secret = (key: string) => (config.get(key) ? config.requireSecret(key) : undefined);
  const settings: PlainSettings = {
    // Read as text and validated by withDefaults, so "" or "v3.6" are refused by name.
    version: config.get("version") ?? "",
    nodes: config.getNumber("nodes"),
    // Checked with every other setting when the KongGateway resolves its config.
    runtime: config.get("runtime") as RuntimeName | undefined,
    plugins: config.getObject<string[]>("plugins"),
    stateDir: config.get("stateDir") || undefined,
    database: config.getObject<DatabaseArgs>("database"),
    backup: config.getObject<BackupArgs>("backup"),
    local: config.getObject<LocalRuntimeArgs>("local"),
    hosts: config.getObject<HostsRuntimeArgs>("hosts"),
    docker: config.getObject<DockerRuntimeArgs>("docker"),
    capacity: config.getObject<CapacityArgs>("capacity"),
    probe: config.getObject<ProbeArgs>("probe"),
    timeouts: config.getObject<TimeoutArgs>("timeouts"),
    maintenanceWindows: config.getObject<string[]>("maintenanceWindow"),
    automaticRollback: config.getBoolean("automaticRollback"),
    strategy: (config.get("strategy") || undefined) as PlainSettings["strategy"],
    allowMixedVersions: config.getBoolean("allowMixedVersions"),
  };
  // Checks that need the world and the plaintext secrets, before any resource exists.
  const problem = await worldProblem(settings, {
    dbPassword: config.get("dbPassword"),
    sshPrivateKey: config.get("sshPrivateKey"),
  });
  if (problem) {
    throw new pulumi.RunError(problem);
  }
  const stored = await storedAttemptOf(
    settings,
    { root: __dirname, stack: pulumi.getStack(), cluster: "kong" },
    config.get("sshPrivateKey"),
  ).catch((e: Error) => {
    throw new pulumi.RunError(e.message);
  });
  const gateway = new KongGateway("kong", {
    ...settings,
    databasePassword: secret("dbPassword"),
    databaseAdminPassword: secret("dbAdminPassword"),
    sshPrivateKey: secret("sshPrivateKey"),
    deployed: await previousDeployment(),
    root: __dirname,
    ...(stored ? { storedAttempt: stored } : {}),
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
