/**
 * The real parts a bench run stands on: one PostgreSQL, the Kong stand-in's binaries, a seeded
 * database per size (through the Admin API, once) and a `CREATE DATABASE … TEMPLATE` copy of it
 * per runbook run and per strategy stack, so every run starts from byte-identical data.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { seed } from "../scripts/seed";
import { installKong, kong, nodeEnv, pgEnv } from "../test/kong-sim/helpers";
import type { DatabaseSettings, PostgresServer } from "../test/support/postgres";
import type { SizeInfo } from "./results";

const exec = promisify(execFile);

/** The Kong role's password in the bench's own throwaway server (never a real secret). */
export const BENCH_PASSWORD = "bench-kong-password";

/** Waits until `url` answers 200 (a node's `/status/ready`), polling every 20 ms. */
export async function waitReady(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(url, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.arrayBuffer().then(() => r.status))
      .catch(() => 0);
    if (status === 200) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`${url} not ready after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The stand-in's `kong` for both ends of the hop. */
export async function binaries(from: string, to: string): Promise<{ x: string; y: string }> {
  return { x: await installKong(from), y: await installKong(to) };
}

/** The database `name` as the Kong role reaches it. */
export function kongDb(pg: PostgresServer, name: string): DatabaseSettings {
  return { host: pg.host, port: pg.port, database: name, user: "kong", password: BENCH_PASSWORD };
}

/**
 * Seeds `size` entities at version `from`: a fifth each of services, routes, rate-limiting
 * plugins (with `redis_*` settings 3.6 migrates), consumers and key-auth credentials, created
 * through one stand-in node's Admin API, which then quits so the database can be a template.
 */
export async function seedSize(
  pg: PostgresServer,
  kongX: string,
  size: number,
  log: (m: string) => void,
): Promise<{ db: DatabaseSettings; info: Omit<SizeInfo, "rawDumpSeconds"> }> {
  const name = `bench_seed_${size}`;
  await pg.query("postgres", `DROP DATABASE IF EXISTS "${name}"`);
  await pg.createDatabase(name, "kong", BENCH_PASSWORD);
  // backup.verify: restore test-restores into a scratch database it creates.
  await pg.query("postgres", `ALTER ROLE kong CREATEDB`);
  const db = kongDb(pg, name);
  const t0 = performance.now();
  const boot = await kong(kongX, ["migrations", "bootstrap"], pgEnv(db));
  if (boot.code !== 0) {
    throw new Error(`seeding ${size}: kong migrations bootstrap failed: ${boot.stderr}`);
  }
  const n = await nodeEnv(db);
  const started = await kong(kongX, ["start"], n.env);
  if (started.code !== 0) {
    throw new Error(`seeding ${size}: kong start failed: ${started.stderr}`);
  }
  try {
    await waitReady(`${n.status}/status/ready`);
    const per = Math.max(1, Math.round(size / 5));
    log(`seeding ${size} entities through ${n.admin}`);
    // Many requests in flight: the stand-in and PostgreSQL, not one request's round trip, bound
    // it. The entities are the same whatever the order they are created in.
    await seed(n.admin, { services: per, consumers: per, concurrency: SEED_CONCURRENCY });
  } finally {
    await kong(kongX, ["quit"], n.env);
  }
  const seedSeconds = (performance.now() - t0) / 1000;
  const entities: Record<string, number> = {};
  for (const t of ["services", "routes", "plugins", "consumers", "keyauth_credentials"]) {
    const rows = await pg.query<{ n: number }>(name, `SELECT count(*)::int AS n FROM ${t}`);
    entities[t] = rows[0]?.n ?? 0;
  }
  // Kong's own writes while it ran (invalidation events) are not part of the data set.
  await pg.query(name, "DELETE FROM cluster_events");
  await pg.query(name, "VACUUM ANALYZE");
  const [bytes] = await pg.query<{ n: string }>(
    "postgres",
    `SELECT pg_database_size('${name}')::text AS n`,
  );
  return {
    db,
    info: { size, entities, databaseBytes: Number(bytes?.n ?? 0), seedSeconds },
  };
}

/** Admin API requests in flight while seeding. */
export const SEED_CONCURRENCY = 24;

let copies = 0;

/** A copy of `template` for one run (retried while the template's last session ends). */
export async function copyDb(pg: PostgresServer, template: DatabaseSettings, label: string) {
  copies++;
  const name = `bench_${label.replace(/\W/g, "_")}_${process.pid}_${copies}`;
  for (let i = 0; ; i++) {
    try {
      await pg.query(
        "postgres",
        `CREATE DATABASE "${name}" TEMPLATE "${template.database}" OWNER kong`,
      );
      return kongDb(pg, name);
    } catch (e) {
      if (i >= 50 || !/being accessed by other users/.test((e as Error).message)) {
        throw e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Drops a run's copy (and the scratch databases a restore-verified backup may have left). */
export async function dropDb(pg: PostgresServer, db: DatabaseSettings): Promise<void> {
  await pg
    .query("postgres", `DROP DATABASE IF EXISTS "${db.database}" WITH (FORCE)`)
    .catch(() => undefined);
}

/** A fresh temp directory for one run. */
export function scratch(label: string): string {
  return mkdtempSync(join(tmpdir(), `kong-gw-bench-${label}-`));
}

/**
 * Runs bench/runbook.sh; returns its stdout. It runs in the bench's own environment, as the
 * operator's shell would, the same one `pulumi up` hands the project's runner: environment that
 * slows a Kong start counts on both sides alike (on this machine NODE_EXTRA_CA_CERTS makes each
 * of the stand-in's node processes load a CA bundle, about 0.1–0.2 s per `kong start`).
 */
export async function runScript(script: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await exec("bash", [script], {
    env: { ...process.env, ...env },
    maxBuffer: 4 * 1024 * 1024,
    timeout: 600_000,
  });
  return stdout;
}
