/**
 * What the runtime adds to a KongGateway's chain: the target version's installation (a local
 * command, or one per host over SSH with pinned host keys), the SSH key, and the cluster the chain
 * starts (processes or containers). The one place the program branches on the runtime.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ChainDecision, DeployedState } from "./chain";
import { fillTemplate, parseBastion, ResolvedConfig } from "./config/config";
import type { StepSpec } from "./contract/spec";
import { DockerCluster } from "./dockerCluster";
import { KongCluster } from "./kongCluster";
import type { Plan } from "./plan";
import { pinnedHostKey } from "./runner/infra/knownHosts";
import { SSH_KEY_ENV } from "./runner/infra/ssh";
import { HOST_KEYS_ENV, HostKeyJob, printedHostKey } from "./runner/steps/hostKeys";
import { runnerCommand, runnerDir } from "./runnerCommand";

/**
 * The KongGatewayArgs (kongGateway.ts) the runtime's parts read. Declared here so this module does
 * not import the component's.
 */
export interface RuntimeInputs {
  readonly deployed?: DeployedState;
  readonly sshPrivateKey?: pulumi.Input<string>;
}

/** What the runtime adds to the chain: its installs, its SSH key, and the cluster it starts. */
export interface RuntimeParts {
  readonly sshPrivateKey?: pulumi.Input<string>;
  /** Resources the chain waits for (the target version's installation). */
  readonly install: pulumi.Resource[];
  readonly startCluster: (after: pulumi.Resource) => KongCluster | DockerCluster;
}

/** The one place the program branches on the runtime. */
export function runtimeParts(
  name: string,
  cfg: ResolvedConfig,
  args: RuntimeInputs,
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
function requireSshKey(args: RuntimeInputs, parent: pulumi.Resource): pulumi.Input<string> {
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
