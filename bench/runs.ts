/**
 * One measured upgrade each: the scripted runbook (bench/runbook.sh over nodes the bench starts
 * itself) and a strategy through the real `pulumi up` of a `local`-runtime stack on an existing
 * database. Both are watched by the same external prober on every node's proxied route.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { UpgradeReport } from "../components/contract/report";
import { kong, pgEnv } from "../test/kong-sim/helpers";
import { repoRoot, stackFor } from "../test/support/engine";
import {
  freePort,
  freePortRun,
  type DatabaseSettings,
  type PostgresServer,
} from "../test/support/postgres";
import { startProber } from "../test/support/prober";
import { commandStoreOver } from "../test/support/stackConfig";
import { runScript, scratch, waitReady } from "./fixtures";
import type { RunResult } from "./results";
import { StackSnapshot, stopNodes } from "./stackSnapshot";
import { outageOf } from "./stats";

/** The prober's interval (the 20 ms). */
export const PROBE_MS = 20;

/** The route every node proxies (the seed's first service). */
const ROUTE = "/svc-0";

/** How long the prober keeps going after the change, so its end is bounded by a success. */
const SETTLE_MS = 300;

const after = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The runbook script on `nodes` stand-in nodes the bench starts at `from` on `db`. */
export async function runbookRun(
  db: DatabaseSettings,
  bins: { x: string; y: string },
  nodes: number,
  size: number,
  run: number,
): Promise<RunResult> {
  const dir = scratch("runbook");
  const base = nodes <= 3 ? await freePort() : await freePortRun(10 * nodes);
  const spec = Array.from({ length: nodes }, (_, i) => ({
    x: join(dir, `x${i}`),
    y: join(dir, `y${i}`),
    proxy: base + 10 * i,
    admin: base + 10 * i + 1,
    status: base + 10 * i + 2,
  }));
  const listen = (n: (typeof spec)[number], prefix: string) =>
    pgEnv(db, {
      KONG_PREFIX: prefix,
      KONG_PROXY_LISTEN: `127.0.0.1:${n.proxy}`,
      KONG_ADMIN_LISTEN: `127.0.0.1:${n.admin}`,
      KONG_STATUS_LISTEN: `127.0.0.1:${n.status}`,
    });
  try {
    for (const n of spec) {
      const r = await kong(bins.x, ["start"], listen(n, n.x));
      if (r.code !== 0) {
        throw new Error(`runbook: starting X node on ${n.proxy} failed: ${r.stderr}`);
      }
    }
    for (const n of spec) {
      await waitReady(`http://127.0.0.1:${n.status}/status/ready`);
    }
    const prober = startProber(
      spec.map((n) => `http://127.0.0.1:${n.proxy}${ROUTE}`),
      PROBE_MS,
    );
    await after(SETTLE_MS);
    const t0 = performance.now();
    const stdout = await runScript(resolve(__dirname, "runbook.sh"), {
      ...pgEnv(db),
      KONG_X: bins.x,
      KONG_Y: bins.y,
      DUMP: join(dir, "kong.dump"),
      NODES: spec.map((n) => `${n.x}:${n.y}:${n.proxy}:${n.admin}:${n.status}`).join(" "),
    });
    const wallSeconds = (performance.now() - t0) / 1000;
    await after(SETTLE_MS);
    const outage = outageOf(await prober.stop());
    const steps = [...stdout.matchAll(/^step (\S+) (\d+) (\d+)$/gm)].map((m) => {
      const [startMs, endMs] = [Number(m[2]), Number(m[3])];
      return {
        name: m[1]!,
        startedAt: new Date(startMs).toISOString(),
        finishedAt: new Date(endMs).toISOString(),
        seconds: (endMs - startMs) / 1000,
      };
    });
    return {
      strategy: "runbook",
      size,
      run,
      outage,
      steps,
      backupSeconds: steps.find((s) => s.name === "backup")?.seconds,
      wallSeconds,
    };
  } finally {
    for (const n of spec) {
      await kong(bins.y, ["quit"], { KONG_PREFIX: n.y });
      await kong(bins.x, ["quit"], { KONG_PREFIX: n.x });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A throwaway project of this repository's program with a `local`-runtime stack on `db`. */
export interface BenchStack {
  readonly stack: Stack;
  readonly basePort: number;
  readonly nodes: number;
  /** The stack's scratch directory (its project, backend, state and backup store inside). */
  readonly dir: string;
  /** What a snapshot of the deployed stack copies, by name. */
  readonly dirs: { readonly backend: string; readonly state: string; readonly bucket: string };
  proxyUrl(i: number): string;
  dispose(): Promise<void>;
}

/** Creates the stack (not deployed). `strategy` is set only when not the default. */
export async function benchStack(
  db: DatabaseSettings,
  version: string,
  nodes: number,
  strategy: string,
): Promise<BenchStack> {
  const base = scratch("stack");
  const dir = join(base, "project");
  mkdirSync(join(dir, "stacks"), { recursive: true });
  mkdirSync(join(base, "backend"));
  const bucket = join(base, "bucket");
  mkdirSync(bucket);
  for (const f of ["index.ts", "node_modules", "components", "package.json", "tsconfig.json"]) {
    symlinkSync(join(repoRoot, f), join(dir, f));
  }
  copyFileSync(join(repoRoot, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  const basePort = nodes <= 3 ? await freePort() : await freePortRun(10 * nodes);
  const name = "bench";
  const stack = await stackFor(dir, join(base, "backend"), name);
  const config: Record<string, unknown> = {
    "kong-gateway:version": version,
    "kong-gateway:nodes": nodes,
    "kong-gateway:stateDir": join(base, "state"),
    "kong-gateway:database": {
      mode: "existing",
      host: db.host,
      port: db.port,
      database: db.database,
      user: db.user,
    },
    "kong-gateway:local": {
      install: `${repoRoot}/test/kong-sim/install {version} {dir}`,
      basePort,
    },
    // The database is shared (mode existing), so a local-only backup is refused (README "Running
    // from CI"): a command store over a plain directory stands in for object storage, as a real
    // deployment's would (one `cp` after the dump, inside the backup step).
    "kong-gateway:backup": commandStoreOver(bucket),
    ...(strategy === "in-place" ? {} : { "kong-gateway:strategy": strategy }),
    // The bench's hop is a minor one (3.5 → 3.6): rolling runs both side by side only when the
    // user accepts it (Kong recommends mixed versions between patch versions only).
    ...(strategy === "rolling" ? { "kong-gateway:allowMixedVersions": true } : {}),
  };
  writeFileSync(join(dir, "stacks", `Pulumi.${name}.yaml`), JSON.stringify({ config }, null, 2));
  await stack.setConfig("kong-gateway:dbPassword", { value: db.password, secret: true });
  return {
    stack,
    basePort,
    nodes,
    dir: base,
    dirs: { backend: join(base, "backend"), state: join(base, "state"), bucket },
    proxyUrl: (i) => `http://127.0.0.1:${basePort + 10 * i}`,
    async dispose() {
      await stack.destroy().catch(() => undefined);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Thrown when the build refuses `kong-gateway:strategy` (unknown setting or value). */
export class StrategyUnavailable extends Error {}

/** The program's refusal of the strategy setting, if that is why `err` happened. */
function refusal(err: unknown): string | undefined {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split("\n").find((l) => l.includes("kong-gateway:strategy"));
  return line?.slice(line.indexOf("kong-gateway:strategy")).trim();
}

/** A strategy's stack installed at `from` (once per size) and saved for the later runs. */
export interface InstalledStrategy {
  readonly strategy: string;
  readonly bs: BenchStack;
  readonly snapshot: StackSnapshot;
  /** The install's `pulumi up`, seconds. */
  readonly installSeconds: number;
  dispose(): Promise<void>;
}

/**
 * Installs `from` with `strategy` set on `db` and saves a snapshot of it. Throws
 * {@link StrategyUnavailable} when the build refuses the strategy.
 */
export async function installStrategy(
  pg: PostgresServer,
  db: DatabaseSettings,
  from: string,
  nodes: number,
  strategy: string,
  label: string,
  log: (m: string) => void,
): Promise<InstalledStrategy> {
  const bs = await benchStack(db, from, nodes, strategy);
  try {
    log(`${label}: install ${from} on ${nodes} nodes`);
    const t0 = performance.now();
    try {
      await bs.stack.up();
    } catch (e) {
      const why = refusal(e);
      if (why !== undefined) {
        throw new StrategyUnavailable(why);
      }
      throw e;
    }
    const installSeconds = (performance.now() - t0) / 1000;
    const snapshot = await StackSnapshot.save({
      pg,
      db,
      dirs: bs.dirs,
      stateDir: bs.dirs.state,
      root: join(bs.dir, "snapshot"),
    });
    return {
      strategy,
      bs,
      snapshot,
      installSeconds,
      // No `pulumi destroy`: its nodes stopped, the stack's directory and snapshot go (the
      // database is the caller's). The teardown is not measured, only slow.
      async dispose() {
        await stopNodes(bs.dirs.state);
        rmSync(bs.dir, { recursive: true, force: true });
        await snapshot.drop();
      },
    };
  } catch (e) {
    await bs.dispose();
    throw e;
  }
}

/**
 * Measures `pulumi up` from `from` to `to` under the prober on an installed stack. With `restore`
 * the snapshot is put back first (every run after the first), so each run starts from the same
 * installed cluster and the same stack history (the preview's estimate comes from it).
 */
export async function strategyRun(
  inst: InstalledStrategy,
  from: string,
  to: string,
  size: number,
  run: number,
  restore: boolean,
  log: (m: string) => void,
): Promise<RunResult> {
  const { bs, strategy } = inst;
  if (restore) {
    const t = performance.now();
    await inst.snapshot.restore();
    log(
      `${strategy} ${size} #${run}: restored the ${from} install in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  }
  await bs.stack.setConfig("kong-gateway:version", { value: to });
  const prober = startProber(
    Array.from({ length: bs.nodes }, (_, i) => `${bs.proxyUrl(i)}${ROUTE}`),
    PROBE_MS,
  );
  await after(SETTLE_MS);
  log(`${strategy} ${size} #${run}: pulumi up ${from} → ${to}`);
  const t0 = performance.now();
  const res = await bs.stack
    .up()
    .finally(() => bs.stack.setConfig("kong-gateway:version", { value: from }));
  const wallSeconds = (performance.now() - t0) / 1000;
  await after(SETTLE_MS);
  const outage = outageOf(await prober.stop());
  const outs = res.outputs;
  const report = outs.lastUpgrade?.value as UpgradeReport | undefined;
  const plan = outs.upgradePlan?.value as
    { strategy?: string; downtimeExpectedSeconds?: number } | undefined;
  if (plan?.strategy !== undefined && plan.strategy !== strategy) {
    throw new StrategyUnavailable(`the plan ran "${plan.strategy}"`);
  }
  if (!report) {
    throw new Error(`${strategy}: the up exported no lastUpgrade`);
  }
  return {
    strategy,
    size,
    run,
    outage,
    reportedDowntimeSeconds: report.downtimeSeconds,
    ...(plan?.downtimeExpectedSeconds !== undefined
      ? { estimatedDowntimeSeconds: plan.downtimeExpectedSeconds }
      : {}),
    steps: report.steps,
    backupSeconds: report.steps.find((s) => s.name === "backup")?.seconds,
    ...(report.backup?.dumpSeconds !== undefined ? { dumpSeconds: report.backup.dumpSeconds } : {}),
    wallSeconds,
  };
}

/** `pulumi preview` of a version bump on a stack deployed with `nodes` nodes, seconds. */
export async function previewTime(
  db: DatabaseSettings,
  from: string,
  to: string,
  nodes: number,
  log: (m: string) => void,
): Promise<number> {
  const bs = await benchStack(db, from, nodes, "in-place");
  try {
    log(`preview: install ${from} on ${nodes} nodes`);
    await bs.stack.up();
    await bs.stack.setConfig("kong-gateway:version", { value: to });
    const t0 = performance.now();
    await bs.stack.preview();
    return (performance.now() - t0) / 1000;
  } finally {
    await bs.dispose();
  }
}
