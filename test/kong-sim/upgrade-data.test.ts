/**
 * Data through real upgrades: the 3.5 → 3.6 → 3.7 rate-limiting `redis_*` → `config.redis` copy,
 * the 3.4 → 3.10 LTS hop whose teardown deletes the old keys, and injected crashes in an up (rolled
 * back) and in a teardown (partly applied, still pending).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startPostgres, type DatabaseSettings, type PostgresServer } from "../support/postgres";
import { freshDb, http, installKong, kong, killNode, nodeEnv, pgEnv, RUN_WITH_V } from "./helpers";

let pg: PostgresServer;
const bins: Record<string, string> = {};
const prefixes: string[] = [];

before(async () => {
  pg = await startPostgres();
  for (const v of ["3.4.2", "3.5.0", "3.6.1", "3.7.0", "3.10.0"]) {
    bins[v] = await installKong(v);
  }
});

after(async () => {
  prefixes.forEach(killNode);
  await pg?.stop();
});

const REDIS = {
  redis_host: "redis.internal",
  redis_port: 6380,
  redis_password: "s3cret",
  redis_database: 2,
  redis_timeout: 1500,
};

/** Bootstraps `version` and creates, through its Admin API, a service with a redis rate-limiting plugin. */
async function seeded(version: string): Promise<DatabaseSettings> {
  const db = await freshDb(pg, `rl_${version}`);
  const n = await nodeEnv(db);
  prefixes.push(n.prefix);
  const bin = bins[version] as string;
  assert.equal((await kong(bin, ["migrations", "bootstrap", "-q"], n.env)).code, 0);
  assert.equal((await kong(bin, ["start"], n.env)).code, 0);
  try {
    const svc = await http(`${n.admin}/services`, {
      method: "POST",
      body: { name: "api", url: "http://echo.sim" },
    });
    assert.equal(svc.status, 201);
    const rl = await http(`${n.admin}/services/api/plugins`, {
      method: "POST",
      body: { name: "rate-limiting", config: { minute: 10, policy: "redis", ...REDIS } },
    });
    assert.equal(rl.status, 201, JSON.stringify(rl.json));
  } finally {
    await kong(bin, ["stop"], n.env);
  }
  return db;
}

async function rlConfig(db: DatabaseSettings): Promise<Record<string, unknown>> {
  const rows = await pg.query<{ config: Record<string, unknown> }>(
    db.database,
    "SELECT config FROM plugins WHERE name = 'rate-limiting'",
  );
  assert.equal(rows.length, 1);
  return rows[0]?.config ?? {};
}

describe("rate-limiting redis settings", () => {
  test("3.5 → 3.6 copies redis_* into config.redis (old keys kept); 3.7 does not run it again", async () => {
    const db = await seeded("3.5.0");
    const env = pgEnv(db);
    assert.equal((await rlConfig(db)).redis, undefined);
    const up36 = await kong(bins["3.6.1"] as string, ["migrations", "up"], env);
    assert.equal(up36.code, 0);
    assert.match(up36.stdout, /\nrate-limiting migrated up to: 006_350_to_360 \(executed\)\n/);
    const c36 = await rlConfig(db);
    assert.deepEqual(c36.redis, {
      host: "redis.internal",
      port: 6380,
      password: "s3cret",
      database: 2,
      timeout: 1500,
      username: null,
      ssl: false,
      ssl_verify: false,
      server_name: null,
    });
    assert.equal(c36.redis_host, "redis.internal", "up parts are non-destructive");
    const fin36 = await kong(bins["3.6.1"] as string, ["migrations", "finish"], env);
    assert.equal(fin36.code, 0);
    assert.match(
      fin36.stdout,
      /^migrating opentelemetry .*\n(.*\n)*No pending migrations to finish\n$/,
      "3.6.1's only teardown",
    );
    const up37 = await kong(bins["3.7.0"] as string, ["migrations", "up"], env);
    assert.doesNotMatch(up37.stdout, /006_350_to_360/, "executed by name already");
    assert.equal((await kong(bins["3.7.0"] as string, ["migrations", "finish"], env)).code, 0);
    assert.equal((await rlConfig(db)).redis_host, "redis.internal");
  });

  test("3.4 → 3.10 (LTS): pending after up, the old keys go only with finish", async () => {
    const db = await seeded("3.4.2");
    const env = pgEnv(db);
    const k310 = bins["3.10.0"] as string;
    const up = await kong(k310, ["migrations", "up"], env);
    assert.equal(up.code, 0);
    assert.match(up.stdout, /\nrate-limiting migrated up to: 006_350_to_360 \(pending\)\n/);
    const mid = await rlConfig(db);
    assert.equal((mid.redis as Record<string, unknown>).host, "redis.internal");
    assert.equal(mid.redis_host, "redis.internal");
    const fin = await kong(k310, ["migrations", "finish"], env);
    assert.equal(fin.code, 0);
    assert.match(fin.stdout, /\nrate-limiting migrated up to: 006_350_to_360 \(executed\)\n/);
    const done = await rlConfig(db);
    assert.deepEqual(
      Object.keys(done).filter((k) => k.startsWith("redis_")),
      [],
    );
    assert.equal((done.redis as Record<string, unknown>).password, "s3cret");
  });
});

describe("fault injection in migrations", () => {
  test("a crash in an up rolls the whole up back and records nothing for it", async () => {
    const db = await seeded("3.5.0");
    const env = pgEnv(db, { KONG_SIM_FAIL_MIGRATION: "rate-limiting/006_350_to_360:up" });
    const r = await kong(bins["3.6.1"] as string, ["migrations", "up"], env);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /\ncore migrated up to: 022_350_to_360 \(executed\)\n/);
    assert.ok(
      r.stderr.startsWith(
        "Error: [PostgreSQL error] cluster_mutex callback threw an error: /usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua:120: [PostgreSQL error] failed to run migration '006_350_to_360' up: ERROR: simulated crash during up of rate-limiting/006_350_to_360 (KONG_SIM_FAIL_MIGRATION)\nstack traceback:\n",
      ),
      r.stderr,
    );
    assert.ok(r.stderr.endsWith(RUN_WITH_V));
    assert.equal((await rlConfig(db)).redis, undefined, "rolled back");
    const [meta] = await pg.query<{ executed: string[] | null }>(
      db.database,
      "SELECT executed FROM schema_meta WHERE subsystem = 'rate-limiting'",
    );
    assert.ok(!meta?.executed?.includes("006_350_to_360"));
    // opentelemetry's up ran before the crash and has a teardown: a plain retry is refused.
    const retry = await kong(bins["3.6.1"] as string, ["migrations", "up"], pgEnv(db));
    assert.equal(
      retry.stderr,
      `Error: Database has pending migrations; run 'kong migrations finish'\n${RUN_WITH_V}`,
    );
    assert.equal(
      (await kong(bins["3.6.1"] as string, ["migrations", "finish"], pgEnv(db))).code,
      0,
    );
    const again = await kong(bins["3.6.1"] as string, ["migrations", "up"], pgEnv(db));
    assert.equal(again.code, 0, `the lock was released: ${again.stderr}`);
    assert.equal(((await rlConfig(db)).redis as Record<string, unknown>).port, 6380);
  });

  test("a crash in a teardown leaves it half applied and still pending (Kong#13391)", async () => {
    const db = await seeded("3.4.2");
    const k310 = bins["3.10.0"] as string;
    assert.equal((await kong(k310, ["migrations", "up"], pgEnv(db))).code, 0);
    const r = await kong(
      k310,
      ["migrations", "finish"],
      pgEnv(db, { KONG_SIM_FAIL_MIGRATION: "rate-limiting/006_350_to_360:teardown" }),
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /failed to run migration '006_350_to_360' teardown: ERROR: simulated crash during teardown of rate-limiting\/006_350_to_360/,
    );
    const half = Object.keys(await rlConfig(db)).filter((k) => k.startsWith("redis_"));
    // Nine deletions, crash after the fifth: host, port, password, username, ssl are gone.
    assert.deepEqual(half.sort(), [
      "redis_database",
      "redis_server_name",
      "redis_ssl_verify",
      "redis_timeout",
    ]);
    assert.equal((await kong(k310, ["migrations", "list"], pgEnv(db))).code, 4, "still pending");
    const again = await kong(k310, ["migrations", "finish"], pgEnv(db));
    assert.equal(again.code, 0);
    assert.deepEqual(
      Object.keys(await rlConfig(db)).filter((k) => k.startsWith("redis_")),
      [],
    );
  });
});
