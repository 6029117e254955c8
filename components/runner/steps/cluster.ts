/**
 * The two clusters of a change as the runner sees them: the target nodes this chain starts (Y),
 * and every other node of the same cluster the runtime knows (X, or a previous attempt's Y).
 */
import { nodeSettings } from "../infra/kong";
import { NodeRecord } from "../../state/nodes";
import type { NodeRuntime } from "../runtimes/nodeRuntime";
import { StepSpec } from "../../contract/spec";

/** The node records of the target cluster (version `to`, this generation). */
export function targetNodes(spec: StepSpec): NodeRecord[] {
  return spec.nodes.map((n) => ({
    cluster: spec.cluster,
    id: n.id,
    version: n.version,
    generation: spec.generation,
    kongBin: n.kongBin,
    prefix: n.prefix,
    ...(n.host !== undefined ? { host: n.host } : {}),
    ...(n.container !== undefined ? { container: n.container } : {}),
    ...(n.envFile !== undefined ? { envFile: n.envFile } : {}),
    statusUrl: n.statusUrl,
    adminUrl: n.adminUrl,
    proxyUrl: n.proxyUrl,
    settings: nodeSettings(spec, n),
  }));
}

/** Nodes of this cluster that are not the target nodes (by prefix). */
export async function otherNodes(spec: StepSpec, rt: NodeRuntime): Promise<NodeRecord[]> {
  const mine = new Set(spec.nodes.map((n) => n.prefix));
  return (await rt.discover()).filter((r) => !mine.has(r.prefix));
}

/** Those of {@link otherNodes} that run. */
export async function runningOthers(spec: StepSpec, rt: NodeRuntime): Promise<NodeRecord[]> {
  const others = await otherNodes(spec, rt);
  const alive = await Promise.all(others.map((r) => rt.running(r)));
  return others.filter((_, i) => alive[i]);
}

/** The previous cluster to bring back on rollback: the newest stopped group of version `from`. */
export async function previousCluster(
  spec: StepSpec,
  rt: NodeRuntime,
  version: string | undefined,
): Promise<NodeRecord[]> {
  const others = (await otherNodes(spec, rt)).filter(
    (r) => version === undefined || r.version === version,
  );
  if (others.length === 0) {
    return [];
  }
  const newestGen = Math.max(...others.map((r) => r.generation));
  return others.filter((r) => r.generation === newestGen);
}
