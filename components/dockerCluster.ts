import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { imageRef } from "./runner/runtimes/dockerArgv";
import { nodeContainer } from "./docker/container";
import { runnerCommand, runnerEnvironment } from "./runnerCommand";
import { NodeSpec, RuntimeSpec, StepSpec } from "./contract/spec";

/** Arguments of {@link DockerCluster}. */
export interface DockerClusterArgs {
  /** The chain's spec; its `nodes` are this cluster's nodes (all of version `to`), its runtime docker. */
  readonly spec: StepSpec;
  /** The database password; reaches the containers only as a secret file upload. */
  readonly password: pulumi.Input<string>;
  /** Where the runner commands run: the package root (components/runnerCommand.ts runnerDir). */
  readonly runnerDir: string;
  /** The step after which the first node may start (`migrations-finish`, or `restore`). */
  readonly startAfter: pulumi.Resource;
  /**
   * What the spec does not say: whether the stack creates the spec's network, and the host
   * address ports are published on. Image, network, engine and ports come from the spec alone
   * (resolved once, in config/), so the containers and the runner cannot disagree.
   */
  readonly docker: DockerClusterSettings;
}

/** The docker settings a DockerCluster takes beyond its spec (config/config.ts resolves them). */
export interface DockerClusterSettings {
  /** Whether the stack creates (and later deletes) `spec.runtime.network`. */
  readonly createNetwork: boolean;
  /** Host address the node ports are published on. */
  readonly publishAddress: string;
}

type DockerRuntime = Extract<RuntimeSpec, { kind: "docker" }>;

/**
 * `nodes` Kong nodes of one version as Docker containers on a shared PostgreSQL — the docker
 * counterpart of KongCluster, with the same public shape.
 *
 * The Pulumi docker provider owns what a container IS (image `<image>:<version>`, settings,
 * ports, labels, the password file); the step runner owns whether it RUNS. So containers are
 * created stopped, and each node's `-ready` command runs the runner's `node-start <id>`: it
 * starts the container (`docker start`), waits for `/status/ready` and records the moment in
 * the journal (the downtime report reads it). A node that fails to come up therefore fails a
 * runner step, and the runner rolls back (restore the backup, restart X). Were the provider to
 * start and wait for the container itself (`wait: true`), that failure would end `pulumi up` with
 * no step failing and nobody restoring the database that `migrations finish` already changed.
 *
 * Containers are created as soon as their image is pulled (creating one starts nothing, and it
 * surfaces configuration errors before X stops); the starts are sequential, the first after
 * `startAfter`. Names carry the version, so a version bump takes X's containers out of the
 * program and Pulumi removes them at the end of the update, after Y is verified.
 */
export class DockerCluster extends pulumi.ComponentResource {
  /** The node-start commands in start order: what `verify` depends on. */
  public readonly nodes: command.local.Command[];
  /** The containers, by node in start order. */
  public readonly containers: docker.Container[];
  public readonly version: string;
  public readonly proxyUrls: string[];
  public readonly adminUrls: string[];

  constructor(name: string, args: DockerClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kong-gateway:index:DockerCluster", name, {}, opts);
    const rt = dockerRuntimeOf(args, this);
    const settings = args.docker;
    this.version = args.spec.to;
    const provider = createProvider(args.spec.cluster, rt, this);
    const image = new docker.RemoteImage(
      `${name}-image`,
      // Kept on the engine when this version leaves the program: a later rollback starts it.
      { name: imageRef(rt.image, args.spec.to), keepLocally: true },
      { parent: this, provider },
    );
    const network = settings.createNetwork
      ? createNetwork(args.spec.cluster, rt, provider, this)
      : undefined;
    this.containers = args.spec.nodes.map((n) =>
      createContainer(name, n, args, { rt, settings, image, network, provider }, this),
    );
    this.nodes = createReadyCommands(name, args, this.containers, this);
    this.proxyUrls = args.spec.nodes.map((n) => n.proxyUrl);
    this.adminUrls = args.spec.nodes.map((n) => n.adminUrl);
    this.registerOutputs({
      version: this.version,
      proxyUrls: this.proxyUrls,
      adminUrls: this.adminUrls,
    });
  }
}

/** The spec's docker runtime; any other is a programming error, refused before anything exists. */
function dockerRuntimeOf(args: DockerClusterArgs, parent: pulumi.Resource): DockerRuntime {
  const rt = args.spec.runtime;
  if (rt?.kind !== "docker") {
    throw new pulumi.ResourceError(
      `DockerCluster needs a spec with runtime "docker", got "${rt?.kind ?? "local"}"; use KongCluster for other runtimes`,
      parent,
    );
  }
  return rt;
}

/**
 * The docker provider. Named by the cluster, not the version (an exception to `${name}-<role>`):
 * every version's DockerCluster then declares the same provider, and X's containers, still in
 * the state until the update ends, keep a provider to be removed with.
 */
function createProvider(
  cluster: string,
  rt: DockerRuntime,
  parent: pulumi.Resource,
): docker.Provider {
  return new docker.Provider(`${cluster}-docker`, rt.dockerHost ? { host: rt.dockerHost } : {}, {
    parent,
  });
}

/**
 * The nodes' network. Named by the cluster, not the version, on purpose: the next version's
 * DockerCluster declares the very same resource, so an upgrade keeps the network (X's stopped
 * containers and the runner's one-shots stay on it) instead of creating a second network of the
 * same docker name while the first still exists.
 */
function createNetwork(
  cluster: string,
  rt: DockerRuntime,
  provider: docker.Provider,
  parent: pulumi.Resource,
): docker.Network {
  return new docker.Network(
    `${cluster}-net`,
    { name: rt.network, labels: [{ label: "kong-gateway.cluster", value: cluster }] },
    { parent, provider },
  );
}

interface Shared {
  readonly rt: DockerRuntime;
  readonly settings: DockerClusterSettings;
  readonly image: docker.RemoteImage;
  readonly network: docker.Network | undefined;
  readonly provider: docker.Provider;
}

function createContainer(
  name: string,
  n: NodeSpec,
  args: DockerClusterArgs,
  s: Shared,
  parent: pulumi.Resource,
): docker.Container {
  // Every setting comes from nodeContainer (components/docker/container.ts), which the
  // real-engine test also creates its containers from.
  const c = nodeContainer(args.spec, n, s.settings);
  return new docker.Container(
    `${name}-${n.id}`,
    {
      name: c.name,
      image: s.image.imageId,
      envs: Object.entries(c.env).map(([k, v]) => `${k}=${v}`),
      uploads: [
        {
          file: c.passwordFile.path,
          content: pulumi.secret(args.password),
          permissions: c.passwordFile.permissions,
          owner: c.passwordFile.owner,
          group: c.passwordFile.group,
        },
      ],
      groupAdds: [...c.groupAdd],
      ports: c.ports.map((p) => ({ ...p })),
      labels: Object.entries(c.labels).map(([label, value]) => ({ label, value })),
      hosts: c.hosts.map((h) => ({ ...h })),
      networksAdvanced: [{ name: s.network ? s.network.name : c.network }],
      healthcheck: {
        tests: [...c.healthcheck.test],
        interval: `${c.healthcheck.intervalSeconds}s`,
        timeout: `${c.healthcheck.timeoutSeconds}s`,
        retries: c.healthcheck.retries,
        startPeriod: `${c.healthcheck.startPeriodSeconds}s`,
      },
      stopSignal: c.stopSignal,
      stopTimeout: c.stopTimeoutSeconds,
      destroyGraceSeconds: c.stopTimeoutSeconds,
      restart: c.restart,
      // Created stopped; the runner starts it (see the class comment). `mustRun: false` so a node
      // the runner stopped is not "missing" to the provider.
      start: false,
      mustRun: false,
    },
    // Fixed container names and host ports: the old container must go before its replacement.
    {
      parent,
      provider: s.provider,
      deleteBeforeReplace: true,
      dependsOn: s.network ? [s.image, s.network] : [s.image],
    },
  );
}

/** One `node-start <id>` command per node, each after its container and the previous start. */
function createReadyCommands(
  name: string,
  args: DockerClusterArgs,
  containers: docker.Container[],
  parent: pulumi.Resource,
): command.local.Command[] {
  const environment = runnerEnvironment(args.spec, args.password);
  const ready: command.local.Command[] = [];
  let after = args.startAfter;
  args.spec.nodes.forEach((n, i) => {
    const cmd = new command.local.Command(
      `${name}-${n.id}-ready`,
      {
        create: runnerCommand("node-start", n.id),
        // Stops the container before the provider removes it.
        delete: runnerCommand("node-delete", n.id),
        dir: args.runnerDir,
        environment,
        triggers: [args.spec.generation, args.spec.kind],
        logging: "stdoutAndStderr",
      },
      { parent, dependsOn: [containers[i]!, after] },
    );
    ready.push(cmd);
    after = cmd;
  });
  return ready;
}
