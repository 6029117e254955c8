/**
 * Issue scenarios 1, 2 and 8 with the real engine: a fresh 3.4 install with seeded data, then
 * 3.4 → 3.5 → 3.6 by bumping the version, each checked against what users see: the preview,
 * the order of the steps, the outage an external prober measures, the data, a no-op second up,
 * and how close the second preview's estimate comes to the measured downtime.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { seed } from "../../scripts/seed";
import {
  adminVersion,
  dataHash,
  E2E_PASSWORD,
  entityCounts,
  LastUpgrade,
  outputs,
  progress,
  resourceNames,
  sql,
  status,
  UPGRADE_STEPS,
} from "../support/e2e";
import { eventually } from "../support/eventually";
import { CHAIN_ORDER } from "../../components/contract/steps";
import { createKongStack, KongStack } from "../support/kongStack";
import { longestOutage, startProber } from "../support/prober";

/** Parses `1m 05s` / `12s` / `0.8s` from the rendered plan. */
function parseDuration(text: string): number {
  const m = /(?:(\d+)m\s*)?([\d.]+)s/.exec(text);
  return m ? Number(m[1] ?? 0) * 60 + Number(m[2]) : NaN;
}

describe("a version bump upgrades in place (3.4 → 3.5 → 3.6)", { timeout: 900_000 }, () => {
  let ks: KongStack;
  let seeded: Record<string, number>;

  before(async () => {
    ks = await createKongStack("path", "3.4.2");
  });

  after(async () => {
    progress("path: destroying the stack");
    await ks?.dispose();
  });

  it("1. installs 3.4.2 on a fresh stack; the preview lists the steps it then reports; both nodes proxy; seeded through the Admin API", async () => {
    progress("path: fresh install of 3.4.2");
    const preview = await ks.stack.preview();
    const planned = [...preview.stdout.matchAll(/^\s+\d+\. ([a-z-]+)\s{2,}/gm)].map((m) => m[1]);
    const res = await ks.stack.up();
    assert.equal(res.summary.result, "succeeded");
    const report = (await outputs(ks.stack)).lastUpgrade as LastUpgrade;
    assert.deepEqual(
      report.steps.map((s) => s.name),
      planned,
      "the install's preview listed exactly the steps it ran",
    );
    assert.deepEqual(planned, [...CHAIN_ORDER.install]);
    assert.equal(await adminVersion(ks, 0), "3.4.2");
    assert.equal(await adminVersion(ks, 1), "3.4.2");
    const c = await seed(ks.adminUrl(0), { services: 300, consumers: 600 });
    seeded = await entityCounts(ks);
    assert.deepEqual(seeded, {
      services: 300,
      routes: 300,
      consumers: 600,
      keyauth_credentials: 600,
      plugins: 300,
    });
    progress(`path: seeded ${JSON.stringify(c)}`);
    // Nodes pick the seeded routes up on their next router refresh from the database.
    const routed = (i: number) =>
      eventually(
        () => status(`${ks.proxyUrl(i)}/svc-7`),
        (s) => s === 200,
      );
    assert.equal(await routed(0), 200, "node-0 routes a seeded route");
    assert.equal(await routed(1), 200, "node-1 routes a seeded route");
  });

  it("2a. preview shows the planned downtime and changes nothing", async () => {
    await ks.setVersion("3.5.0");
    const before = dataHash(ks);
    const res = await ks.stack.preview();
    const text = res.stdout;
    const order = UPGRADE_STEPS.map((s) => text.indexOf(`. ${s} `));
    assert.ok(
      order.every((i) => i > 0),
      `every step is listed:\n${text}`,
    );
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      "steps are listed in execution order",
    );
    assert.match(text, /Kong 3\.4\.2 → 3\.5\.0: in-place upgrade/);
    assert.match(
      text,
      /Estimated downtime \(stop → backup → migrations-up → migrations-finish → start\): .+ expected \(.+ – .+\)/,
    );
    assert.match(text, /Backup: .*backups\/kong-3\.4\.2-to-3\.5\.0-<timestamp>\.dump/);
    assert.match(text, /upgradePlan/);
    assert.equal(dataHash(ks), before, "the database is byte-for-byte the same after preview");
    assert.equal(await adminVersion(ks), "3.4.2", "the nodes still serve after preview");
  });

  it("2b. up runs the steps in order, keeps every entity, and reports the outage the prober saw", async () => {
    progress("path: up 3.4.2 → 3.5.0 with a prober on node-0");
    const prober = startProber(`${ks.proxyUrl(0)}/svc-1`);
    const res = await ks.stack.up();
    const probes = await prober.stop();
    assert.equal(res.summary.result, "succeeded");
    const out = await outputs(ks.stack);
    const report = out.lastUpgrade as LastUpgrade;
    assert.equal(report.outcome, "succeeded");
    assert.deepEqual(
      report.steps.map((s) => s.name),
      UPGRADE_STEPS,
    );
    // One after another; only `up` may start while the backup is still being made durable
    // (read back, copied to the store), which `finish` waits for (README "How an upgrade runs").
    for (let i = 1; i < report.steps.length; i++) {
      const [step, prev] = [report.steps[i]!, report.steps[i - 1]!];
      const overlaps = step.name === "migrations-up" && prev.name === "backup";
      assert.ok(
        step.startedAt >= (overlaps ? prev.startedAt : prev.finishedAt),
        `${step.name} starts after ${prev.name} ${overlaps ? "starts" : "ends"}`,
      );
    }
    const at = (name: string) => report.steps.find((s) => s.name === name)!;
    assert.ok(
      at("migrations-finish").startedAt >= at("backup").finishedAt,
      "finish starts after the backup is durable",
    );
    assert.ok(probes.at(-1)!.ok, "the gateway serves when up returns");
    const outage = longestOutage(probes);
    progress(`path: measured downtime ${report.downtimeSeconds}s, prober saw ${outage}s`);
    progress(`path: steps ${report.steps.map((st) => `${st.name} ${st.seconds}s`).join(", ")}`);
    assert.ok(
      Math.abs(report.downtimeSeconds - outage) <= 1,
      `reported ${report.downtimeSeconds}s vs observed ${outage}s`,
    );
    assert.ok(report.backup && existsSync(report.backup.path), "the backup file exists");
    assert.equal(out.version, "3.5.0");
    assert.equal(await adminVersion(ks, 0), "3.5.0");
    assert.equal(await adminVersion(ks, 1), "3.5.0");
    assert.equal(await status(`${ks.proxyUrl(1)}/svc-299`), 200);
    assert.deepEqual(await entityCounts(ks), seeded);
    const names = await resourceNames(ks.stack);
    assert.ok(
      !names.some((n) => n.startsWith("kong-3.4.2")),
      `X's resources are gone: ${names.join(", ")}`,
    );
    assert.deepEqual(
      readdirSync(join(ks.stateDir, "nodes")),
      ["upgrade-3.5.0-g1"],
      "only Y's node prefixes remain",
    );
  });

  it("2c. a second up reports no changes", async () => {
    const res = await ks.stack.up();
    // `read` is the StackReference to itself, read on every run; nothing is created, updated or deleted.
    assert.deepEqual(Object.keys(res.summary.resourceChanges ?? {}).sort(), ["read", "same"]);
  });

  it("2d + 8. 3.5 → 3.6 transforms rate-limiting config; the measured downtime is within the range preview gave from the measured run", async () => {
    await ks.setVersion("3.6.0");
    const preview = await ks.stack.preview();
    const m =
      /Estimated downtime \([^)]*\): ((?:\d+m )?[\d.]+s) expected \(((?:\d+m )?[\d.]+s) – ((?:\d+m )?[\d.]+s)\).*numbers: ([^\n]*)/.exec(
        preview.stdout,
      );
    assert.ok(m, preview.stdout);
    assert.match(m[4]!, /measured in 1 earlier upgrade/);
    const estimate = parseDuration(m[1]!);
    const [low, high] = [parseDuration(m[2]!), parseDuration(m[3]!)];
    progress(`path: up 3.5.0 → 3.6.0 (estimated downtime ${estimate}s)`);
    // The same conditions as the measured run (a prober on node-0), so the two are comparable.
    const prober = startProber(`${ks.proxyUrl(0)}/svc-1`);
    const res = await ks.stack.up();
    const probes = await prober.stop();
    assert.equal(res.summary.result, "succeeded");
    assert.ok(probes.at(-1)!.ok, "the gateway serves when up returns");
    const outage = longestOutage(probes);
    const report = (await outputs(ks.stack)).lastUpgrade as LastUpgrade;
    progress(
      `path: measured ${report.downtimeSeconds}s (prober ${outage}s) against the estimate ${estimate}s`,
    );
    assert.ok(
      Math.abs(report.downtimeSeconds - outage) <= 1,
      `reported ${report.downtimeSeconds}s vs observed ${outage}s`,
    );
    progress(`path: steps ${report.steps.map((st) => `${st.name} ${st.seconds}s`).join(", ")}`);
    // The promise preview makes is its range; how close "expected" came is a number to read
    // (timings on a shared 2-core machine vary too much for a tighter assertion).
    const off = Math.round((100 * (report.downtimeSeconds - estimate)) / estimate);
    progress(
      `path: estimate ${estimate}s (${low}s – ${high}s), measured ${report.downtimeSeconds}s (${off >= 0 ? "+" : ""}${off}%)`,
    );
    assert.ok(
      report.downtimeSeconds >= low && report.downtimeSeconds <= high,
      `measured ${report.downtimeSeconds}s is outside the previewed range ${low}s – ${high}s`,
    );
    const rows = await sql<{
      config: { redis_host: string; redis: { host: string; port: number } };
    }>(ks, "SELECT config FROM plugins WHERE name = 'rate-limiting'");
    assert.equal(rows.length, 300);
    assert.ok(
      rows.every(
        (r) => r.config.redis.host === r.config.redis_host && r.config.redis.port === 6379,
      ),
      "redis_* copied into config.redis",
    );
    assert.deepEqual(await entityCounts(ks), seeded);
  });

  it("9. rotating kong-gateway:dbPassword: the role's password changes, the nodes restart with it one after the other, the gateway keeps serving", async () => {
    const pids = () =>
      [0, 1].map((i) =>
        readFileSync(
          join(ks.stateDir, "nodes", "upgrade-3.6.0-g1", `node-${i}`, "pids", "nginx.pid"),
          "utf8",
        ).trim(),
      );
    const pidsBefore = pids();
    const rotated = `${E2E_PASSWORD}-rotated`;
    await ks.stack.setConfig("kong-gateway:dbPassword", { value: rotated, secret: true });
    const preview = await ks.stack.preview();
    assert.match(
      preview.stdout,
      /Kong 3\.6\.0 stays; settings change in place[\s\S]*dbPassword: \(secret\) changed\n\s+restart: each node restarts with the new password/,
    );
    assert.ok(!preview.stdout.includes(rotated), "the password is not in the preview");
    progress("path: up with a rotated database password");
    // A load balancer's view: any node answering is service.
    const prober = startProber([`${ks.proxyUrl(0)}/svc-1`, `${ks.proxyUrl(1)}/svc-1`]);
    const res = await ks.stack.up();
    const probes = await prober.stop();
    assert.equal(res.summary.result, "succeeded");
    // An outage still going on at the end counts (longestOutage), so 0 means served throughout.
    const outage = longestOutage(probes);
    const pidsAfter = pids();
    assert.ok(
      pidsAfter.every((p, i) => p !== pidsBefore[i]),
      `both nodes restarted: ${pidsBefore.join(",")} → ${pidsAfter.join(",")}`,
    );
    assert.equal(outage, 0, `one node served while the other restarted (${probes.length} probes)`);
    const connect = async (password: string) => {
      const c = new pg.Client({
        host: "127.0.0.1",
        port: ks.dbPort,
        user: "kong",
        password,
        database: "kong",
      });
      try {
        await c.connect();
        await c.end();
        return "ok";
      } catch (e) {
        return (e as Error).message;
      }
    };
    assert.equal(await connect(rotated), "ok");
    assert.match(await connect(E2E_PASSWORD), /password authentication failed/);
    // Writes need new connections: each node opens them with the new password.
    for (const i of [0, 1]) {
      const r = await fetch(`${ks.adminUrl(i)}/consumers`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: `after-rotation-${i}` }),
      });
      assert.equal(r.status, 201, `node-${i} writes with the new password`);
    }
  });
});
