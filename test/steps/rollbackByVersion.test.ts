/**
 * Rollback by version (kong-gateway:version set back after an upgrade), through the real step
 * runner (`components/runner/run.ts` as the command resources run it) on a real PostgreSQL and the
 * Kong stand-in: preflight checks the backup to restore before anything stops; the database as the
 * newer version left it is dumped before the restore, so writes made through it are kept, not
 * lost; a rollback that fails after the stop puts the newer version and its data back.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { catalog } from "../../components/state/catalog";
import { StepSpec } from "../../components/contract/spec";
import { seed } from "../../scripts/seed";
import type { PostgresServer } from "../support/postgres";
import { versionAt } from "../support/e2e";
import {
  chain,
  ONE_NODE_CHAIN,
  oneNodeSpec,
  runner,
  runnerChain,
  stepWorld,
  stopStepWorld,
  type SpecBase,
} from "../support/runner";

describe("rollback by version through the step runner", { timeout: 300_000 }, () => {
  let pg: PostgresServer;
  let password: string;
  let basePort = 0;
  let base: SpecBase;
  let bins: Record<string, string> = {};

  const spec = (
    kind: StepSpec["kind"],
    to: string,
    from?: string,
    extra: Partial<StepSpec> = {},
  ): StepSpec =>
    // Each version on its own ports, as two clusters of one stack are.
    oneNodeSpec(
      base,
      kind,
      to,
      { kongBin: bins[to]!, port: basePort + (to === "3.5.0" ? 0 : 10) },
      { ...(from ? { from } : {}), ...extra },
    );

  const run = (s: StepSpec, step: string, arg?: string) => runner(s, password, step, arg);
  const runChain = (s: StepSpec, steps: readonly string[]) => chain(s, password, steps);

  const adminVersion = (s: StepSpec) => versionAt(s.nodes[0]!.adminUrl);

  /** Runs `fn` while the backup file at `path` is damaged, then puts its bytes back. */
  const whileDamaged = async <T>(path: string, fn: () => Promise<T>): Promise<T> => {
    copyFileSync(path, `${path}.good`);
    writeFileSync(path, "not a dump");
    try {
      return await fn();
    } finally {
      copyFileSync(`${path}.good`, path);
    }
  };

  const consumers = async (): Promise<string[]> =>
    (
      await pg.query<{ username: string }>(
        "kong",
        "SELECT username FROM consumers WHERE username LIKE 'after-upgrade-%' ORDER BY username",
      )
    ).map((r) => r.username);

  /** The usernames a backup archive holds (its data read back with pg_restore). */
  const inArchive = (path: string): string[] =>
    [
      ...execFileSync("pg_restore", ["-f", "-", "--data-only", "-t", "consumers", path])
        .toString()
        .matchAll(/after-upgrade-\d+/g),
    ].map((m) => m[0]);

  const upgradeBackup = () =>
    catalog(base.backup.dir, "kong").find(
      (m) => m.fromVersion === "3.5.0" && m.toVersion === "3.6.0",
    )!;

  const ROLLBACK = runnerChain("rollback", 1);

  before(async () => {
    const world = await stepWorld("rollback", ["3.5.0", "3.6.0"], {
      // Retention 1: the rollback's own backup must not prune the one it restores.
      backup: { retention: 1 },
      // Every step here runs through runner(), which hands each command the password itself.
      passwordInEnv: false,
    });
    ({ pg, password, bins, base } = world);
    basePort = world.port;
    await runChain(spec("install", "3.5.0"), ONE_NODE_CHAIN);
    await seed(spec("install", "3.5.0").nodes[0]!.adminUrl, { services: 10, consumers: 10 });
    await runChain(spec("upgrade", "3.6.0", "3.5.0"), ONE_NODE_CHAIN);
    // Writes through Y after the upgrade: the upgrade's backup does not have them.
    for (const i of [1, 2]) {
      const r = await fetch(`${spec("upgrade", "3.6.0").nodes[0]!.adminUrl}/consumers`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: `after-upgrade-${i}` }),
      });
      assert.equal(r.status, 201);
    }
  });

  after(() =>
    stopStepWorld(pg, [spec("rollback", "3.5.0", "3.6.0"), spec("upgrade", "3.6.0", "3.5.0")]),
  );

  it("preflight refuses a damaged or missing backup before anything stops", async () => {
    const b = upgradeBackup();
    const s = spec("rollback", "3.5.0", "3.6.0", { restoreBackupId: b.id });
    const damaged = await whileDamaged(b.path, () => run(s, "preflight"));
    assert.equal(damaged.code, 1);
    assert.match(
      damaged.stderr,
      /preflight refused the change 3\.6\.0 → 3\.5\.0; nothing was stopped or written:\n {2}- the backup file .* does not match its manifest \(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\); refusing to roll back onto a damaged backup/,
    );
    const missing = await run({ ...s, restoreBackupId: "kong-3.5.0-to-3.6.0-nope" }, "preflight");
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /backup kong-3\.5\.0-to-3\.6\.0-nope is not in .*; the rollback cannot restore it/,
    );
    assert.equal(await adminVersion(spec("upgrade", "3.6.0")), "3.6.0", "Y still serves");
    assert.deepEqual(await consumers(), ["after-upgrade-1", "after-upgrade-2"]);
  });

  it("a rollback that fails after the stop puts Kong 3.6.0 and everything written through it back", async () => {
    const b = upgradeBackup();
    const s = spec("rollback", "3.5.0", "3.6.0", { restoreBackupId: b.id });
    await runChain(s, ["preflight", "stop", "backup"]);
    // The backup to restore is damaged after preflight looked at it (a disk, a person).
    const r = await whileDamaged(b.path, () => run(s, "restore"));
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /kong-gateway: the rollback 3\.6\.0 → 3\.5\.0 failed in step "restore": backup file .* does not match its manifest/,
    );
    assert.match(
      r.stderr,
      /Automatic rollback completed:\n {2}- stopped the Kong 3\.5\.0 nodes \(node-0\)\n {2}- restored backup kong-3\.6\.0-to-3\.5\.0-/,
    );
    assert.match(r.stderr, /started Kong 3\.6\.0 again on node-0 and verified it serves/);
    assert.match(
      r.stderr,
      /The database is as Kong 3\.6\.0 left it; nothing written through it was lost\./,
    );
    assert.match(r.stderr, /the rollback restarts from preflight as attempt 2/);
    assert.equal(await adminVersion(spec("upgrade", "3.6.0")), "3.6.0");
    assert.deepEqual(await consumers(), ["after-upgrade-1", "after-upgrade-2"]);
  });

  it("rolls back 3.6.0 → 3.5.0: the restored database is the upgrade's, Y's writes are kept in the rollback's own backup", async () => {
    const b = upgradeBackup();
    const s = spec("rollback", "3.5.0", "3.6.0", { restoreBackupId: b.id, generation: 2 });
    const results = await runChain(s, ROLLBACK);
    assert.equal(await adminVersion(s), "3.5.0");
    assert.deepEqual(await consumers(), [], "the database is the one of before the upgrade");
    const restore = results[3]!;
    assert.match(
      restore.stderr,
      /restore: restored kong-3\.5\.0-to-3\.6\.0-\S+; the database as 3\.6\.0 left it is kept in (\S+kong-3\.6\.0-to-3\.5\.0-\S+\.dump) \(it differs in consumers 12 → 10\)/,
    );
    const report = JSON.parse(/KONG_GW_REPORT (.*)/.exec(results.at(-1)!.stdout)![1]!) as {
      lastUpgrade: {
        kind: string;
        steps: { name: string }[];
        backup: { path: string };
        restored: { id: string };
      };
    };
    assert.equal(report.lastUpgrade.kind, "rollback");
    assert.deepEqual(
      report.lastUpgrade.steps.map((st) => st.name),
      ["preflight", "stop", "backup", "restore", "start", "verify"],
    );
    assert.equal(report.lastUpgrade.restored.id, b.id);
    assert.deepEqual(
      inArchive(report.lastUpgrade.backup.path),
      ["after-upgrade-1", "after-upgrade-2"],
      "what was written through 3.6.0 is in the rollback's backup",
    );
    const kept = catalog(base.backup.dir, "kong").map((m) => `${m.fromVersion}->${m.toVersion}`);
    assert.ok(
      kept.includes("3.5.0->3.6.0"),
      `retention 1 kept the restored backup: ${kept.join(", ")}`,
    );
  });
});
