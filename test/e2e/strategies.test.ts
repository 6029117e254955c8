/**
 * Upgrade strategies (issue 14) through the real engine on one local stack of 2 nodes:
 * - preview refuses `rolling` on a minor hop without allowMixedVersions, and an `in-place`
 *   preview names what the other strategies would cost;
 * - `prepared`: a configuration write made through X after the backup (while `up` runs) is
 *   detected and backed up again after the stop; a crash in `finish` restores THAT backup, so the
 *   write survives; a failed `verify` restarts X with no restore at all;
 * - `prepared` succeeds with an outage (external prober on both proxies) within the reported one
 *   and the configuration tables as before;
 * - `rolling` on a patch hop succeeds with no outage for a client that tries both nodes.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dump, load } from "js-yaml";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalWorkspace } from "@pulumi/pulumi/automation";
import { seed } from "../../scripts/seed";
import { adminVersion, LastUpgrade, outputs, progress, sql, status } from "../support/e2e";
import { createKongStack, KongStack } from "../support/kongStack";
import { longestOutage, startProber } from "../support/prober";

const PREPARED = [
  "preflight",
  "backup",
  "migrations-up",
  "stop",
  "start",
  "verify",
  "migrations-finish",
];

/** A hash of the configuration tables no 3.5 → 3.6 migration rewrites. */
async function configHash(ks: KongStack): Promise<string> {
  const parts: string[] = [];
  for (const t of ["services", "routes", "consumers", "keyauth_credentials"]) {
    const rows = await sql<{ h: string }>(
      ks,
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) AS h FROM ${t} t`,
    );
    parts.push(`${t}:${rows[0]?.h}`);
  }
  return parts.join(" ");
}

/** Creates a service through node 0's Admin API (a configuration write, as a user makes one). */
async function writeService(ks: KongStack, name: string): Promise<void> {
  const res = await fetch(`${ks.adminUrl(0)}/services`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, url: "http://127.0.0.1:9/" }),
  });
  assert.equal(res.status, 201, `POST /services ${name}: ${await res.text()}`);
}

/**
 * Waits (on the journal, not a clock) until this attempt's backup step is recorded; fails as soon
 * as `up` ends before it.
 */
async function untilBackedUp(ks: KongStack, attempt: string, up: Promise<string>): Promise<void> {
  let ended: string | undefined;
  void up.then((text) => (ended = text));
  const file = join(ks.stateDir, "journal", `kong-${attempt}.jsonl`);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (ended !== undefined) {
      throw new Error(`the update ended before its backup:\n${ended}`);
    }
    if (existsSync(file) && /"step":"backup","[^\n]*"ok":true/.test(readFileSync(file, "utf8"))) {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no backup entry in ${file} after 120 s`);
}

interface Entry {
  step: string;
  ok: boolean;
  details?: { writesSinceBackup?: number; backup?: { id: string } };
}

function journal(ks: KongStack, attempt: string): Entry[] {
  const file = join(ks.stateDir, "journal", `kong-${attempt}.jsonl`);
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Entry);
}

async function failingUp(ks: KongStack): Promise<string> {
  const err = await ks.stack.up().then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(err, "the update must fail");
  return err.message;
}

describe("upgrade strategies through the real engine", { timeout: 900_000 }, () => {
  let ks: KongStack;
  const env = () => (ks.stack.workspace as LocalWorkspace).envVars;

  before(async () => {
    ks = await createKongStack("strategies", "3.5.0", { "kong-gateway:strategy": "prepared" });
  });

  after(async () => {
    progress("strategies: destroying the stack");
    await ks?.dispose();
  });

  it("installs 3.5.0 and seeds it", async () => {
    progress("strategies: install 3.5.0");
    await ks.stack.up();
    await seed(ks.adminUrl(0), { services: 20, consumers: 40 });
  });

  it("preview refuses rolling on a minor hop without allowMixedVersions; in-place names the others' downtime", async () => {
    await ks.setVersion("3.6.1");
    await ks.stack.setConfig("kong-gateway:strategy", { value: "rolling" });
    const err = await ks.stack.preview().then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, "preview must refuse");
    assert.match(
      err.message,
      /kong-gateway:strategy rolling on a minor hop 3\.5\.0 → 3\.6\.1 .*Kong recommends mixed versions only between patch versions; set kong-gateway:allowMixedVersions true .*or use kong-gateway:strategy prepared/,
    );
    await ks.stack.setConfig("kong-gateway:allowMixedVersions", { value: "true" });
    const mixed = await ks.stack.preview();
    assert.match(mixed.stdout, /Kong recommends mixed versions only between patch versions/);
    assert.match(mixed.stdout, /Estimated downtime: none \(rolling/);
    await ks.stack.setConfig("kong-gateway:strategy", { value: "in-place" });
    const inPlace = await ks.stack.preview();
    assert.match(inPlace.stdout, /Strategy: in-place/);
    assert.match(inPlace.stdout, /with kong-gateway:strategy prepared: .* \(stop → start\)/);
    assert.match(inPlace.stdout, /with kong-gateway:strategy rolling: none/);
    await ks.stack.removeConfig("kong-gateway:allowMixedVersions");
    await ks.stack.setConfig("kong-gateway:strategy", { value: "prepared" });
    assert.equal(await adminVersion(ks, 0), "3.5.0", "preview changed nothing");
  });

  it("prepared: a write after the backup is backed up again after the stop; a crash in finish restores that backup, so the write survives", async () => {
    env().KONG_SIM_SLOW_MIGRATION = "core/022_350_to_360:3000";
    env().KONG_SIM_FAIL_MIGRATION = "opentelemetry/001_331_to_332:teardown";
    progress("strategies: prepared 3.5.0 → 3.6.1 with a write during 'up' and a crash in finish");
    const up = failingUp(ks);
    await untilBackedUp(ks, "upgrade-3.6.1-g1", up);
    await writeService(ks, "written-during-up");
    const text = await up;
    assert.match(text, /step "migrations-finish"/);
    assert.match(text, /Automatic rollback completed/);
    const j = journal(ks, "upgrade-3.6.1-g1");
    // The stop's last entry: journaled again once X's nodes are gone (its full details).
    const stop = j.filter((e) => e.step === "stop" && e.ok).at(-1);
    assert.ok((stop?.details?.writesSinceBackup ?? 0) >= 1, "the stop saw the write");
    const backups = j.filter((e) => e.step === "backup" && e.ok).map((e) => e.details?.backup?.id);
    assert.equal(backups.length, 2, "the fresh backup is journaled as this attempt's backup");
    assert.match(text, new RegExp(`restored backup ${backups[1]}`), "the fresh backup is restored");
    assert.equal(await adminVersion(ks, 0), "3.5.0");
    assert.equal(await adminVersion(ks, 1), "3.5.0");
    assert.equal(await status(`${ks.adminUrl(0)}/services/written-during-up`), 200);
  });

  it("prepared: a failed verify restarts X without a restore; a write made through X during 'up' survives", async () => {
    delete env().KONG_SIM_FAIL_MIGRATION;
    // An object setting, written into the stack file as a user would (YAML).
    const file = join(ks.stack.workspace.workDir, "stacks", "Pulumi.strategies.yaml");
    const doc = load(readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    doc.config["kong-gateway:probe"] = { path: "/", expectStatus: [418] };
    writeFileSync(file, dump(doc));
    progress("strategies: prepared 3.5.0 → 3.6.1 failing in verify");
    const up = failingUp(ks);
    await untilBackedUp(ks, "upgrade-3.6.1-g2", up);
    await writeService(ks, "written-before-verify");
    const text = await up;
    assert.match(text, /step "verify"/);
    assert.match(text, /kept the database as it is: 'kong migrations finish' had not run/);
    assert.doesNotMatch(text, /restored backup/);
    assert.ok(
      !journal(ks, "upgrade-3.6.1-g2").some((e) => e.step === "restore"),
      "nothing was restored",
    );
    assert.equal(await adminVersion(ks, 0), "3.5.0");
    assert.equal(await status(`${ks.adminUrl(0)}/services/written-before-verify`), 200);
    assert.equal(await status(`${ks.adminUrl(0)}/services/written-during-up`), 200);
  });

  it("prepared: succeeds; the outage is within the reported downtime and the configuration is as before", async () => {
    delete env().KONG_SIM_SLOW_MIGRATION;
    await ks.stack.removeConfig("kong-gateway:probe");
    const before = await configHash(ks);
    // Printed, not asserted (a shared machine): the estimate the preview gives for `prepared`.
    const preview = await ks.stack.preview();
    const estimate = /Estimated downtime \(stop → start\): ([^\n]*)/.exec(preview.stdout)?.[1];
    assert.ok(estimate, `preview prices the prepared outage:\n${preview.stdout}`);
    const prober = startProber([`${ks.proxyUrl(0)}/`, `${ks.proxyUrl(1)}/`], 20);
    progress("strategies: prepared 3.5.0 → 3.6.1");
    const res = await ks.stack.up();
    const outage = longestOutage(await prober.stop());
    assert.equal(res.summary.result, "succeeded");
    const report = (await outputs(ks.stack)).lastUpgrade as LastUpgrade;
    assert.deepEqual(
      report.steps.map((s) => s.name),
      PREPARED,
    );
    progress(
      `strategies: prepared outage ${outage}s, reported ${report.downtimeSeconds}s; preview estimated ${estimate}`,
    );
    assert.ok(outage > 0, "X stops before Y starts: some outage is seen");
    assert.ok(
      outage <= report.downtimeSeconds + 0.3,
      `prober outage ${outage}s within the reported ${report.downtimeSeconds}s (+ probe interval)`,
    );
    assert.equal(await configHash(ks), before);
    assert.equal(await adminVersion(ks, 1), "3.6.1");
  });

  it("rolling: a patch hop replaces one node at a time with no outage for a client that tries both", async () => {
    await ks.stack.setConfig("kong-gateway:strategy", { value: "rolling" });
    await ks.setVersion("3.6.2");
    const before = await configHash(ks);
    const prober = startProber([`${ks.proxyUrl(0)}/`, `${ks.proxyUrl(1)}/`], 20);
    progress("strategies: rolling 3.6.1 → 3.6.2");
    const res = await ks.stack.up();
    const probes = await prober.stop();
    assert.equal(res.summary.result, "succeeded");
    const report = (await outputs(ks.stack)).lastUpgrade as LastUpgrade;
    assert.deepEqual(
      report.steps.map((s) => s.name),
      ["preflight", "backup", "migrations-up", "start", "verify", "migrations-finish"],
    );
    assert.equal(report.downtimeSeconds, 0);
    assert.ok(probes.length > 20, `the prober ran (${probes.length} probes)`);
    assert.equal(longestOutage(probes), 0, "some node answered every probe");
    assert.equal(await configHash(ks), before);
    assert.equal(await adminVersion(ks, 0), "3.6.2");
    assert.equal(await adminVersion(ks, 1), "3.6.2");
  });
});
