/**
 * Test helpers for the Kong stand-in: install a version once per test run, run `kong` with only
 * the environment Kong reads, and give each test its own database, prefix and ports.
 */
import { execFile } from "node:child_process";
import { request } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { runningPid } from "./src/cli/lifecycle";
import { freePort, type DatabaseSettings, type PostgresServer } from "../support/postgres";

const exec = promisify(execFile);
const INSTALL = resolve(__dirname, "install");
/** Shared across test files of one machine; the install script is idempotent and locked. */
const CACHE = join(tmpdir(), "kong-sim-test-installs");

/** What a `kong` run printed and returned. */
export interface KongRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Installs the stand-in for `version` (once) and returns the absolute path of its `kong`. */
export async function installKong(version: string): Promise<string> {
  const dir = join(CACHE, version);
  await exec(INSTALL, [version, dir]);
  return join(dir, "bin", "kong");
}

/** Runs `kong` with exactly `env` (no PATH, no HOME): what Kong reads and nothing else. */
export async function kong(
  bin: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  cwd = tmpdir(),
): Promise<KongRun> {
  try {
    const { stdout, stderr } = await exec(bin, [...args], {
      env: { ...env },
      cwd,
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") {
      throw err;
    }
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** `KONG_*` variables that point a node or a migration job at `db`. */
export function pgEnv(
  db: DatabaseSettings,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    KONG_DATABASE: "postgres",
    KONG_PG_HOST: db.host,
    KONG_PG_PORT: String(db.port),
    KONG_PG_USER: db.user,
    KONG_PG_PASSWORD: db.password,
    KONG_PG_DATABASE: db.database,
    ...extra,
  };
}

let counter = 0;

/** A new empty database owned by the `kong` role. */
export function freshDb(pg: PostgresServer, label: string): Promise<DatabaseSettings> {
  counter++;
  return pg.createDatabase(`${label.replace(/\W/g, "_")}_${process.pid}_${counter}`);
}

/** Listener settings on free loopback ports, and a fresh prefix directory. */
export async function nodeEnv(db: DatabaseSettings, extra: Record<string, string> = {}) {
  const [proxy, admin, status] = [await freePort(), await freePort(), await freePort()];
  const prefix = mkdtempSync(join(tmpdir(), "kong-sim-prefix-"));
  const env = pgEnv(db, {
    KONG_PREFIX: prefix,
    KONG_PROXY_LISTEN: `127.0.0.1:${proxy}`,
    KONG_ADMIN_LISTEN: `127.0.0.1:${admin}`,
    KONG_STATUS_LISTEN: `127.0.0.1:${status}`,
    ...extra,
  });
  return {
    env,
    prefix,
    proxy: `http://127.0.0.1:${proxy}`,
    admin: `http://127.0.0.1:${admin}`,
    status: `http://127.0.0.1:${status}`,
  };
}

/** One HTTP exchange with a JSON (or empty) answer. */
export async function http(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: init.method ?? "GET",
    headers: {
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** A copy of `template` (a database no one is connected to), owned by `kong`. */
export async function cloneDb(
  pg: PostgresServer,
  template: DatabaseSettings,
  label: string,
): Promise<DatabaseSettings> {
  counter++;
  const name = `${label.replace(/\W/g, "_")}_${process.pid}_${counter}`;
  await pg.query(
    "postgres",
    `CREATE DATABASE "${name}" TEMPLATE "${template.database}" OWNER kong`,
  );
  return { ...template, database: name };
}

/** `kong migrations status` parsed, to compare database states before and after a command. */
export async function migrationState(
  bin: string,
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  const r = await kong(bin, ["migrations", "status"], env);
  if (r.code !== 0) {
    throw new Error(`kong migrations status failed: ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Kong's texts, from the one copy the conformance kit runs against real Kong too. */
export { EXACT, NEEDS_BOOTSTRAP, RUN_WITH_V } from "../conformance/contract";

/**
 * Kills the node that still runs in `prefix` (test cleanup; never fails). Only that node: a pid
 * file left by a killed node may name another process by now (`runningPid`).
 */
export function killNode(prefix: string): void {
  const pid = runningPid(prefix);
  try {
    if (pid !== undefined) {
      process.kill(pid, "SIGKILL");
    }
  } catch {
    // gone meanwhile
  }
}

/** A GET with any headers (fetch cannot set Host); returns status and parsed JSON body. */
export function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { headers, timeout: 10_000 }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString("utf8")));
      res.on("end", () =>
        resolvePromise({
          status: res.statusCode ?? 0,
          json: JSON.parse(text) as Record<string, unknown>,
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}
