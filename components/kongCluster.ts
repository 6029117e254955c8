import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { runnerCommand, runnerEnvironment } from "./runnerCommand";
import { StepSpec } from "./contract/spec";

/** Arguments of {@link KongCluster}. */
export interface KongClusterArgs {
  /** The chain's spec; its `nodes` are this cluster's nodes (all of version `to`). */
  readonly spec: StepSpec;
  readonly password: pulumi.Input<string>;
  /** `hosts` runtime: the SSH private key the runner reaches the hosts with. @default undefined */
  readonly sshPrivateKey?: pulumi.Input<string>;
  /** Where the runner commands run: the package root (components/runnerCommand.ts runnerDir). */
  readonly runnerDir: string;
  /** The step after which the first node may start (`migrations-finish`, or `restore`). */
  readonly startAfter: pulumi.Resource;
  /**
   * How many of the spec's nodes already run (a same-version change): those after them are new
   * and start first, before any running node restarts with changed settings.
   * @default all of them (a new chain starts its nodes in id order)
   */
  readonly runningNodes?: number;
}

/**
 * `nodes` Kong nodes of one version. Each node is a command resource named by version and node
 * id: creating it starts the node (`kong start -p <prefix>`, then waits for `/status/ready`),
 * deleting it stops the node and removes its prefix. Because the names carry the version, a
 * version bump takes the old cluster's nodes out of the program and Pulumi deletes them at the
 * end of the update, after the new nodes are verified: that is decommissioning X.
 *
 * Nodes start one after another: the first ready node ends the downtime, and a failure never
 * races a sibling's start during the automatic rollback.
 */
export class KongCluster extends pulumi.ComponentResource {
  /** The node resources, in start order. */
  public readonly nodes: command.local.Command[];
  public readonly version: string;
  public readonly proxyUrls: string[];
  public readonly adminUrls: string[];

  constructor(name: string, args: KongClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kong-gateway:index:KongCluster", name, {}, opts);
    this.version = args.spec.to;
    this.nodes = createNodes(name, args, this);
    this.proxyUrls = args.spec.nodes.map((n) => n.proxyUrl);
    this.adminUrls = args.spec.nodes.map((n) => n.adminUrl);
    this.registerOutputs({
      version: this.version,
      proxyUrls: this.proxyUrls,
      adminUrls: this.adminUrls,
    });
  }
}

function createNodes(
  name: string,
  args: KongClusterArgs,
  parent: pulumi.Resource,
): command.local.Command[] {
  const environment = runnerEnvironment(args.spec, args.password, args.sshPrivateKey);
  const nodes: command.local.Command[] = [];
  let after = args.startAfter;
  for (const n of startOrder(args.spec.nodes, args.runningNodes)) {
    const node = new command.local.Command(
      `${name}-${n.id}`,
      {
        create: runnerCommand("node-start", n.id),
        delete: runnerCommand("node-delete", n.id),
        dir: args.runnerDir,
        environment,
        triggers: [args.spec.generation, args.spec.kind],
        logging: "stdoutAndStderr",
      },
      { parent, dependsOn: [after] },
    );
    nodes.push(node);
    after = node;
  }
  return nodes;
}

/**
 * New nodes (beyond the `running` first ones) first, then the running ones. Only the order of the
 * dependencies changes, which Pulumi does not diff: a steady cluster sees no change.
 */
export function startOrder<T>(nodes: readonly T[], running = nodes.length): T[] {
  return [...nodes.slice(running), ...nodes.slice(0, running)];
}
