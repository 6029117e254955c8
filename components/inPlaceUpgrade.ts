import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { chainSteps } from "./chain";
import { runnerCommand, runnerEnvironment } from "./runnerCommand";
import { reportingStep } from "./contract/steps";
import { StepSpec, strategyOf } from "./contract/spec";

/** The target cluster as the chain needs it (a KongCluster, or a DockerCluster). */
export interface TargetCluster {
  /** The node resources in start order; `verify` runs after the last. */
  readonly nodes: pulumi.Resource[];
  readonly proxyUrls: string[];
  readonly adminUrls: string[];
}

/** Arguments of {@link InPlaceUpgrade}. */
export interface InPlaceUpgradeArgs {
  readonly spec: StepSpec;
  /**
   * The spec of the settings check: the nodes' settings as configured now (on a same-version
   * change they differ from the chain's), with the maintenance windows configured now.
   */
  readonly settingsSpec: StepSpec;
  readonly password: pulumi.Input<string>;
  /** `hosts` runtime: the SSH private key the runner reaches the hosts with. @default undefined */
  readonly sshPrivateKey?: pulumi.Input<string>;
  /** Where the runner commands run: the package root (components/runnerCommand.ts runnerDir). */
  readonly runnerDir: string;
  /** What must exist before the first step (the database, the new version's binary). */
  readonly after: pulumi.Resource[];
  /** Builds the target cluster, whose nodes start after the last step before them. */
  readonly startCluster: (after: pulumi.Resource) => TargetCluster;
}

/**
 * The chain of a change as command resources, each depending on the one before, in the step
 * table's order (components/contract/steps.ts `chainOrder`): e.g. an `in-place` upgrade and an
 * install: preflight → stop → backup → migrations-up → migrations-finish → start (the cluster's
 * nodes) → verify; `prepared`: preflight → backup → migrations-up → stop → start → verify →
 * migrations-finish; rollback: preflight → stop → backup → restore → start → verify.
 * Every step runs the step runner (components/runner), which checks the real state before acting,
 * times itself, and rolls the change back automatically when a step after `stop` fails. The chain is named by
 * its kind and target version and carries the attempt number in its triggers, so an aborted
 * attempt's next `pulumi up` runs every step again from the top.
 */
export class InPlaceUpgrade extends pulumi.ComponentResource {
  /** The step resources in order, by step name. */
  public readonly steps: Record<string, command.local.Command>;
  public readonly cluster: TargetCluster;
  /**
   * The chain's last step (`verify`; `migrations-finish` for `prepared` and `rolling`); its stdout
   * carries the change's report.
   */
  public readonly reporting: command.local.Command;
  /** The settings check every node start depends on (see {@link createSettingsCheck}). */
  public readonly settings: command.local.Command;

  constructor(name: string, args: InPlaceUpgradeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kong-gateway:index:InPlaceUpgrade", name, {}, opts);
    const strategy = strategyOf(args.spec);
    const { before, after } = chainSteps(args.spec.kind, strategy);
    this.steps = {};
    this.settings = createSettingsCheck(name, args, this);
    let last: pulumi.Resource[] = [this.settings];
    for (const step of before) {
      const res = createStep(name, step, args, last, this);
      this.steps[step] = res;
      last = [res];
    }
    this.cluster = args.startCluster(last[0]!);
    let tail: pulumi.Resource[] = this.cluster.nodes;
    for (const step of after) {
      const res = createStep(name, step, args, tail, this);
      this.steps[step] = res;
      tail = [res];
    }
    this.reporting = this.steps[reportingStep(args.spec.kind, strategy)]!;
    this.registerOutputs({ steps: Object.keys(this.steps) });
  }
}

/**
 * The settings check: runs when the chain is created and again whenever the nodes' settings (or
 * the password) change on a running cluster, before any node restarts. It refuses what would fail
 * only after a node stopped — a port another process holds, a configuration `kong check` rejects,
 * a plugin whose migrations need `kong migrations up`, a password PostgreSQL refuses, a one-node
 * restart outside the maintenance window — so a bad settings change leaves every node as it was.
 */
function createSettingsCheck(
  name: string,
  args: InPlaceUpgradeArgs,
  parent: pulumi.Resource,
): command.local.Command {
  return new command.local.Command(
    `${name}-settings`,
    {
      create: runnerCommand("settings"),
      dir: args.runnerDir,
      environment: runnerEnvironment(args.settingsSpec, args.password, args.sshPrivateKey),
      triggers: [args.spec.generation],
      logging: "stdoutAndStderr",
    },
    { parent, dependsOn: args.after, ignoreChanges: ["dir"] },
  );
}

/**
 * One step of the chain. Once it ran, it never runs again for a settings change: its inputs other
 * than the attempt number are ignored by the diff (a same-version change reaches the nodes and the
 * settings check, not the chain; re-running an install chain for it would stop nodes and take a
 * backup for nothing). A new attempt (triggers) or a new chain (another name) runs it again.
 */
function createStep(
  name: string,
  step: string,
  args: InPlaceUpgradeArgs,
  dependsOn: pulumi.Resource[],
  parent: pulumi.Resource,
): command.local.Command {
  return new command.local.Command(
    `${name}-${step}`,
    {
      create: runnerCommand(step),
      dir: args.runnerDir,
      environment: runnerEnvironment(args.spec, args.password, args.sshPrivateKey),
      triggers: [args.spec.generation],
      logging: "stdoutAndStderr",
    },
    { parent, dependsOn, ignoreChanges: ["environment", "create", "dir", "logging"] },
  );
}
