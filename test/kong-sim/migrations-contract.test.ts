/**
 * KONG.md §1, row by row: each `kong migrations` command in each database state (not
 * bootstrapped, up to date, new migrations, pending), against a real PostgreSQL. The states come
 * from real runs: 3.0.1 bootstrap (up to date), 2.8.4 bootstrap seen by 3.0.1 (new), and that plus
 * 3.0.1 `up` (pending: core 016_280_to_300 and http-log 001_280_to_300 have teardowns).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startPostgres, type DatabaseSettings, type PostgresServer } from "../support/postgres";
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

type State = "not bootstrapped" | "up to date" | "new migrations" | "pending";

let pg: PostgresServer;
let k28: string;
let k30: string;
let k31: string;
const templates = new Map<State, DatabaseSettings>();

before(async () => {
  pg = await startPostgres();
  [k28, k30, k31] = await Promise.all([
    installKong("2.8.4"),
    installKong("3.0.1"),
    installKong("3.1.0"),
  ]);
  templates.set("not bootstrapped", await freshDb(pg, "nb"));
  const utd = await freshDb(pg, "utd");
  assert.equal((await kong(k30, ["migrations", "bootstrap"], pgEnv(utd))).code, 0);
  templates.set("up to date", utd);
  const old = await freshDb(pg, "new");
  assert.equal((await kong(k28, ["migrations", "bootstrap"], pgEnv(old))).code, 0);
  templates.set("new migrations", old);
  const pend = await cloneDb(pg, old, "pend");
  assert.equal((await kong(k30, ["migrations", "up"], pgEnv(pend))).code, 0);
  templates.set("pending", pend);
});

after(async () => {
  await pg?.stop();
});

/** A private copy of a state's database and the env pointing at it. */
async function inState(state: State) {
  const db = await cloneDb(pg, templates.get(state) as DatabaseSettings, state);
  return { db, env: pgEnv(db) };
}

/** The exit code of `kong migrations list`: 3, 0, 5 or 4 name the state. */
async function listCode(env: Record<string, string>): Promise<number> {
  return (await kong(k30, ["migrations", "list"], env)).code;
}

const PENDING_TABLE = "    core: 016_280_to_300\nhttp-log: 001_280_to_300";
const NEW_TABLE =
  "         core: 016_280_to_300\n         acme: 001_280_to_300\n     http-log: 001_280_to_300\npost-function: 001_280_to_300\n pre-function: 001_280_to_300";

describe("kong migrations list", () => {
  test("not bootstrapped: NEEDS_BOOTSTRAP on stdout, exit 3", async () => {
    const { env } = await inState("not bootstrapped");
    assert.deepEqual(await kong(k30, ["migrations", "list"], env), EXACT.listNotBootstrapped);
  });
  test("up to date: the executed table, exit 0", async () => {
    const { env } = await inState("up to date");
    const r = await kong(k30, ["migrations", "list"], env);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, "");
    assert.match(
      r.stdout,
      /^Executed migrations:\n +core: 000_base, 003_100_to_110, .*, 015_270_to_280, 016_280_to_300\n/,
    );
    assert.match(r.stdout, /\n +http-log: 001_280_to_300\n/);
    assert.doesNotMatch(r.stdout, /New migrations|Pending migrations/);
  });
  test("new migrations: the new table and 'Run kong migrations up', exit 5", async () => {
    const { env } = await inState("new migrations");
    const r = await kong(k30, ["migrations", "list"], env);
    assert.equal(r.code, 5);
    assert.ok(
      r.stdout.endsWith(
        `\nNew migrations available:\n${NEW_TABLE}\n\nRun 'kong migrations up' to proceed\n`,
      ),
      r.stdout,
    );
  });
  test("pending: the pending table and 'Run kong migrations finish', exit 4", async () => {
    const { env } = await inState("pending");
    const r = await kong(k30, ["migrations", "list"], env);
    assert.equal(r.code, 4);
    assert.ok(
      r.stdout.endsWith(
        `\nPending migrations:\n${PENDING_TABLE}\n\nRun 'kong migrations finish' when ready\n`,
      ),
      r.stdout,
    );
  });
  test("pending and new at once: all sections, a warning on stderr, exit 4", async () => {
    const { env } = await inState("pending");
    const r = await kong(k31, ["migrations", "list"], env);
    assert.equal(r.code, 4);
    assert.ok(
      r.stdout.includes(
        `\nPending migrations:\n${PENDING_TABLE}\n\nNew migrations available:\ncore: 017_300_to_310\n\n\nRun 'kong migrations finish' when ready to complete pending migrations (postgres database will be incompatible with the previous Kong version)\n`,
      ),
      r.stdout,
    );
    assert.match(
      r.stderr,
      /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[warn\] Database has pending migrations from a previous upgrade, and new migrations from this upgrade \(version 3\.1\.0\)\n$/,
    );
  });
});

describe("kong migrations up", () => {
  test("not bootstrapped: Error: Cannot run migrations: NEEDS_BOOTSTRAP, exit 1", async () => {
    const { env } = await inState("not bootstrapped");
    const r = await kong(k30, ["migrations", "up"], env);
    assert.deepEqual(r, EXACT.cannotRun);
    assert.equal(await listCode(env), 3);
  });
  test("up to date: 'Database is already up-to-date', exit 0", async () => {
    const { env } = await inState("up to date");
    assert.deepEqual(await kong(k30, ["migrations", "up"], env), EXACT.upUpToDate);
  });
  test("new migrations: runs the up parts, leaves teardowns pending, exit 0", async () => {
    const { db, env } = await inState("new migrations");
    const r = await kong(k30, ["migrations", "up"], env);
    const on = `on database '${db.database}'...`;
    assert.deepEqual(r, {
      code: 0,
      stderr: "",
      stdout:
        `migrating core ${on}\ncore migrated up to: 016_280_to_300 (pending)\n` +
        `migrating acme ${on}\nacme migrated up to: 001_280_to_300 (executed)\n` +
        `migrating http-log ${on}\nhttp-log migrated up to: 001_280_to_300 (pending)\n` +
        `migrating post-function ${on}\npost-function migrated up to: 001_280_to_300 (executed)\n` +
        `migrating pre-function ${on}\npre-function migrated up to: 001_280_to_300 (executed)\n` +
        "5 migrations processed\n3 executed\n2 pending\n" +
        "\nDatabase has pending migrations; run 'kong migrations finish' when ready\n",
    });
    assert.equal(await listCode(env), 4);
    const meta = await pg.query<{ executed: string[]; pending: string[]; last_executed: string }>(
      db.database,
      "SELECT last_executed, executed, pending FROM schema_meta WHERE subsystem = 'core'",
    );
    assert.equal(meta[0]?.last_executed, "015_270_to_280");
    assert.deepEqual(meta[0]?.pending, ["016_280_to_300"]);
  });
  test("pending: Error: Database has pending migrations, exit 1", async () => {
    const { env } = await inState("pending");
    const before = await migrationState(k30, env);
    const r = await kong(k30, ["migrations", "up"], env);
    assert.deepEqual(r, EXACT.upPending);
    assert.deepEqual(await migrationState(k30, env), before);
  });
});

describe("kong migrations finish", () => {
  test("not bootstrapped: as up, exit 1", async () => {
    const { env } = await inState("not bootstrapped");
    const r = await kong(k30, ["migrations", "finish"], env);
    assert.deepEqual(r, EXACT.cannotRun);
  });
  test("up to date: 'No pending migrations to finish', exit 0", async () => {
    const { env } = await inState("up to date");
    assert.deepEqual(await kong(k30, ["migrations", "finish"], env), EXACT.finishUpToDate);
  });
  test("new migrations: points at up, changes nothing, exit 0", async () => {
    const { env } = await inState("new migrations");
    const r = await kong(k30, ["migrations", "finish"], env);
    assert.deepEqual(r, EXACT.finishNew);
    assert.equal(await listCode(env), 5);
  });
  test("pending: runs the teardowns, totals, then 'No pending migrations to finish', exit 0", async () => {
    const { db, env } = await inState("pending");
    const r = await kong(k30, ["migrations", "finish"], env);
    const on = `on database '${db.database}'...`;
    assert.deepEqual(r, {
      code: 0,
      stderr: "",
      stdout:
        `migrating core ${on}\ncore migrated up to: 016_280_to_300 (executed)\n` +
        `migrating http-log ${on}\nhttp-log migrated up to: 001_280_to_300 (executed)\n` +
        "2 migrations processed\n2 executed\nNo pending migrations to finish\n",
    });
    assert.equal(await listCode(env), 0);
    const tables = await pg.query(
      db.database,
      "SELECT 1 FROM information_schema.tables WHERE table_name = 'vaults_beta'",
    );
    assert.equal(tables.length, 0, "the 3.0 teardown drops vaults_beta");
  });
});

describe("kong migrations bootstrap", () => {
  test("not bootstrapped: runs every up and teardown, 'Database is up-to-date', exit 0", async () => {
    const { env } = await inState("not bootstrapped");
    const r = await kong(k30, ["migrations", "bootstrap"], env);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, "");
    assert.match(
      r.stdout,
      /^Bootstrapping database...\nmigrating core on database '[^']+'...\ncore migrated up to: 000_base \(executed\)\n/,
    );
    assert.match(r.stdout, /\ncore migrated up to: 016_280_to_300 \(executed\)\n/);
    assert.match(r.stdout, /\n(\d+) migrations processed\n\1 executed\nDatabase is up-to-date\n$/);
    assert.equal(await listCode(env), 0);
  });
  for (const state of ["up to date", "new migrations", "pending"] as const) {
    test(`${state}: 'Database already bootstrapped', nothing changes, exit 0`, async () => {
      const { env } = await inState(state);
      const before = await migrationState(k30, env);
      assert.deepEqual(
        await kong(k30, ["migrations", "bootstrap"], env),
        EXACT.alreadyBootstrapped,
      );
      assert.deepEqual(await migrationState(k30, env), before);
    });
  }
});

describe("kong migrations reset", () => {
  test("not bootstrapped, --yes: 'Database not bootstrapped, nothing to reset', exit 1", async () => {
    const { env } = await inState("not bootstrapped");
    assert.deepEqual(await kong(k30, ["migrations", "reset", "--yes"], env), {
      code: 1,
      stdout: "Database not bootstrapped, nothing to reset\n",
      stderr: "",
    });
  });
  for (const state of ["not bootstrapped", "up to date", "new migrations", "pending"] as const) {
    test(`${state}, no TTY and no --yes: Error: not a tty, exit 1, nothing changes`, async () => {
      const { env } = await inState(state);
      const code = await listCode(env);
      assert.deepEqual(await kong(k30, ["migrations", "reset"], env), {
        code: 1,
        stdout: "",
        stderr: `Error: not a tty: invoke 'reset' non-interactively with the --yes flag\n${RUN_WITH_V}`,
      });
      assert.equal(await listCode(env), code);
    });
  }
  for (const state of ["up to date", "new migrations", "pending"] as const) {
    test(`${state}, --yes: drops the whole schema, exit 0`, async () => {
      const { db, env } = await inState(state);
      await pg.query(db.database, "CREATE TABLE public.not_kong (id int)");
      assert.deepEqual(await kong(k30, ["migrations", "reset", "-y"], env), {
        code: 0,
        stdout: "Resetting database...\nDatabase successfully reset\n",
        stderr: "",
      });
      assert.equal(await listCode(env), 3);
      const left = await pg.query(
        db.database,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
      );
      assert.deepEqual(left, []);
    });
  }
});

describe("kong migrations status", () => {
  test("prints the state as JSON in every state, leaving out empty keys, exit 0", async () => {
    const seen: Record<string, string[]> = {};
    for (const state of ["not bootstrapped", "up to date", "new migrations", "pending"] as const) {
      const { env } = await inState(state);
      const r = await kong(k30, ["migrations", "status"], env);
      assert.equal(r.code, 0);
      const json = JSON.parse(r.stdout) as Record<string, unknown>;
      seen[state] = Object.keys(json);
    }
    assert.deepEqual(seen, {
      "not bootstrapped": ["needs_bootstrap", "new_migrations"],
      "up to date": ["needs_bootstrap", "executed_migrations"],
      "new migrations": ["needs_bootstrap", "executed_migrations", "new_migrations"],
      pending: ["needs_bootstrap", "executed_migrations", "pending_migrations"],
    });
  });
  test("shape: subsystem, namespace and migration names", async () => {
    const { env } = await inState("pending");
    const json = (await migrationState(k30, env)) as { pending_migrations: unknown };
    assert.deepEqual(json.pending_migrations, [
      { subsystem: "core", namespace: "kong.db.migrations.core", migrations: ["016_280_to_300"] },
      {
        subsystem: "http-log",
        namespace: "kong.plugins.http-log.migrations",
        migrations: ["001_280_to_300"],
      },
    ]);
  });
  test("does not exist in 2.8", async () => {
    const { env } = await inState("up to date");
    const r = await kong(k28, ["migrations", "status"], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^No such command for migrations: status\n/);
  });
});
