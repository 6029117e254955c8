/**
 * Shared checks of the end-to-end scenarios: what the database holds, what the proxy answers,
 * and what the stack exported. Everything is read from the real thing (PostgreSQL, the Kong
 * stand-in's listeners, the stack's outputs).
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { repoRoot } from "./engine";
import type { KongStack } from "./kongStack";

/** The database role password every e2e stack uses. */
export const E2E_PASSWORD = "e2e-db-password";

/** Prints a progress line (the suite takes minutes). */
export function progress(msg: string): void {
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Runs SQL against the stack's Kong database. */
export async function sql<T extends object = Record<string, unknown>>(
  ks: Pick<KongStack, "dbPort" | "dbPassword">,
  text: string,
): Promise<T[]> {
  const c = new pg.Client({
    host: "127.0.0.1",
    port: ks.dbPort,
    user: "kong",
    password: ks.dbPassword,
    database: "kong",
  });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Row counts of the entities seeding creates. */
export async function entityCounts(
  ks: Pick<KongStack, "dbPort" | "dbPassword">,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ["services", "routes", "consumers", "keyauth_credentials", "plugins"]) {
    const rows = await sql<{ n: number }>(ks, `SELECT count(*)::int AS n FROM ${t}`);
    out[t] = rows[0]?.n ?? -1;
  }
  return out;
}

/**
 * Tables Kong nodes write on their own while running (invalidation events and their expiry,
 * rate-limiting counters, the migrations lock): not configuration, so left out of {@link dataHash}.
 */
export const RUNTIME_TABLES = [
  "cluster_events",
  "ratelimiting_metrics",
  "response_ratelimiting_metrics",
  "locks",
];

/** A hash of every configuration row (a data-only dump without runtime tables), to prove nothing was written. */
export function dataHash(ks: Pick<KongStack, "dbPort">): string {
  const exclude = RUNTIME_TABLES.map((t) => `--exclude-table-data=${t}`);
  const dump = execFileSync(
    "pg_dump",
    [
      "-h",
      "127.0.0.1",
      "-p",
      String(ks.dbPort),
      "-U",
      "kong",
      "-d",
      "kong",
      "--data-only",
      "--no-owner",
      ...exclude,
    ],
    {
      env: { ...process.env, PGPASSWORD: E2E_PASSWORD },
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  // pg_dump 15.14+ brackets a dump with `\restrict <random key>` lines: not data, so not hashed.
  const text = dump.toString().replace(/^\\(un)?restrict .*$/gm, "");
  const hash = createHash("sha256").update(text).digest("hex");
  writeFileSync(join(tmpdir(), `kong-gw-datahash-${hash.slice(0, 12)}.sql`), text);
  return hash;
}

/** A line diff of two data dumps by hash (for assertion messages). */
export function dumpDiff(a: string, b: string): string {
  const read = (h: string) =>
    readFileSync(join(tmpdir(), `kong-gw-datahash-${h.slice(0, 12)}.sql`), "utf8").split("\n");
  const [x, y] = [read(a), read(b)];
  const sx = new Set(x);
  const sy = new Set(y);
  const gone = x.filter((l) => !sy.has(l)).slice(0, 10);
  const added = y.filter((l) => !sx.has(l)).slice(0, 10);
  return [
    ...gone.map((l) => `- ${l.slice(0, 200)}`),
    ...added.map((l) => `+ ${l.slice(0, 200)}`),
  ].join("\n");
}

/** The HTTP status of GET url, or 0 when nothing answers. */
export async function status(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** The version the Admin API of node i reports. */
export function adminVersion(ks: KongStack, i = 0): Promise<string | undefined> {
  return versionAt(ks.adminUrl(i));
}

/** The version the Admin API at `adminUrl` reports, or undefined when nothing answers. */
export async function versionAt(adminUrl: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${adminUrl}/`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** The steps of an upgrade, in the order they must run and be reported. */
export const UPGRADE_STEPS = [
  "preflight",
  "stop",
  "backup",
  "migrations-up",
  "migrations-finish",
  "start",
  "verify",
];

/** The stack's outputs as plain values. */
export async function outputs(stack: Stack): Promise<Record<string, unknown>> {
  const o = await stack.outputs();
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.value]));
}

/** The measured report of the last change. */
export interface LastUpgrade {
  kind: string;
  from?: string;
  to: string;
  outcome: string;
  downtimeSeconds: number;
  steps: { name: string; startedAt: string; finishedAt: string; seconds: number }[];
  backup?: { id: string; path: string; sha256: string; bytes: number };
  /** Rollbacks: the backup restored. */
  restored?: { id: string; path: string; sha256: string; bytes: number };
}

/** Names of the stack's resources (from its checkpoint). */
export async function resourceNames(stack: Stack): Promise<string[]> {
  const state = await stack.exportStack();
  const resources = (state.deployment as { resources?: { urn: string }[] }).resources ?? [];
  return resources.map((r) => r.urn.split("::").at(-1) ?? "");
}

/** The project's pulumi CLI with `args` on the stack, in its workspace's directory and environment. */
function cliInvocation(
  ks: Pick<KongStack, "stack">,
  args: readonly string[],
): { bin: string; args: string[]; cwd: string; env: NodeJS.ProcessEnv } {
  const ws = ks.stack.workspace as LocalWorkspace;
  return {
    bin: join(repoRoot, ".tools/bin/pulumi"),
    args: [...args, "-s", ks.stack.name, "--non-interactive"],
    cwd: ws.workDir,
    env: { ...process.env, ...ws.envVars },
  };
}

/**
 * Runs the project's pulumi CLI on the stack, as a user would (`cancel`, `refresh
 * --clear-pending-creates`, `preview --expect-no-changes`): its exit status and all it printed.
 */
export function cli(
  ks: Pick<KongStack, "stack">,
  args: readonly string[],
): { status: number | null; output: string } {
  const c = cliInvocation(ks, args);
  const r = spawnSync(c.bin, c.args, {
    cwd: c.cwd,
    env: c.env,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, output: r.stdout + r.stderr };
}

/** A pulumi CLI run in the background, in a process group of its own (its pid is the group's). */
export interface CliRun {
  readonly child: ChildProcess;
  /** Resolves when it exits: its exit status (null when killed) and all it printed. */
  readonly done: Promise<{ status: number | null; output: string }>;
  /** Whether it has exited. */
  exited(): boolean;
}

/**
 * Starts the project's pulumi CLI on the stack in a process group of its own, as a CI job or a
 * terminal runs it, so a test can kill the whole group (`process.kill(-child.pid, "SIGKILL")`).
 */
export function spawnCli(ks: Pick<KongStack, "stack">, args: readonly string[]): CliRun {
  const c = cliInvocation(ks, args);
  const child = spawn(c.bin, c.args, {
    cwd: c.cwd,
    env: c.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let ended = false;
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  // Its output ends with `close`; a process it left behind (in another group) may hold the
  // pipes open, so `exit` also ends the wait, a moment later.
  const done = new Promise<{ status: number | null; output: string }>((resolve) => {
    child.on("close", (status) => resolve({ status, output }));
    child.on("exit", (status) => {
      ended = true;
      setTimeout(() => resolve({ status, output }), 2000).unref();
    });
  });
  return { child, done, exited: () => ended };
}
