/**
 * Issue scenario 7: the `pulumi up` process group is killed (as a lost CI runner or a crashed
 * laptop would) during the backup and during `kong migrations up`; the recovery the README gives
 * (`pulumi cancel`, `pulumi refresh --clear-pending-creates`, then `pulumi up`) converges with
 * nothing lost.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalWorkspace } from "@pulumi/pulumi/automation";
import { seed } from "../../scripts/seed";
import {
  adminVersion,
  cli,
  entityCounts,
  LastUpgrade,
  outputs,
  progress,
  spawnCli,
  sql,
} from "../support/e2e";
import { createKongStack, KongStack } from "../support/kongStack";

/**
 * Starts `pulumi up` in its own process group and kills the whole group as soon as `inStep`
 * reports the state that proves the step is under way (a dump without its manifest, the
 * migrations lock row), so the kill lands inside the step whatever the machine's speed. Returns
 * that state, for the test to check it is still there after the kill.
 */
async function killUpWhen(
  ks: KongStack,
  step: string,
  inStep: () => Promise<string | undefined>,
): Promise<string> {
  const { child, done } = spawnCli(ks, ["up", "--yes", "--skip-preview"]);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const state = await inStep();
    if (state !== undefined) {
      progress(`crash: killing the pulumi up process group during ${step} (${state})`);
      process.kill(-child.pid!, "SIGKILL");
      await done;
      return state;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  process.kill(-child.pid!, "SIGKILL");
  throw new Error(`${step} never ran`);
}

/** A dump in the backup directory that has no manifest yet: the backup step is under way. */
function unfinishedDump(ks: KongStack): string | undefined {
  const dir = join(ks.stateDir, "backups");
  if (!existsSync(dir)) {
    return undefined;
  }
  const files = readdirSync(dir);
  return files.find(
    (f) =>
      /\.dump(\.partial)?$/.test(f) && !files.includes(f.replace(/\.dump(\.partial)?$/, ".json")),
  );
}

/** The row of the migrations lock (KONG.md §2), when some `kong migrations` holds it. */
async function migrationsLock(ks: KongStack): Promise<string | undefined> {
  const rows = await sql<{ owner: string }>(
    ks,
    "SELECT owner FROM locks WHERE key = 'migrations'",
  ).catch(() => []);
  return rows.length > 0 ? `locks row 'migrations' held by ${rows[0]!.owner}` : undefined;
}

/** The README's recovery: release the killed run's lock, clear its pending operation, then up. */
async function recover(ks: KongStack): Promise<void> {
  const locked = cli(ks, ["refresh", "--yes", "--skip-preview"]);
  assert.match(locked.output, /the stack is currently locked/, "the killed run left its lock");
  const cancel = cli(ks, ["cancel", "--yes"]);
  assert.equal(cancel.status, 0, cancel.output);
  const refresh = cli(ks, ["refresh", "--clear-pending-creates", "--yes", "--skip-preview"]);
  assert.equal(refresh.status, 0, refresh.output);
  const res = await ks.stack.up();
  assert.equal(res.summary.result, "succeeded");
}

describe(
  "an interrupted pulumi up converges after the documented recovery",
  { timeout: 900_000 },
  () => {
    let ks: KongStack;
    let seeded: Record<string, number>;

    before(async () => {
      ks = await createKongStack("crash", "3.4.2", {
        "kong-gateway:nodes": 1,
        "kong-gateway:backup": { verify: "restore" },
        "kong-gateway:timeouts": { lockTimeoutSeconds: 5 },
      });
      progress("crash: fresh install of 3.4.2");
      await ks.stack.up();
      await seed(ks.adminUrl(0), { services: 60, consumers: 60 });
      seeded = await entityCounts(ks);
    });

    after(async () => {
      await ks?.dispose();
    });

    it("killed during the backup: refresh --clear-pending-creates, up, and the upgrade completes", async () => {
      await ks.setVersion("3.5.0");
      const dump = await killUpWhen(ks, "the backup", async () => unfinishedDump(ks));
      assert.equal(
        unfinishedDump(ks),
        dump,
        "the kill landed in the backup: its dump has no manifest",
      );
      const state = await ks.stack.exportStack();
      const pending =
        (state.deployment as { pending_operations?: unknown[] }).pending_operations ?? [];
      assert.ok(pending.length > 0, "the killed run left a pending operation");
      progress("crash: recovering");
      await recover(ks);
      const report = (await outputs(ks.stack)).lastUpgrade as LastUpgrade;
      assert.equal(`${report.from} → ${report.to} ${report.outcome}`, "3.4.2 → 3.5.0 succeeded");
      assert.equal(await adminVersion(ks), "3.5.0");
      assert.deepEqual(await entityCounts(ks), seeded);
    });

    it("killed during kong migrations up: the lock expires, list decides, and the upgrade completes", async () => {
      await ks.setVersion("3.6.0");
      const ws = ks.stack.workspace as LocalWorkspace;
      ws.envVars.KONG_SIM_SLOW_MIGRATION = "*:400";
      await killUpWhen(ks, "kong migrations up", () => migrationsLock(ks));
      assert.ok(await migrationsLock(ks), "the kill landed in migrations up: its lock row is left");
      delete ws.envVars.KONG_SIM_SLOW_MIGRATION;
      progress("crash: recovering");
      await recover(ks);
      assert.equal(await adminVersion(ks), "3.6.0");
      assert.deepEqual(await entityCounts(ks), seeded);
      const rows = await sql<{ c: { redis: { host: string }; redis_host: string } }>(
        ks,
        "SELECT config AS c FROM plugins WHERE name = 'rate-limiting'",
      );
      assert.ok(rows.length === 60 && rows.every((r) => r.c.redis.host === r.c.redis_host));
    });
  },
);
