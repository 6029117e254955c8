/**
 * Kong nodes of one cluster on this machine: each lives in its own prefix directory, which also
 * holds `kong-gateway.json` (who owns it, which binary and settings started it). Steps find the
 * nodes by reading those files and the pid files, never by trusting what the program believes,
 * so a re-run after a crash sees the real state.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeFailure, kong } from "./kong";

/** What a node's prefix records about it. */
export interface NodeRecord {
  readonly cluster: string;
  readonly id: string;
  readonly version: string;
  readonly generation: number;
  readonly kongBin: string;
  readonly prefix: string;
  readonly statusUrl: string;
  readonly adminUrl: string;
  readonly proxyUrl: string;
  /** Non-secret `KONG_*` settings; the password is added from the step's environment. */
  readonly settings: Record<string, string>;
}

const RECORD = "kong-gateway.json";

/** Writes the node's record into its prefix (creating the prefix). */
export function writeNodeRecord(rec: NodeRecord): void {
  mkdirSync(rec.prefix, { recursive: true, mode: 0o700 });
  writeFileSync(join(rec.prefix, RECORD), JSON.stringify(rec, null, 2) + "\n", { mode: 0o600 });
}

/** The record in a prefix, if any. */
export function readNodeRecord(prefix: string): NodeRecord | undefined {
  const file = join(prefix, RECORD);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as NodeRecord) : undefined;
}

/** Every node record of `cluster` under `<stateDir>/nodes/<version>-g<n>/<id>`. */
export function discoverNodes(stateDir: string, cluster: string): NodeRecord[] {
  const root = join(stateDir, "nodes");
  if (!existsSync(root)) {
    return [];
  }
  const out: NodeRecord[] = [];
  for (const group of readdirSync(root)) {
    const groupDir = join(root, group);
    for (const id of safeReaddir(groupDir)) {
      const file = join(groupDir, id, RECORD);
      if (existsSync(file)) {
        const rec = JSON.parse(readFileSync(file, "utf8")) as NodeRecord;
        if (rec.cluster === cluster) {
          out.push(rec);
        }
      }
    }
  }
  return out.sort((a, b) => a.prefix.localeCompare(b.prefix));
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The pid in `<prefix>/pids/nginx.pid` if that process is alive. */
export function runningPid(prefix: string): number | undefined {
  const file = join(prefix, "pids", "nginx.pid");
  if (!existsSync(file)) {
    return undefined;
  }
  const pid = Number(readFileSync(file, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    return undefined;
  }
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Polls `GET <statusUrl>/status/ready` until 200; returns the moment it answered, or undefined. */
export async function waitReady(
  statusUrl: string,
  timeoutSeconds: number,
): Promise<Date | undefined> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    if (await isReady(statusUrl)) {
      return new Date();
    }
    await sleep(20);
  }
  return undefined;
}

/**
 * Whether a node is ready: `GET /status/ready` 200 (Kong 3.3+), or, on versions without that
 * endpoint (404), `GET /status` reporting the database reachable.
 */
export async function isReady(statusUrl: string): Promise<boolean> {
  const ready = await httpStatus(`${statusUrl}/status/ready`);
  if (ready === 200) {
    return true;
  }
  if (ready !== 404) {
    return false;
  }
  const status = await httpJson(`${statusUrl}/status`);
  return (status?.database as { reachable?: boolean } | undefined)?.reachable === true;
}

/**
 * Polls `url` every 20 ms until it stops answering and returns that moment: the real start of
 * the outage a client sees (a node keeps serving while `kong quit` itself starts up).
 */
export async function watchUntilDown(
  url: string,
  timeoutSeconds: number,
): Promise<Date | undefined> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    if ((await httpStatus(url, 500)) === 0) {
      return new Date();
    }
    await sleep(20);
  }
  return undefined;
}

/** The HTTP status of a GET, or 0 when nothing answers. */
export async function httpStatus(url: string, timeoutMs = 2000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** GETs JSON, or undefined when nothing (valid) answers. */
export async function httpJson(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The environment a node runs with: its settings plus the password from our environment. */
export function nodeEnv(rec: NodeRecord): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...rec.settings };
  delete env.KONG_GW_SPEC;
  return env;
}

/** Starts a node unless it already runs; waits for readiness. Throws with Kong's message. */
export async function startNode(
  rec: NodeRecord,
  startSeconds: number,
): Promise<{ startedAt: Date; readyAt: Date; skipped: boolean }> {
  const startedAt = new Date();
  if (runningPid(rec.prefix) !== undefined) {
    // Already running: keep it only if it runs with these settings (plugins, listeners, database).
    const same =
      JSON.stringify(readNodeRecord(rec.prefix)?.settings) === JSON.stringify(rec.settings);
    const readyAt = same ? await waitReady(rec.statusUrl, Math.min(startSeconds, 5)) : undefined;
    if (readyAt) {
      return { startedAt, readyAt, skipped: true };
    }
    await stopNode(readNodeRecord(rec.prefix) ?? rec, 10);
  }
  writeNodeRecord(rec);
  const r = await kong(rec.kongBin, ["start", "-p", rec.prefix], nodeEnv(rec), startSeconds + 30);
  if (r.code !== 0) {
    throw new Error(describeFailure(`${rec.id}: kong start (${rec.version})`, r));
  }
  const readyAt = await waitReady(rec.statusUrl, startSeconds);
  if (!readyAt) {
    throw new Error(
      `${rec.id}: Kong ${rec.version} started but ${rec.statusUrl}/status/ready did not answer 200 within ${startSeconds}s`,
    );
  }
  return { startedAt, readyAt, skipped: false };
}

/**
 * Stops a node gracefully (`kong quit -t`, draining in-flight requests), then forcefully if it is
 * still alive. Returns when the process is gone; a node that is not running is left as it is.
 */
export async function stopNode(
  rec: NodeRecord,
  quitSeconds: number,
): Promise<{ stopped: boolean }> {
  if (runningPid(rec.prefix) === undefined) {
    return { stopped: false };
  }
  await kong(
    rec.kongBin,
    ["quit", "-p", rec.prefix, "-t", String(quitSeconds)],
    nodeEnv(rec),
    quitSeconds + 30,
  );
  if (runningPid(rec.prefix) !== undefined) {
    await kong(rec.kongBin, ["stop", "-p", rec.prefix], nodeEnv(rec), 30);
  }
  const pid = runningPid(rec.prefix);
  if (pid !== undefined) {
    process.kill(pid, "SIGKILL");
    await sleep(200);
  }
  return { stopped: true };
}
