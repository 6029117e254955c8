/**
 * How the fault matrix lands its faults and proves they landed (test/support/faultsMatrix.ts):
 * the paused step's marker, process groups read from /proc, a PostgreSQL restart, another
 * `kong migrations` holding Kong's lock, and the data the cells compare (the configuration
 * tables' hash and row count).
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as steps from "../../components/runner/steps/chain";
import { dataHash, E2E_PASSWORD } from "./e2e";
import type { PostgresServer } from "./postgres";

const pgScript = join(__dirname, "../../scripts/pg-server.sh");

/** Polls `probe` every 20 ms until it yields a value (`seconds` at most, 60 by default). */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  seconds = 60,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) {
      return v;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Whether process `pid` exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The process group of `pid` (/proc/<pid>/stat), or undefined when it is gone. */
export function processGroup(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  } catch {
    return undefined;
  }
}

/** The live (not zombie) processes of group `pgid`. */
export function groupMembers(pgid: number): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(fields[2]) === pgid && fields[0] !== "Z";
      } catch {
        return false;
      }
    });
}

/**
 * The engine's plugins (language host, providers) whose environment holds `marker`: they run in
 * process groups of their own, so they outlive a killed `pulumi up` group, reparented to init.
 */
export function enginePlugins(marker: string): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return (
          /pulumi-(language|resource)-/.test(cmdline(pid)) &&
          readFileSync(`/proc/${pid}/environ`, "utf8").includes(marker)
        );
      } catch {
        return false;
      }
    });
}

/** The command line of `pid`, spaces between its arguments ("" when it is gone). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/**
 * Waits until `step` is paused by the test-only hook (components/runner/infra/testFault.ts) and
 * returns the pid of the runner paused in it. `gaveUp` ends the wait early (the run that should
 * reach the step ended without reaching it).
 */
export async function pausedRunner(
  faultDir: string,
  step: string,
  gaveUp: () => string | undefined,
  seconds = 300,
): Promise<number> {
  const marker = join(faultDir, `${step}.paused`);
  const pid = await waitFor(
    () => {
      if (existsSync(marker)) {
        return Number(readFileSync(marker, "utf8"));
      }
      const why = gaveUp();
      if (why !== undefined) {
        throw new Error(`${step} never paused: ${why}`);
      }
      return undefined;
    },
    `${step} to pause`,
    seconds,
  );
  assert.match(cmdline(pid), /run\.js/, `the paused process ${pid} is a step runner`);
  return pid;
}

/**
 * The version the Admin API at `adminUrl` reports, or undefined when nothing answers (5 s). Each
 * call opens a connection of its own: a pooled keep-alive one may still point at the node that
 * served on that port before the chain replaced it (its close not yet seen while the test
 * blocked on the engine), and would fail a check of the node serving now.
 */
export function servingVersion(adminUrl: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = get(`${adminUrl}/`, { agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => {
        try {
          resolve((JSON.parse(body) as { version?: string }).version);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

/** Whether PostgreSQL in `dir` runs (pg-server.sh status). */
function serving(dir: string): boolean {
  try {
    execFileSync("bash", [pgScript, "status", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Restarts PostgreSQL (fast shutdown: every connection is cut), then waits until it serves. */
export function restartPostgres(pg: PostgresServer): string {
  const env = { ...process.env, PGPASSWORD: pg.password };
  execFileSync("bash", [pgScript, "stop", pg.dir], { env });
  const stopped = serving(pg.dir);
  execFileSync("bash", [pgScript, "start", pg.dir, String(pg.port)], { env });
  assert.equal(stopped, false, "PostgreSQL was down between the stop and the start");
  return "PostgreSQL stopped and started again while the step was paused";
}

/** A lock another `kong migrations` holds, and how to let it go. */
export interface HeldLock {
  readonly evidence: string;
  release(): Promise<void>;
}

/**
 * Another `kong migrations` takes the migrations lock. With Kong's tables there, its lock row
 * (KONG.md §2, held for an hour); on a database not bootstrapped yet, a real concurrent
 * `kong migrations bootstrap` of `kongBin`, slowed inside its first migration so it holds the lock.
 */
export async function takeLock(pg: PostgresServer, kongBin: string): Promise<HeldLock> {
  const tables = await pg.query<{ n: number }>(
    "kong",
    "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'locks'",
  );
  if (tables[0]!.n === 1) {
    await pg.query(
      "kong",
      "INSERT INTO locks (key, owner, ttl) VALUES ('migrations', 'fault-matrix', now() + interval '1 hour')",
    );
    return {
      evidence: "locks row 'migrations' held by fault-matrix",
      release: async () => {
        await pg.query("kong", "DELETE FROM locks WHERE owner = 'fault-matrix'");
      },
    };
  }
  const other = spawn(kongBin, ["migrations", "bootstrap"], {
    env: {
      ...process.env,
      KONG_DATABASE: "postgres",
      KONG_PG_HOST: "127.0.0.1",
      KONG_PG_PORT: String(pg.port),
      KONG_PG_USER: "kong",
      KONG_PG_PASSWORD: E2E_PASSWORD,
      KONG_PG_DATABASE: "kong",
      KONG_SIM_SLOW_MIGRATION: "core/000_base:3000",
    },
    stdio: "ignore",
  });
  const exited = new Promise<number | null>((r) => other.on("exit", (code) => r(code)));
  const owner = await waitFor(async () => {
    const rows = await pg
      .query<{ owner: string }>("kong", "SELECT owner FROM locks WHERE key = 'migrations'")
      .catch(() => []);
    return rows[0]?.owner;
  }, "the concurrent kong migrations bootstrap to take the lock");
  return {
    evidence: `locks row 'migrations' held by a concurrent kong migrations bootstrap (${owner})`,
    release: async () => {
      assert.equal(await exited, 0, "the concurrent bootstrap ended well");
    },
  };
}

/**
 * The hash of the configuration tables of `kong` on `pg` now (test/support/e2e.ts `dataHash`).
 * `bootstrap` makes up the cluster id and the default workspace's id and creation time afresh
 * each time, so an install is compared `masked` (ids and times replaced; it writes no other
 * row); every other chain starts from a copy of one database and is compared byte for byte.
 */
export function configHash(pg: Pick<PostgresServer, "port">, masked = false): string {
  const h = dataHash({ dbPort: pg.port });
  if (!masked) {
    return h;
  }
  const text = readFileSync(join(tmpdir(), `kong-gw-datahash-${h.slice(0, 12)}.sql`), "utf8")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00/g, "<time>");
  return `masked:${createHash("sha256").update(text).digest("hex")}`;
}

/** Rows of the configuration entities (components/runner/steps/chain.ts ENTITY_TABLES). */
export async function configRows(pg: PostgresServer): Promise<number> {
  const tables = await pg.query<{ t: string }>(
    "kong",
    "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'",
  );
  const present = new Set(tables.map((r) => r.t));
  let n = 0;
  for (const t of steps.ENTITY_TABLES.filter((t) => present.has(t))) {
    const r = await pg.query<{ n: number }>("kong", `SELECT count(*)::int AS n FROM ${t}`);
    n += r[0]!.n;
  }
  return n;
}
