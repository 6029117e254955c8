/**
 * The KongGateway's `deployment` output across runs: what a change's report adds to its history
 * (the next estimate's measurements) and that history read back in the planner's terms. Pure.
 */
import type { ChainDecision, DeployedState, PastRunRecord } from "./chain";
import type { ResolvedConfig } from "./config/config";
import type { UpgradeReport } from "./contract/report";
import { STRATEGIES, Strategy } from "./contract/steps";
import type { PastRun } from "./plan";

/**
 * What a change's report adds to `deployment.history` for the next estimate: an upgrade's steps
 * and outage; an install's steps and the span from its `stop` to its first ready node (the first
 * upgrade's estimate starts from it, components/plan/fromInstall.ts). Rollbacks add nothing.
 */
function historyEntry(
  report: UpgradeReport,
  strategy: Strategy | undefined,
): (PastRunRecord & PastRun) | undefined {
  const steps = report.steps.map((s) => ({ name: s.name, seconds: s.seconds }));
  const bytes = report.databaseBytes !== undefined ? { databaseBytes: report.databaseBytes } : {};
  if (report.kind === "upgrade") {
    return {
      steps,
      downtimeSeconds: report.downtimeSeconds,
      ...bytes,
      ...(strategy && strategy !== "in-place" ? { strategy } : {}),
    };
  }
  const stopEnd = report.steps.find((s) => s.name === "stop")?.finishedAt;
  if (report.kind !== "install" || report.outcome !== "succeeded" || !stopEnd) {
    return undefined;
  }
  const ready = report.firstReadyAt;
  // Seconds from `from` to the first ready node, to the millisecond; undefined when unknown.
  const since = (from: string | undefined): number | undefined => {
    const span = ready && from ? (Date.parse(ready) - Date.parse(from)) / 1000 : NaN;
    return Number.isFinite(span) && span >= 0 ? Math.round(span * 1000) / 1000 : undefined;
  };
  const start = report.steps.findIndex((s) => s.name === "start");
  const span = since(stopEnd);
  const startSpan = start > 0 ? since(report.steps[start - 1]?.finishedAt) : undefined;
  return {
    kind: "install",
    steps,
    ...bytes,
    ...(span !== undefined ? { installSpanSeconds: span } : {}),
    ...(startSpan !== undefined ? { installStartSpanSeconds: startSpan } : {}),
  };
}

/** `deployment.history` as recorded (by {@link historyEntry}), in the planner's terms. */
export function pastRuns(history: readonly PastRunRecord[]): PastRun[] {
  return history.map((r) => {
    // Read back from the stack's output: checked, not trusted.
    const extra = r as {
      kind?: unknown;
      installSpanSeconds?: unknown;
      installStartSpanSeconds?: unknown;
      strategy?: unknown;
    };
    return {
      steps: r.steps,
      ...(r.databaseBytes !== undefined ? { databaseBytes: r.databaseBytes } : {}),
      ...(r.downtimeSeconds !== undefined ? { downtimeSeconds: r.downtimeSeconds } : {}),
      ...(extra.kind === "install" ? { kind: "install" as const } : {}),
      ...(typeof extra.installSpanSeconds === "number"
        ? { installSpanSeconds: extra.installSpanSeconds }
        : {}),
      ...(typeof extra.installStartSpanSeconds === "number"
        ? { installStartSpanSeconds: extra.installStartSpanSeconds }
        : {}),
      ...(STRATEGIES.includes(extra.strategy as Strategy)
        ? { strategy: extra.strategy as Strategy }
        : {}),
    };
  });
}

/** The `deployment` output: the chain that produced this cluster and the measured history. */
export function nextDeployment(
  cfg: ResolvedConfig,
  chain: ChainDecision,
  previous: DeployedState | undefined,
  report: UpgradeReport | undefined,
): DeployedState {
  const sameChain = previous && JSON.stringify(previous.chain) === JSON.stringify(chain);
  const history: PastRunRecord[] = [...(previous?.history ?? [])];
  const measured = sameChain || !report ? undefined : historyEntry(report, cfg.strategy);
  if (measured) {
    history.push(measured);
  }
  const databaseBytes = sameChain
    ? previous?.databaseBytes
    : (report?.databaseBytes ?? previous?.databaseBytes);
  return {
    version: cfg.version,
    nodes: cfg.nodes,
    plugins: cfg.plugins.join(","),
    ...(cfg.capacity.cpus !== undefined ? { cpus: cfg.capacity.cpus } : {}),
    ...(cfg.capacity.memoryMb !== undefined ? { memoryMb: cfg.capacity.memoryMb } : {}),
    chain,
    history: history.slice(-5),
    ...(databaseBytes !== undefined ? { databaseBytes } : {}),
  };
}
