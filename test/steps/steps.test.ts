/**
 * The step runner's steps against a real PostgreSQL and the Kong stand-in, without Pulumi: each
 * step succeeds, a re-run of a step that already succeeded changes nothing, and a failure after
 * the stop rolls back to the backed-up data with the old nodes serving again.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { entries } from "../../components/state/journal";
import { automaticRollback } from "../../components/runner/steps/rollback";
import { StepSpec } from "../../components/contract/spec";
import * as steps from "../../components/runner/steps/chain";
import { seed } from "../../scripts/seed";
import type { PostgresServer } from "../support/postgres";
import { oneNodeSpec, stepWorld, stopStepWorld, type SpecBase } from "../support/runner";

describe("steps on a real database", { timeout: 300_000 }, () => {
  let pg: PostgresServer;
  let dir: string;
  let base: SpecBase;
  let bins: Record<string, string> = {};

  const spec = (kind: StepSpec["kind"], to: string, from?: string, generation = 1): StepSpec =>
    oneNodeSpec(
      base,
      kind,
      to,
      { kongBin: bins[to]!, port: basePort },
      { generation, ...(from ? { from } : {}) },
    );
  let basePort = 0;
  const count = async (t: string) =>
    (await pg.query<{ n: number }>("kong", `SELECT count(*)::int AS n FROM ${t}`))[0]!.n;

  before(async () => {
    const world = await stepWorld("steps", ["3.5.0", "3.6.0", "3.7.0"]);
    ({ pg, dir, bins, base } = world);
    basePort = world.port;
  });

  after(() =>
    stopStepWorld(pg, [
      spec("install", "3.5.0"),
      spec("upgrade", "3.6.0", "3.5.0"),
      spec("upgrade", "3.7.0", "3.6.0", 1),
    ]),
  );

  it("installs 3.5.0: every step, then every step again changes nothing", async () => {
    const s = spec("install", "3.5.0");
    await steps.preflight(s);
    assert.deepEqual(await steps.stop(s), {
      stopped: [],
      note: "no other node of this cluster was running",
    });
    assert.match(String((await steps.backup(s)).skipped), /not bootstrapped/);
    assert.deepEqual(await steps.migrationsUp(s), { state: "up-to-date", ran: true });
    assert.deepEqual(await steps.migrationsFinish(s), { state: "up-to-date", ran: false });
    const started = await steps.nodeStart(s, "node-0");
    assert.equal(started.alreadyRunning, false);
    await steps.verify(s);
    // Re-runs after success: nothing new happens.
    assert.deepEqual(await steps.migrationsUp(s), { state: "up-to-date", ran: false });
    assert.equal((await steps.nodeStart(s, "node-0")).alreadyRunning, true);
    await steps.verify(s);
    const changed = { ...s, plugins: "key-auth,rate-limiting" };
    assert.equal(
      (await steps.nodeStart(changed, "node-0")).alreadyRunning,
      false,
      "restarted: its plugins changed",
    );
    assert.equal((await steps.nodeStart(changed, "node-0")).alreadyRunning, true);
    assert.equal((await steps.nodeStart(s, "node-0")).alreadyRunning, false);
    await seed(s.nodes[0]!.adminUrl, { services: 30, consumers: 30 });
  });

  it("preflight refuses before anything stops: closed window, missing binary, bad configuration", async () => {
    const s = spec("upgrade", "3.6.0", "3.5.0");
    const closed = (() => {
      const d = new Date(Date.now() + 6 * 3600_000);
      const hh = String(d.getUTCHours()).padStart(2, "0");
      return `daily ${hh}:00-${hh}:30 UTC`;
    })();
    const refusal = (x: StepSpec) =>
      steps.preflight(x).then(
        () => "",
        (e: Error) => e.message,
      );
    assert.match(await refusal({ ...s, maintenanceWindows: [closed] }), /outside every window/);
    const missing = { ...s, nodes: [{ ...s.nodes[0]!, kongBin: join(dir, "nope", "kong") }] };
    assert.match(await refusal(missing), /nope\/kong does not exist: install it first/);
    const badConf = { ...s, nodes: [{ ...s.nodes[0]!, proxyListen: "not-a-listener" }] };
    assert.match(
      await refusal(badConf),
      /rejects the nodes' configuration: kong check exited 1: Error: /,
    );
    for (const m of [await refusal({ ...s, maintenanceWindows: [closed] })]) {
      assert.match(m, /nothing was stopped or written/);
    }
    const root = (await (await fetch(`${s.nodes[0]!.adminUrl}/`)).json()) as { version: string };
    assert.equal(root.version, "3.5.0", "X still serves after every refusal");
  });

  it("upgrades 3.5.0 → 3.6.0 with a verified 0600 backup; re-running the steps is harmless", async () => {
    const s = spec("upgrade", "3.6.0", "3.5.0");
    const pre = await steps.preflight(s);
    assert.equal(pre.migrationState, "new");
    const stopped = await steps.stop(s);
    assert.deepEqual(stopped.stopped, ["node-0@3.5.0"]);
    const b = (await steps.backup(s)).backup as { path: string; sha256: string };
    assert.equal(statSync(b.path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "backups")).mode & 0o777, 0o700);
    assert.match(b.sha256, /^[0-9a-f]{64}$/);
    // `up` is confirmed by its own totals line (printed only by the process that migrated).
    assert.deepEqual(await steps.migrationsUp(s), {
      state: "migrated",
      ran: true,
      confirmedBy: "its totals line",
    });
    assert.deepEqual(
      await steps.migrationsUp(s),
      { state: "up-to-date", ran: false },
      "never re-runs up",
    );
    await steps.migrationsFinish(s);
    await steps.nodeStart(s, "node-0");
    await steps.verify(s);
    assert.deepEqual(
      await steps.stop(s),
      { stopped: [], note: "no other node of this cluster was running" },
      "X stays stopped",
    );
    const rows = await pg.query<{ c: { redis: { host: string }; redis_host: string } }>(
      "kong",
      "SELECT config AS c FROM plugins WHERE name = 'rate-limiting'",
    );
    assert.ok(rows.length === 30 && rows.every((r) => r.c.redis.host === r.c.redis_host));
  });

  it("keeps the newest backups up to the retention count, never deleting the one just taken", async () => {
    const s = {
      ...spec("upgrade", "3.6.0", "3.5.0"),
      backup: { ...base.backup, dir: join(dir, "retention"), retention: 2 },
    };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(((await steps.backup(s)).backup as { id: string }).id);
      // Ids carry the second they were taken: the next one is taken in a later second.
      const second = Math.floor(Date.now() / 1000);
      while (Math.floor(Date.now() / 1000) === second) {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const { catalog } = await import("../../components/state/catalog");
    assert.deepEqual(
      catalog(s.backup.dir, "kong").map((m) => m.id),
      ids.slice(1),
    );
  });

  it("a crash in migrations finish rolls back: data restored, 3.6.0 serves again", async () => {
    const s = spec("upgrade", "3.7.0", "3.6.0");
    const services = await count("services");
    await steps.preflight(s);
    await steps.stop(s);
    await steps.backup(s);
    // The run.ts wrapper journals each step; the rollback reads the backup from the journal.
    const { record } = await import("../../components/state/journal");
    const b = await steps.backup(s);
    record(s, {
      step: "backup",
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      seconds: 0,
      ok: true,
      details: b,
    });
    await steps.migrationsUp(s);
    process.env.KONG_SIM_FAIL_MIGRATION = "ai-proxy/001_360_to_370:teardown";
    const err = await steps.migrationsFinish(s).then(
      () => undefined,
      (e: Error) => e,
    );
    delete process.env.KONG_SIM_FAIL_MIGRATION;
    assert.ok(err, "finish must fail");
    assert.match(err.message, /failed to run migration '001_360_to_370' teardown/);
    const message = await automaticRollback(s, "migrations-finish", err);
    assert.match(message, /Automatic rollback completed/);
    assert.match(message, /restored backup kong-3\.6\.0-to-3\.7\.0-/);
    assert.match(message, /started Kong 3\.6\.0 again on node-0/);
    const root = (await (
      await fetch(`${spec("upgrade", "3.6.0").nodes[0]!.adminUrl}/`)
    ).json()) as { version: string };
    assert.equal(root.version, "3.6.0");
    assert.equal(await count("services"), services);
    const meta = await pg.query<{ pending: string[] | null }>(
      "kong",
      "SELECT pending FROM schema_meta WHERE subsystem = 'ai-proxy'",
    );
    assert.equal(meta.length, 0, "3.7's migrations are gone with the restore");
    const list = execFileSync(bins["3.6.0"]!, ["migrations", "list"], {
      env: {
        ...process.env,
        KONG_PG_HOST: base.database.host,
        KONG_PG_PORT: String(base.database.port),
        KONG_PG_USER: "kong",
      },
    });
    assert.match(list.toString(), /Executed migrations/);
    assert.equal(entries(s).at(-1)?.step, "rollback");
    assert.ok(existsSync(join(dir, "attempts.json")));
  });
});
