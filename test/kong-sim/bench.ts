/**
 * Numbers for the stand-in (not a test): time from `kong start` to `/status/ready` 200, and
 * `kong migrations up` 3.5 → 3.6 over 10,000 rate-limiting plugin rows.
 *
 *   node --import tsx test/kong-sim/bench.ts
 */
import { startPostgres } from "../support/postgres";
import { freshDb, http, installKong, kong, killNode, nodeEnv, pgEnv } from "./helpers";

const ROWS = 10_000;

async function startToReady(bin: string, runs: number): Promise<number[]> {
  const pg = await startPostgres();
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const n = await nodeEnv(await freshDb(pg, "bench_start"));
      await kong(bin, ["migrations", "bootstrap", "-q"], n.env);
      const t0 = performance.now();
      const started = await kong(bin, ["start"], n.env);
      if (started.code !== 0) {
        throw new Error(started.stderr);
      }
      while ((await http(`${n.status}/status/ready`).catch(() => ({ status: 0 }))).status !== 200) {
        await new Promise((r) => setTimeout(r, 10));
      }
      times.push(performance.now() - t0);
      await kong(bin, ["stop"], n.env);
      killNode(n.prefix);
    }
  } finally {
    await pg.stop();
  }
  return times;
}

async function upWithRows(
  k35: string,
  k36: string,
): Promise<{ seed: number; up: number; copied: number }> {
  const pg = await startPostgres();
  try {
    const db = await freshDb(pg, "bench_rl");
    await kong(k35, ["migrations", "bootstrap", "-q"], pgEnv(db));
    const t0 = performance.now();
    await pg.query(
      db.database,
      `WITH ws AS (SELECT id FROM workspaces WHERE name = 'default'),
       s AS (INSERT INTO services (id, name, protocol, host, port, ws_id)
             SELECT gen_random_uuid(), 'svc-' || i, 'http', 'echo.sim', 80, (SELECT id FROM ws)
               FROM generate_series(1, ${ROWS}) i RETURNING id, name)
       INSERT INTO plugins (id, name, service_id, config, enabled, cache_key, protocols, ws_id)
       SELECT gen_random_uuid(), 'rate-limiting', s.id,
              jsonb_build_object('minute', 100, 'policy', 'redis', 'redis_host', 'redis-' || s.name,
                'redis_port', 6379, 'redis_password', 'pw', 'redis_timeout', 2000, 'redis_database', 0,
                'redis_ssl', false, 'redis_ssl_verify', false, 'redis_server_name', null, 'redis_username', null),
              true, 'plugins:rate-limiting::' || s.id || '::', ARRAY['http','https'], (SELECT id FROM ws)
         FROM s`,
    );
    const seed = performance.now() - t0;
    const t1 = performance.now();
    const up = await kong(k36, ["migrations", "up"], pgEnv(db));
    const elapsed = performance.now() - t1;
    if (up.code !== 0) {
      throw new Error(up.stderr);
    }
    const [row] = await pg.query<{ n: number }>(
      db.database,
      "SELECT count(*)::int AS n FROM plugins WHERE config ? 'redis'",
    );
    return { seed, up: elapsed, copied: row?.n ?? 0 };
  } finally {
    await pg.stop();
  }
}

async function main(): Promise<void> {
  const [k35, k36] = [await installKong("3.5.0"), await installKong("3.6.1")];
  const times = (await startToReady(k36, 5)).sort((a, b) => a - b);
  const fmt = (ms: number) => `${Math.round(ms)} ms`;
  console.log(
    `kong start → /status/ready 200 (3.6.1, 5 runs): median ${fmt(times[2] ?? 0)}, min ${fmt(times[0] ?? 0)}, max ${fmt(times[4] ?? 0)}`,
  );
  const r = await upWithRows(k35, k36);
  console.log(`seeding ${ROWS} services + rate-limiting plugins (SQL): ${fmt(r.seed)}`);
  console.log(
    `kong migrations up 3.5.0 → 3.6.1 with ${ROWS} rate-limiting rows: ${(r.up / 1000).toFixed(2)} s (${r.copied} rows now have config.redis)`,
  );
}

void main();
