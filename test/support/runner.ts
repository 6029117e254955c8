/**
 * The step runner as the command resources run it (`components/runner/run.ts`, one process per
 * step, the spec and the password in its environment), for tests that drive steps without Pulumi.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chainSteps } from "../../components/chain";
import type { Strategy } from "../../components/contract/steps";
import { BackupSpec, NodeSpec, StepSpec } from "../../components/contract/spec";
import { freePort, startPostgres, type DatabaseSettings, type PostgresServer } from "./postgres";
import * as steps from "../../components/runner/steps/chain";

const repo = join(__dirname, "../..");

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One runner command; never rejects (the exit code says how it went). */
export function runner(
  spec: StepSpec,
  password: string,
  step: string,
  arg?: string,
): Promise<RunResult> {
  return new Promise((done) => {
    execFile(
      "node",
      ["--import", "tsx", "components/runner/run.ts", step, ...(arg ? [arg] : [])],
      {
        cwd: repo,
        env: { ...process.env, KONG_GW_SPEC: JSON.stringify(spec), KONG_PG_PASSWORD: password },
        timeout: 120_000,
      },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/**
 * Runs `steps` (`"node-start node-0"` style) in order; each must succeed. `run` runs one (default:
 * {@link runner} with `password`).
 */
export async function chain(
  spec: StepSpec,
  password: string,
  steps: readonly string[],
  run: (spec: StepSpec, step: string, arg?: string) => Promise<RunResult> = (s, step, arg) =>
    runner(s, password, step, arg),
): Promise<RunResult[]> {
  const out: RunResult[] = [];
  for (const step of steps) {
    const [name, arg] = step.split(" ");
    const r = await run(spec, name!, arg);
    assert.equal(r.code, 0, `${step} of ${spec.kind} → ${spec.to} failed:\n${r.stderr}`);
    out.push(r);
  }
  return out;
}

/**
 * Stops every node of `spec`'s cluster, whatever its version: a test's cleanup. Not the runner's
 * `stop` command, which runs the outage's steps (contract/steps.ts `outageRun`) and skips a stop
 * its journal already holds, so it would leave the nodes of a finished chain running.
 */
export async function stopAll(spec: StepSpec): Promise<void> {
  await steps.stop({ ...spec, nodes: [] });
}

/**
 * The runner commands of a whole chain, in the order the component's resources run them
 * (components/chain.ts `chainSteps`, the nodes' starts between its two halves).
 */
export function runnerChain(
  kind: StepSpec["kind"],
  nodes: number,
  strategy: Strategy = "in-place",
): string[] {
  const { before, after } = chainSteps(kind, strategy);
  return [...before, ...Array.from({ length: nodes }, (_, i) => `node-start node-${i}`), ...after];
}

/** The whole chain of an install or upgrade of a one-node cluster. */
export const ONE_NODE_CHAIN = runnerChain("upgrade", 1);

/** What every step spec of these tests shares: the database, a backup dir, short timeouts. */
export type SpecBase = Omit<StepSpec, "kind" | "to" | "from" | "nodes" | "generation">;

/** The shared part of a local-runtime step spec over `db`, state (and backups) under `stateDir`. */
export function specBase(
  db: DatabaseSettings,
  stateDir: string,
  backup: Partial<BackupSpec> = {},
): SpecBase {
  return {
    cluster: "kong",
    stateDir,
    plugins: "bundled",
    database: {
      host: db.host,
      port: db.port,
      database: db.database,
      user: db.user,
      schema: "",
      ssl: "off",
    },
    backup: {
      dir: join(stateDir, "backups"),
      verify: "list",
      retention: 3,
      minFreeBytes: 0,
      ...backup,
    },
    automaticRollback: true,
    maintenanceWindows: [],
    allowSmallerCluster: false,
    probe: { path: "/", expectStatus: [] },
    timeouts: { quitSeconds: 5, startSeconds: 20, dbTimeoutSeconds: 30, lockTimeoutSeconds: 5 },
  };
}

/** A local-runtime node on 127.0.0.1: proxy on `port`, admin on `port + 1`, status `port + 2`. */
function localNode(
  version: string,
  kongBin: string,
  prefix: string,
  port: number,
  id = "node-0",
): NodeSpec {
  return {
    id,
    version,
    kongBin,
    prefix,
    proxyListen: `127.0.0.1:${port}`,
    adminListen: `127.0.0.1:${port + 1}`,
    statusListen: `127.0.0.1:${port + 2}`,
    proxyUrl: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${port + 1}`,
    statusUrl: `http://127.0.0.1:${port + 2}`,
  };
}

/**
 * A one-node local-runtime step spec, its node's prefix where the chain puts it
 * (`<stateDir>/nodes/<kind>-<to>-g<generation>/node-0`).
 */
export function oneNodeSpec(
  base: SpecBase,
  kind: StepSpec["kind"],
  to: string,
  node: { kongBin: string; port: number },
  extra: Partial<StepSpec> = {},
): StepSpec {
  const generation = extra.generation ?? 1;
  const prefix = join(base.stateDir, "nodes", `${kind}-${to}-g${generation}`, "node-0");
  return {
    ...base,
    kind,
    to,
    generation,
    nodes: [localNode(to, node.kongBin, prefix, node.port)],
    ...extra,
  };
}

/** What a step test runs against: see {@link stepWorld}. */
export interface StepWorld {
  /** The throwaway server; the test's `after` stops it ({@link stopStepWorld}). */
  readonly pg: PostgresServer;
  /** The `kong` database and its owner role. */
  readonly db: DatabaseSettings;
  /** The `kong` role's password: what the runner commands are given (`db.password`). */
  readonly password: string;
  /** The state directory of the specs (backups under it), the stand-ins installed in it. */
  readonly dir: string;
  /** Each requested version's stand-in `kong`, by version: `<dir>/kong/<version>/bin/kong`. */
  readonly bins: Record<string, string>;
  /** The first of a run of free ports reserved for this process ({@link freePort}). */
  readonly port: number;
  /** {@link specBase} over `db` and `dir`, with the given backup settings. */
  readonly base: SpecBase;
}

/** How one step test's world differs from the others'. */
export interface StepWorldOptions {
  /** Backup settings of `base` that differ from {@link specBase}'s. @default {} */
  readonly backup?: Partial<BackupSpec>;
  /**
   * Also set `KONG_PG_PASSWORD` in this process, where steps the test calls directly (not through
   * {@link runner}, which passes the password itself) read it. @default true
   */
  readonly passwordInEnv?: boolean;
}

/**
 * Starts a real PostgreSQL with a `kong` database, and installs the Kong stand-in playing each of
 * `versions` into a fresh state directory named after `label` (`kong-gw-<label>-…` in the temp
 * directory, mode 0755 as startPostgres's own: mkdtemp's 0700 shuts out every other user).
 * Stop it with {@link stopStepWorld}.
 */
export async function stepWorld(
  label: string,
  versions: readonly string[],
  opts: StepWorldOptions = {},
): Promise<StepWorld> {
  const pg = await startPostgres();
  const db = await pg.createDatabase("kong");
  const password = db.password;
  const dir = mkdtempSync(join(tmpdir(), `kong-gw-${label}-`));
  chmodSync(dir, 0o755);
  const bins: Record<string, string> = {};
  for (const v of versions) {
    execFileSync(join(repo, "test/kong-sim/install"), [v, join(dir, "kong", v)]);
    bins[v] = join(dir, "kong", v, "bin", "kong");
  }
  const port = await freePort();
  if (opts.passwordInEnv ?? true) {
    process.env.KONG_PG_PASSWORD = password;
  }
  return { pg, db, password, dir, bins, port, base: specBase(db, dir, opts.backup) };
}

/**
 * A step test's cleanup: stops the nodes of the cluster of each of `specs` ({@link stopAll}; a
 * failure there does not keep the server running), then the server, if `before` got to start it.
 */
export async function stopStepWorld(
  pg: PostgresServer | undefined,
  specs: readonly StepSpec[] = [],
): Promise<void> {
  for (const s of specs) {
    await stopAll(s).catch(() => undefined);
  }
  await pg?.stop();
}
