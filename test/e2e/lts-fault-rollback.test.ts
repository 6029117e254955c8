/**
 * Issue scenarios 3, 4, 5 and 6 on one stack: the LTS hop 2.8 → 3.4 first fails in `migrations
 * finish` (fault injected into the stand-in) and rolls back automatically to exactly the
 * pre-upgrade data, then succeeds with its pending migrations finished; a hop Kong does not
 * guarantee is refused by preview; and setting the version back restores the upgrade's backup.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalWorkspace } from "@pulumi/pulumi/automation";
import { seed } from "../../scripts/seed";
import {
  adminVersion,
  dataHash,
  dumpDiff,
  E2E_PASSWORD,
  entityCounts,
  LastUpgrade,
  outputs,
  progress,
  resourceNames,
  status,
} from "../support/e2e";
import { createKongStack, KongStack } from "../support/kongStack";

const FAULT = "KONG_SIM_FAIL_MIGRATION";

describe(
  "LTS hop, automatic rollback, refused hop, rollback by version",
  { timeout: 900_000 },
  () => {
    let ks: KongStack;
    let preUpgrade: string;
    let seeded: Record<string, number>;

    before(async () => {
      ks = await createKongStack("lts", "2.8.4");
    });

    after(async () => {
      progress("lts: destroying the stack");
      await ks?.dispose();
    });

    it("installs 2.8.4 and seeds it", async () => {
      progress("lts: fresh install of 2.8.4");
      await ks.stack.up();
      assert.equal(await adminVersion(ks), "2.8.4");
      await seed(ks.adminUrl(0), { services: 40, consumers: 80 });
      seeded = await entityCounts(ks);
      preUpgrade = dataHash(ks);
    });

    it("5. a teardown crash in migrations finish rolls back to exactly the pre-upgrade data; X serves again", async () => {
      await ks.setVersion("3.4.2");
      (ks.stack.workspace as LocalWorkspace).envVars[FAULT] = "core/016_280_to_300:teardown";
      progress("lts: up 2.8.4 → 3.4.2 with a crash injected into core/016_280_to_300's teardown");
      const err = await ks.stack.up().then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(err, "the update must fail");
      const text = err.message;
      assert.match(text, /step "migrations-finish"/);
      assert.match(text, /Automatic rollback completed/);
      assert.match(
        text,
        /restored backup kong-2\.8\.4-to-3\.4\.2-\S+ \(sha256 [0-9a-f]{12}…, \d+ tables, \d+ rows, identical to the backup\)/,
      );
      assert.match(text, /started Kong 2\.8\.4 again on node-0, node-1/);
      assert.match(
        text,
        /run 'pulumi up' again \(the upgrade restarts from preflight as attempt 2\)/,
      );
      assert.equal(await adminVersion(ks, 0), "2.8.4");
      assert.equal(await adminVersion(ks, 1), "2.8.4");
      assert.equal(await status(`${ks.proxyUrl(0)}/svc-3`), 200);
      const after = dataHash(ks);
      assert.equal(
        after,
        preUpgrade,
        `the database holds exactly the pre-upgrade data:\n${dumpDiff(preUpgrade, after)}`,
      );
      assert.equal((await outputs(ks.stack)).version, "2.8.4");
    });

    it("3. after removing the fault, up completes the LTS hop with its pending migrations finished", async () => {
      delete (ks.stack.workspace as LocalWorkspace).envVars[FAULT];
      progress("lts: up 2.8.4 → 3.4.2 again");
      const res = await ks.stack.up();
      assert.equal(res.summary.result, "succeeded");
      const report = (await outputs(ks.stack)).lastUpgrade as LastUpgrade;
      assert.equal(report.outcome, "succeeded");
      assert.equal(`${report.from} → ${report.to}`, "2.8.4 → 3.4.2");
      assert.equal(await adminVersion(ks, 1), "3.4.2");
      const kong = join(ks.stateDir, "kong", "3.4.2", "bin", "kong");
      const env = {
        ...process.env,
        KONG_DATABASE: "postgres",
        KONG_PG_HOST: "127.0.0.1",
        KONG_PG_PORT: String(ks.dbPort),
        KONG_PG_PASSWORD: E2E_PASSWORD,
      };
      const list = execFileSync(kong, ["migrations", "list"], { env }).toString();
      assert.doesNotMatch(
        list,
        /Pending migrations|New migrations/,
        "nothing is left pending or new",
      );
      assert.deepEqual(await entityCounts(ks), seeded);
      const names = await resourceNames(ks.stack);
      assert.ok(names.includes("kong-upgrade-3.4.2-preflight"));
      assert.ok(!names.some((n) => n.startsWith("kong-2.8.4")), "2.8.4's nodes are decommissioned");
    });

    it("4. preview and up refuse 3.4 → 3.7 with the route; nothing stopped, written or deleted", async () => {
      const before = dataHash(ks);
      const resources = await resourceNames(ks.stack);
      await ks.setVersion("3.7.0");
      const err = await ks.stack.preview().then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(err, "preview must fail");
      assert.match(
        err.message,
        /kong-gateway:version 3\.4\.2 → 3\.7\.0 is not a guaranteed upgrade path; upgrade through 3\.5 → 3\.6 → 3\.7, one pulumi up each/,
      );
      const upErr = await ks.stack.up().then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(upErr, "up must fail too");
      assert.match(upErr.message, /is not a guaranteed upgrade path/);
      assert.equal(await adminVersion(ks), "3.4.2");
      const now = dataHash(ks);
      assert.equal(
        now,
        before,
        `nothing written by the refused preview:\n${dumpDiff(before, now)}`,
      );
      assert.deepEqual(await resourceNames(ks.stack), resources);
    });

    it("6. setting the version back restores the upgrade's backup and X serves the pre-upgrade data; what 3.4 wrote is kept", async () => {
      // A write through Y after the upgrade: not in the upgrade's backup.
      const wrote = await fetch(`${ks.adminUrl(0)}/consumers`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "written-through-3.4" }),
      });
      assert.equal(wrote.status, 201);
      await ks.setVersion("2.8.4");
      const preview = await ks.stack.preview();
      assert.match(preview.stdout, /Kong 3\.4\.2 → 2\.8\.4: rollback by restore/);
      assert.match(
        preview.stdout,
        /anything written through 3\.4\.2 since then will not be in it; the rollback first dumps the database as 3\.4\.2 left it to \S+kong-3\.4\.2-to-2\.8\.4-<timestamp>\.dump, so those writes are kept there, not lost/,
      );
      progress("lts: rollback by version 3.4.2 → 2.8.4");
      const res = await ks.stack.up();
      assert.equal(res.summary.result, "succeeded");
      const report = (await outputs(ks.stack)).lastUpgrade as LastUpgrade;
      assert.deepEqual(
        report.steps.map((s) => s.name),
        ["preflight", "stop", "backup", "restore", "start", "verify"],
      );
      assert.equal(await adminVersion(ks, 0), "2.8.4");
      const restored = dataHash(ks);
      assert.equal(
        restored,
        preUpgrade,
        `the data equals the pre-upgrade backup:\n${dumpDiff(preUpgrade, restored)}`,
      );
      assert.equal(await status(`${ks.proxyUrl(1)}/svc-39`), 200);
      // The rollback's own backup (taken after 3.4 stopped) holds the write the restore left out.
      const kept = report.backup as NonNullable<LastUpgrade["backup"]>;
      assert.match(kept.id, /-3\.4\.2-to-2\.8\.4-/);
      const consumers = execFileSync("pg_restore", [
        "-f",
        "-",
        "--data-only",
        "-t",
        "consumers",
        kept.path,
      ]);
      assert.match(consumers.toString(), /written-through-3\.4/);
      assert.match(report.restored?.id ?? "", /-2\.8\.4-to-3\.4\.2-/);
    });
  },
);
