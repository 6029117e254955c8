/**
 * `kong migrations` options and failure paths of KONG.md §1–2: -q, --v, -f, the `migrations` lock
 * (wait, timeout, no-wait, expiry), --db-timeout, the `plugins` setting, and bad input.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { eventually } from "../support/eventually";
import {
  freePort,
  startPostgres,
  type DatabaseSettings,
  type PostgresServer,
} from "../support/postgres";
import {
  cloneDb,
  EXACT,
  freshDb,
  installKong,
  kong,
  migrationState,
  pgEnv,
  RUN_WITH_V,
} from "./helpers";

let pg: PostgresServer;
let k28: string;
let k30: string;
let k36: string;
let k37: string;
let upToDate: DatabaseSettings;
let old: DatabaseSettings;

before(async () => {
  pg = await startPostgres();
  [k28, k30, k36, k37] = await Promise.all([
    installKong("2.8.4"),
    installKong("3.0.1"),
    installKong("3.6.1"),
    installKong("3.7.0"),
  ]);
  upToDate = await freshDb(pg, "utd");
  assert.equal((await kong(k30, ["migrations", "bootstrap"], pgEnv(upToDate))).code, 0);
  old = await freshDb(pg, "old");
  assert.equal((await kong(k28, ["migrations", "bootstrap"], pgEnv(old))).code, 0);
});

after(async () => {
  await pg?.stop();
});

async function copy(of: DatabaseSettings) {
  const db = await cloneDb(pg, of, "opt");
  return { db, env: pgEnv(db) };
}

const lockRow = (db: DatabaseSettings, seconds: number) =>
  pg.query(
    db.database,
    `INSERT INTO locks (key, owner, ttl) VALUES ('migrations', 'someone-else', now() + interval '${seconds} seconds')`,
  );

describe("output options", () => {
  test("-q prints nothing at all on success, and still runs", async () => {
    const { env } = await copy(old);
    assert.deepEqual(await kong(k30, ["migrations", "up", "-q"], env), {
      code: 0,
      stdout: "",
      stderr: "",
    });
    assert.equal((await kong(k30, ["migrations", "list", "-q"], env)).code, 4);
  });
  test("-q does not hide errors (Kong's error handler writes to stderr directly)", async () => {
    const { env } = await copy(old);
    await kong(k30, ["migrations", "up"], env);
    const r = await kong(k30, ["migrations", "up", "-q"], env);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      `Error: Database has pending migrations; run 'kong migrations finish'\n${RUN_WITH_V}`,
    );
  });
  test("--v prefixes every line with a timestamp and level, and adds verbose lines", async () => {
    const { env } = await copy(upToDate);
    const r = await kong(k30, ["migrations", "up", "--v"], env);
    assert.equal(r.code, 0);
    const stamp = "\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d";
    assert.match(r.stdout, new RegExp(`^${stamp} \\[verbose\\] Kong: 3\\.0\\.1\n`));
    assert.match(
      r.stdout,
      new RegExp(`\n${stamp} \\[verbose\\] retrieving database schema state...\n`),
    );
    assert.match(r.stdout, new RegExp(`\n${stamp} \\[info\\] Database is already up-to-date\n$`));
    const vv = await kong(k30, ["migrations", "list", "--vv"], env);
    assert.match(vv.stdout, /\[debug\] pg_password = "\*\*\*\*\*\*"\n/);
    assert.doesNotMatch(vv.stdout, /kong-test-password/);
  });
});

describe("-f / --force", () => {
  test("up -f re-runs the executed migrations (Kong appends them to `executed` again)", async () => {
    const { db, env } = await copy(upToDate);
    const r = await kong(k30, ["migrations", "up", "-f"], env);
    assert.equal(r.code, 0);
    assert.match(
      r.stdout,
      /^migrating core on database '[^']+'...\ncore migrated up to: 000_base \(executed\)\n/,
    );
    assert.doesNotMatch(r.stdout, /already up-to-date/);
    const [row] = await pg.query<{ executed: string[] }>(
      db.database,
      "SELECT executed FROM schema_meta WHERE subsystem = 'core'",
    );
    assert.equal(row?.executed.filter((n) => n === "000_base").length, 2);
    assert.equal((await kong(k30, ["migrations", "list"], env)).code, 0);
  });
  test("up -f with pending migrations re-runs executed ones and keeps the pending ones pending", async () => {
    const { env } = await copy(old);
    await kong(k30, ["migrations", "up"], env);
    const r = await kong(k30, ["migrations", "up", "-f"], env);
    assert.equal(r.code, 0);
    assert.ok(
      r.stdout.endsWith(
        "\nDatabase has pending migrations; run 'kong migrations finish' when ready\n",
      ),
      r.stdout,
    );
    assert.equal((await kong(k30, ["migrations", "list"], env)).code, 4);
  });
  test("finish -f re-runs executed migrations then finishes the pending ones", async () => {
    const { env } = await copy(old);
    await kong(k30, ["migrations", "up"], env);
    const r = await kong(k30, ["migrations", "finish", "-f"], env);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /core migrated up to: 000_base \(executed\)/);
    assert.match(r.stdout, /core migrated up to: 016_280_to_300 \(executed\)\n/);
    assert.doesNotMatch(r.stdout, /No pending migrations to finish/);
    assert.equal((await kong(k30, ["migrations", "list"], env)).code, 0);
  });
  test("bootstrap -f resets then bootstraps", async () => {
    const { db, env } = await copy(upToDate);
    await pg.query(
      db.database,
      "INSERT INTO consumers (id, username) VALUES (gen_random_uuid(), 'gone')",
    );
    const r = await kong(k30, ["migrations", "bootstrap", "-f"], env);
    assert.equal(r.code, 0);
    assert.match(
      r.stdout,
      /^Resetting database...\nDatabase successfully reset\nBootstrapping database...\n/,
    );
    assert.match(r.stdout, /Database is up-to-date\n$/);
    assert.deepEqual(await pg.query(db.database, "SELECT * FROM consumers"), []);
  });
});

describe("the migrations lock", () => {
  test("up waits up to --lock-timeout, then Error: [PostgreSQL error] timeout, exit 1", async () => {
    const { db, env } = await copy(old);
    await lockRow(db, 60);
    const t = Date.now();
    const r = await kong(k30, ["migrations", "up", "--lock-timeout", "1"], env);
    assert.ok(Date.now() - t >= 1000, "waited for the lock");
    assert.deepEqual(r, EXACT.lockTimeout);
    assert.equal((await kong(k30, ["migrations", "list"], env)).code, 5);
  });
  test("up whose lock holder finishes in time prints NOT_LEADER and exits 0 without running", async () => {
    const { db, env } = await copy(old);
    await lockRow(db, 60);
    const up = kong(k30, ["migrations", "up", "--lock-timeout", "10"], env);
    // The holder finishes once `up` is waiting: its insert found the lock taken and committed
    // (its connection idle after it), or it already polls the lock. Not after a fixed delay: a
    // loaded machine may not even have started `up` by then.
    const waiting = await eventually(
      () =>
        pg.query<{ n: number }>(
          "postgres",
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND
             ((state = 'idle' AND query LIKE '%ON CONFLICT DO NOTHING%')
              OR query LIKE 'SELECT * FROM locks WHERE key%')`,
          [db.database],
        ),
      (rows) => rows[0]!.n > 0,
      10,
      20,
    );
    assert.equal(waiting[0]!.n, 1, "up waits for the lock");
    await pg.query(db.database, "DELETE FROM locks");
    const r = await up;
    assert.deepEqual(r, EXACT.notLeader);
    assert.equal(
      (await kong(k30, ["migrations", "list"], env)).code,
      5,
      "nothing ran: confirm with list",
    );
  });
  test("finish and bootstrap do not wait: NOT_LEADER, exit 0", async () => {
    const { db, env } = await copy(old);
    await kong(k30, ["migrations", "up"], env);
    await lockRow(db, 60);
    const t = Date.now();
    assert.deepEqual(await kong(k30, ["migrations", "finish"], env), EXACT.notLeader);
    assert.ok(Date.now() - t < 5000);
    assert.equal((await kong(k30, ["migrations", "list"], env)).code, 4);
    const fresh = await freshDb(pg, "nb");
    await pg.query(
      fresh.database,
      "CREATE TABLE locks (key TEXT PRIMARY KEY, owner TEXT, ttl TIMESTAMP WITH TIME ZONE)",
    );
    await pg.query(fresh.database, "ALTER TABLE locks OWNER TO kong");
    await lockRow(fresh, 60);
    assert.deepEqual(await kong(k30, ["migrations", "bootstrap"], pgEnv(fresh)), {
      code: 0,
      stdout: "Bootstrapping database...\naborted: another node is performing database changes\n",
      stderr: "",
    });
  });
  test("an expired lock (a killed run's) is deleted and does not block", async () => {
    const { db, env } = await copy(old);
    await lockRow(db, -5);
    const r = await kong(k30, ["migrations", "up"], env);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /core migrated up to: 016_280_to_300 \(pending\)/);
    assert.deepEqual(
      await pg.query(db.database, "SELECT * FROM locks"),
      [],
      "lock released after the run",
    );
  });
  test("two concurrent ups: one runs, the other waits and reports NOT_LEADER", async () => {
    const { db, env } = await copy(old);
    const slow = { ...env, KONG_SIM_SLOW_MIGRATION: "core/016_280_to_300:1500" };
    const first = kong(k30, ["migrations", "up"], slow);
    // The second starts only once the first holds the lock.
    const held = await eventually(
      () => pg.query(db.database, "SELECT key FROM locks"),
      (rows) => rows.length > 0,
      15,
      20,
    );
    assert.equal(held.length, 1, "the first up took the migrations lock");
    const second = await kong(k30, ["migrations", "up"], env);
    const one = await first;
    assert.equal(one.code, 0);
    assert.match(one.stdout, /2 pending/);
    assert.deepEqual(second, EXACT.notLeader);
    const [row] = await pg.query<{ pending: string[] }>(
      db.database,
      "SELECT pending FROM schema_meta WHERE subsystem = 'core'",
    );
    assert.deepEqual(row?.pending, ["016_280_to_300"]);
  });
});

describe("--db-timeout", () => {
  test("a migration slower than --db-timeout fails with timeout; its SQL still lands, unrecorded (Kong#12978)", async () => {
    const { db, env } = await copy(old);
    const r = await kong(k30, ["migrations", "up", "--db-timeout", "1"], {
      ...env,
      KONG_SIM_SLOW_MIGRATION: "core/016_280_to_300:2000",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Error: \[PostgreSQL error\] cluster_mutex callback threw an error: \/usr\/local\/share\/lua\/5\.1\/kong\/cmd\/utils\/migrations\.lua:\d+: \[PostgreSQL error\] failed to run migration '016_280_to_300' up: timeout\nstack traceback:\n/,
    );
    // The client gave up, the server did not: the BEGIN…COMMIT text runs to its end (waited for
    // on the state itself: the table the migration creates).
    const tables = await eventually(
      () =>
        pg.query(
          db.database,
          "SELECT 1 FROM information_schema.tables WHERE table_name = 'vaults'",
        ),
      (rows) => rows.length > 0,
      15,
      50,
    );
    assert.equal(tables.length, 1, "the up committed after the client timed out");
    assert.equal(
      (await kong(k30, ["migrations", "list"], env)).code,
      5,
      "but schema_meta does not know it",
    );
    assert.deepEqual(
      await pg.query(db.database, "SELECT * FROM locks"),
      [],
      "the lock was released",
    );
  });
  test("from 3.7 the default falls back to pg_timeout; up to 3.6 it is 60 s", async () => {
    const env36 = pgEnv(await freshDb(pg, "t36"), {
      KONG_PG_TIMEOUT: "1000",
      KONG_SIM_SLOW_MIGRATION: "core/000_base:1500",
    });
    assert.equal((await kong(k36, ["migrations", "bootstrap"], env36)).code, 0);
    const env37 = pgEnv(await freshDb(pg, "t37"), {
      KONG_PG_TIMEOUT: "1000",
      KONG_SIM_SLOW_MIGRATION: "core/000_base:1500",
    });
    const r = await kong(k37, ["migrations", "bootstrap"], env37);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed to run migration '000_base' up: timeout/);
  });
});

describe("the plugins setting decides which subsystems count", () => {
  test("a job with different plugins than the nodes sees a different state (Kong#4420)", async () => {
    const db = await freshDb(pg, "plugins");
    const r = await kong(
      k30,
      ["migrations", "bootstrap"],
      pgEnv(db, { KONG_PLUGINS: "key-auth,rate-limiting" }),
    );
    assert.equal(r.code, 0);
    const subsystems = [...r.stdout.matchAll(/^migrating (\S+) on/gm)].map((m) => m[1]);
    assert.deepEqual(subsystems, ["core", "key-auth", "rate-limiting"]);
    const bundled = await kong(k30, ["migrations", "list"], pgEnv(db));
    assert.equal(bundled.code, 5);
    assert.match(bundled.stdout, /New migrations available:\n(.*\n)*\s+acl: 000_base_acl/);
    assert.equal(
      (await kong(k30, ["migrations", "list"], pgEnv(db, { KONG_PLUGINS: "off" }))).code,
      0,
    );
  });
});

describe("bad input behaves like Kong", () => {
  test("unknown subcommand", async () => {
    const r = await kong(k30, ["migrations", "frobnicate"], pgEnv(upToDate));
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^No such command for migrations: frobnicate\n\nUsage: kong migrations COMMAND \[OPTIONS\]\n/,
    );
  });
  test("unknown flag", async () => {
    const r = await kong(k30, ["migrations", "up", "--frobnicate"], pgEnv(upToDate));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^kong: unrecognized parameter: --frobnicate\n/);
  });
  test("unreachable database", async () => {
    const env = pgEnv({ ...upToDate, port: await freePort() });
    assert.deepEqual(await kong(k30, ["migrations", "list"], env), {
      code: 1,
      stdout: "",
      stderr: `Error: [PostgreSQL error] failed to retrieve PostgreSQL server_version_num: connection refused\n${RUN_WITH_V}`,
    });
  });
  test("wrong password", async () => {
    const r = await kong(k30, ["migrations", "up"], pgEnv({ ...upToDate, password: "wrong" }));
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `Error: [PostgreSQL error] failed to retrieve PostgreSQL server_version_num: FATAL: password authentication failed for user "kong"\n${RUN_WITH_V}`,
    );
  });
  test("kong.conf: key = value with comments, env overrides the file, bad values refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kong-conf-"));
    const conf = join(dir, "kong.conf");
    const d = upToDate;
    writeFileSync(
      conf,
      `# a comment\ndatabase = postgres\npg_host = ${d.host}   # trailing comment\npg_port = 1\npg_user = ${d.user}\npg_password = ${d.password}\npg_database = ${d.database}\n`,
    );
    const r = await kong(k30, ["migrations", "list", "-c", conf], { KONG_PG_PORT: String(d.port) });
    assert.equal(r.code, 0, r.stderr);
    const refused = await kong(k30, ["migrations", "list", "-c", conf], {});
    assert.match(refused.stderr, /connection refused/);
    writeFileSync(conf, "pg_port = abc\ndatabase = mysql\n");
    assert.deepEqual(await kong(k30, ["migrations", "list", "-c", conf], {}), {
      code: 1,
      stdout: "",
      stderr: `Error: pg_port is not a number: 'abc'\ndatabase has an invalid value: 'mysql' (postgres, off)\n${RUN_WITH_V}`,
    });
    writeFileSync(conf, "pg_host = 127.0.0.1\nthis line is not a setting\n");
    const garbage = await kong(k30, ["migrations", "list", "-c", conf], {});
    assert.equal(garbage.code, 1);
    assert.match(garbage.stderr, /^Error: could not load config file: line 2: /);
    const missing = await kong(k30, ["migrations", "list", "-c", join(dir, "nope.conf")], {});
    assert.equal(missing.stderr, `Error: no file at: ${join(dir, "nope.conf")}\n${RUN_WITH_V}`);
  });
});

test("status reflects exactly what schema_meta holds", async () => {
  const { db, env } = await copy(old);
  await kong(k30, ["migrations", "up"], env);
  await pg.query(
    db.database,
    "UPDATE schema_meta SET pending = '{}' , executed = array_append(executed, '016_280_to_300') WHERE subsystem = 'core'",
  );
  const s = (await migrationState(k30, env)) as { pending_migrations?: { subsystem: string }[] };
  assert.deepEqual(
    s.pending_migrations?.map((p) => p.subsystem),
    ["http-log"],
  );
});
