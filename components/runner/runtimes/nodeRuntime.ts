/**
 * The runtime seam of the step runner: everything a step does to Kong nodes or with Kong's CLI
 * goes through a {@link NodeRuntime}, so the steps (preflight, stop, migrations, start, verify,
 * rollback) are written once for every place Kong runs. Types only: implementations import this
 * file, and runtime.ts picks one, so nothing imports back up.
 */
import type { ExecResult } from "../infra/exec";
import type { NodeRecord } from "../../state/nodes";

/** When a node was asked to start and when it answered ready. */
export interface StartResult {
  readonly startedAt: Date;
  readonly readyAt: Date;
  /** It already ran with the same settings; nothing was started. */
  readonly skipped: boolean;
}

/** How the step runner drives the nodes and the Kong CLI of one runtime. */
export interface NodeRuntime {
  /** Every node record of the spec's cluster that exists on this runtime (running or stopped). */
  discover(): Promise<NodeRecord[]>;
  /** Whether the node's Kong runs. Rejects when the runtime cannot tell (host unreachable). */
  running(rec: NodeRecord): Promise<boolean>;
  /** Starts the node unless it runs with the same settings; waits for readiness. */
  start(rec: NodeRecord, startSeconds: number): Promise<StartResult>;
  /** Stops gracefully, then forcefully; `stopped: false` when it was not running. */
  stop(rec: NodeRecord, quitSeconds: number): Promise<{ stopped: boolean }>;
  /** Decommissions the node: stops it and removes what the runner created for it. */
  remove(rec: NodeRecord, quitSeconds: number): Promise<void>;
  /** Runs `kong <args>` of the target version with the database settings, where migrations run. */
  kong(
    args: readonly string[],
    opts: { timeoutSeconds: number; echo?: boolean },
  ): Promise<ExecResult>;
  /** What is wrong with the target version's installation and node settings ([] = nothing). */
  checkTarget(y: NodeRecord): Promise<string[]>;
}
