/**
 * The size of a cluster, and the rule that an upgrade must not shrink it by accident: once the old
 * cluster is stopped, the new one carries all the traffic alone.
 */
import { PlanError } from "./errors";
import { PluginsSetting } from "./migrations";

/** How big a Kong cluster is and which plugins its nodes load. */
export interface ClusterShape {
  /** Number of Kong nodes (containers); at least 1. */
  readonly nodes: number;
  /** Kong's `plugins` setting for every node and migration job. */
  readonly plugins: PluginsSetting;
  /** CPUs per node; absent means unlimited (Docker's default). */
  readonly cpus?: number;
  /** Memory per node in MiB; absent means unlimited (Docker's default). */
  readonly memoryMb?: number;
}

/**
 * Throws an `input` refusal when a shape is malformed; `setting` names where it came from
 * (`target`, `deployed`) so the message points at the field to fix.
 */
export function validateShape(shape: ClusterShape, setting: string): void {
  if (!Number.isInteger(shape.nodes) || shape.nodes < 1) {
    throw new PlanError(
      "input",
      `${setting}.nodes ${shape.nodes} is not a node count; a cluster needs a whole number of ` +
        `nodes, at least 1 (for example nodes: 2)`,
    );
  }
  if (shape.cpus !== undefined && !(Number.isFinite(shape.cpus) && shape.cpus > 0)) {
    throw new PlanError(
      "input",
      `${setting}.cpus ${shape.cpus} is not a CPU limit; give a positive number of CPUs per ` +
        `node (for example cpus: 1.5) or leave it out for no limit`,
    );
  }
  if (shape.memoryMb !== undefined && !(Number.isInteger(shape.memoryMb) && shape.memoryMb > 0)) {
    throw new PlanError(
      "input",
      `${setting}.memoryMb ${shape.memoryMb} is not a memory limit; give a positive whole ` +
        `number of MiB per node (for example memoryMb: 1024) or leave it out for no limit`,
    );
  }
}

/** Formats an optional per-node limit, absent meaning unlimited. */
function limit(value: number | undefined, unit: string): string {
  return value === undefined ? "unlimited" : `${value}${unit}`;
}

/** True when `target` allows less than `deployed`; absent (unlimited) beats any number. */
function lessThan(target: number | undefined, deployed: number | undefined): boolean {
  if (target === undefined) {
    return false;
  }
  return deployed === undefined || target < deployed;
}

/**
 * Checks that `target` has at least `deployed`'s node count and per-node CPUs and memory.
 * Returns warnings (a smaller cluster accepted through `allowSmallerCluster`); throws a
 * `capacity` refusal listing every shortfall otherwise.
 */
export function checkCapacity(
  deployed: ClusterShape,
  target: ClusterShape,
  allowSmallerCluster: boolean,
): string[] {
  const shortfalls: string[] = [];
  if (target.nodes < deployed.nodes) {
    shortfalls.push(`nodes ${target.nodes} < ${deployed.nodes}`);
  }
  if (lessThan(target.cpus, deployed.cpus)) {
    shortfalls.push(`cpus ${limit(target.cpus, "")} < ${limit(deployed.cpus, "")} per node`);
  }
  if (lessThan(target.memoryMb, deployed.memoryMb)) {
    shortfalls.push(
      `memoryMb ${limit(target.memoryMb, " MiB")} < ${limit(deployed.memoryMb, " MiB")} per node`,
    );
  }
  if (shortfalls.length === 0) {
    return [];
  }
  const what = `the target cluster is smaller than the deployed one (${shortfalls.join(", ")})`;
  if (allowSmallerCluster) {
    return [`${what}; accepted because allowSmallerCluster is set`];
  }
  throw new PlanError(
    "capacity",
    `target: ${what}; once the deployed nodes stop, the new cluster carries all the traffic ` +
      `alone; give it at least ${deployed.nodes} nodes with cpus ${limit(deployed.cpus, "")} ` +
      `and memoryMb ${limit(deployed.memoryMb, "")} each, or set allowSmallerCluster: true to ` +
      `accept less capacity`,
  );
}
