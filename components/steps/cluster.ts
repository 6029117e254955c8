/**
 * The two clusters of a change as the runner sees them: the target nodes this chain starts (Y),
 * and every other node of the same cluster found on disk (X, or a previous attempt's Y).
 */
import { nodeSettings } from "./kong";
import { discoverNodes, NodeRecord, runningPid } from "./nodes";
import { StepSpec } from "./spec";

/** The node records of the target cluster (version `to`, this generation). */
export function targetNodes(spec: StepSpec): NodeRecord[] {
  return spec.nodes.map((n) => ({
    cluster: spec.cluster,
    id: n.id,
    version: n.version,
    generation: spec.generation,
    kongBin: n.kongBin,
    prefix: n.prefix,
    statusUrl: n.statusUrl,
    adminUrl: n.adminUrl,
    proxyUrl: n.proxyUrl,
    settings: nodeSettings(spec, n),
  }));
}

/** Nodes of this cluster that are not the target nodes (by prefix). */
export function otherNodes(spec: StepSpec): NodeRecord[] {
  const mine = new Set(spec.nodes.map((n) => n.prefix));
  return discoverNodes(spec.stateDir, spec.cluster).filter((r) => !mine.has(r.prefix));
}

/** Those of {@link otherNodes} whose process is alive. */
export function runningOthers(spec: StepSpec): NodeRecord[] {
  return otherNodes(spec).filter((r) => runningPid(r.prefix) !== undefined);
}

/** The previous cluster to bring back on rollback: the newest stopped group of version `from`. */
export function previousCluster(spec: StepSpec, version: string | undefined): NodeRecord[] {
  const others = otherNodes(spec).filter((r) => version === undefined || r.version === version);
  if (others.length === 0) {
    return [];
  }
  const newestGen = Math.max(...others.map((r) => r.generation));
  return others.filter((r) => r.generation === newestGen);
}
