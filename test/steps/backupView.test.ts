/**
 * One backup, one moment (components/runner/infra/db.ts openBackupView, steps/backup.ts): pg_dump
 * imports the view's exported snapshot, and the row counts and write mark are read in it, so a
 * configuration write committed once the view is open is in none of them and is counted by
 * `writesSince` (what `prepared` and `rolling` take a fresh backup on). Real PostgreSQL.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BackupSpec, DatabaseSpec } from "../../components/contract/spec";
import {
  connectEarly,
  openBackupView,
  tableCounts,
  writesSince,
} from "../../components/runner/infra/db";
import { takeBackup } from "../../components/runner/steps/backup";
import { PostgresServer, startPostgres } from "../support/postgres";

describe("a backup's view of the database", { timeout: 120_000 }, () => {
  let pg: PostgresServer;
  let db: DatabaseSpec;
  let dir: string;
  const env = () => ({ ...process.env, PGPASSWORD: process.env.KONG_PG_PASSWORD });
  /** A configuration write as Kong makes one: the entity and its cluster_events row. */
  const write = async (name: string) => {
    await pg.query("kong", "INSERT INTO services (name) VALUES ($1)", [name]);
    await pg.query("kong", "INSERT INTO cluster_events (channel) VALUES ('invalidations')");
  };
  const restoredServices = async (dump: string, scratch: string): Promise<number> => {
    await pg.query("postgres", `CREATE DATABASE ${scratch} OWNER kong`);
    execFileSync(
      "pg_restore",
      ["-h", db.host, "-p", String(db.port), "-U", db.user, "-d", scratch, "--no-owner", dump],
      { env: env() },
    );
    return (await tableCounts(db, scratch)).services!;
  };

  before(async () => {
    pg = await startPostgres();
    const s = await pg.createDatabase("kong");
    process.env.KONG_PG_PASSWORD = s.password;
    db = { host: s.host, port: s.port, database: s.database, user: s.user, schema: "", ssl: "off" };
    dir = mkdtempSync(join(tmpdir(), "kong-gw-view-"));
    for (const sql of [
      "CREATE TABLE services (name text PRIMARY KEY)",
      "CREATE TABLE cluster_events (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), channel text, at timestamptz NOT NULL DEFAULT now())",
      "INSERT INTO services VALUES ('a'), ('b'), ('c')",
      "INSERT INTO cluster_events (channel) VALUES ('invalidations')",
    ]) {
      await pg.query("kong", sql);
    }
    await pg.query("kong", "ALTER TABLE services OWNER TO kong");
    await pg.query("kong", "ALTER TABLE cluster_events OWNER TO kong");
  });

  after(async () => {
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a write committed after the view opened is in neither its counts, its mark nor a dump of its snapshot; writesSince counts it", async () => {
    const view = await openBackupView(db);
    try {
      assert.ok(view.snapshot, "the server exports the snapshot pg_dump imports");
      assert.ok(view.serverVersionNum >= 100000 && view.bytes > 0);
      await write("d");
      const counts = await view.counts();
      assert.equal(counts.services, 3, "the counts are the view's, not the database's now");
      assert.equal(counts.cluster_events, 1);
      const mark = await view.mark();
      assert.equal(mark?.ids.length, 1, "the mark lists only the event the view sees");
      const dump = join(dir, "view.dump");
      execFileSync(
        "pg_dump",
        ["-h", db.host, "-p", String(db.port), "-U", db.user, "-d", db.database, "-Fc"].concat([
          "--snapshot",
          view.snapshot!,
          "-f",
          dump,
        ]),
        { env: env() },
      );
      assert.equal(await restoredServices(dump, "kong_view"), 3, "the dump is the view's moment");
      assert.equal(await writesSince(db, mark!), 1, "the write after the view is seen as a write");
    } finally {
      await view.close();
    }
  });

  it("takeBackup: the manifest's counts are the dump's, with its write mark and the seconds until it was read back", async () => {
    const spec: BackupSpec = { dir, verify: "list", retention: 5, minFreeBytes: 0 };
    const m = await takeBackup(db, spec, { cluster: "kong", from: "3.5.0", to: "3.6.0" });
    const now = await tableCounts(db);
    assert.deepEqual(m.tables, now);
    assert.equal(await restoredServices(m.path, "kong_taken"), now.services);
    assert.ok(m.writeMark && m.writeMark.ids.length === now.cluster_events);
    assert.equal(await writesSince(db, m.writeMark), 0);
    assert.ok(m.dumpSeconds > 0 && m.dumpSeconds < 60, `dumpSeconds ${m.dumpSeconds}`);
    const toc = execFileSync("pg_restore", ["--list", m.path]).toString();
    assert.match(
      toc,
      /^;\s+Compression: 1$/m,
      "zlib's fastest level: the outage waits for the dump",
    );
  });

  it("a connection opened early (before the outage) carries the view; one that died meanwhile is replaced", async () => {
    const backend = (c: import("pg").Client) =>
      c.query<{ p: number }>("SELECT pg_backend_pid() AS p").then((r) => r.rows[0]!.p);
    const early = connectEarly(db);
    const client = (await early)!;
    const pid = await backend(client);
    const view = await openBackupView(db, early);
    try {
      assert.ok(view.snapshot);
      const rows = await pg.query<{ p: number }>(
        "postgres",
        "SELECT pid AS p FROM pg_stat_activity WHERE backend_xid IS NULL AND backend_xmin IS NOT NULL AND pid = $1",
        [pid],
      );
      assert.equal(rows[0]?.p, pid, "the view's snapshot is held on the early connection");
    } finally {
      await view.close();
    }
    const dead = connectEarly(db);
    const deadPid = await backend((await dead)!);
    await pg.query("postgres", "SELECT pg_terminate_backend($1)", [deadPid]);
    const again = await openBackupView(db, dead);
    try {
      assert.ok(again.snapshot, "a new connection took over");
      assert.equal((await again.counts()).services! >= 3, true);
    } finally {
      await again.close();
    }
  });
});
