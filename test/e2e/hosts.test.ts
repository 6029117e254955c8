/**
 * The `hosts` runtime for real: two machines played by two OpenSSH daemons on 127.0.0.2 and
 * 127.0.0.3 (test/support/sshd.ts), each with its own directory tree standing in for its disk.
 * The stack installs Kong (the stand-in) on each host with command.remote the way a package
 * manager does — one installation per host, replaced by the next version — the step runner
 * drives every node over SSH with the generated key, and the database password reaches the
 * remote `kong` only on stdin. Checked: install, seeded data, the upgrade 3.5 → 3.6 across both
 * hosts (steps in order, X stopped on both hosts, every entity kept), a no-op second up, no
 * secret in the state or left on disk, and a migration crash on the migration host during
 * 3.6 → 3.7: the automatic rollback restores the database byte for byte, reinstalls 3.6 over the
 * 3.7 package on both hosts and restarts it; the next attempt succeeds. Then the `rolling`
 * strategy on a patch hop 3.6.0 → 3.6.1: Kong 3.6.1 failing to start on the first host (a stand-in
 * fault) rolls back with no restore — 3.6.0 reinstalled there and restarted, the other host
 * serving throughout, a consumer written through X kept — and the next attempt replaces one host
 * at a time with no failed probe. Last, `prepared` on a patch hop 3.6.1 → 3.6.2 across both hosts.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { seed } from "../../scripts/seed";
import {
  dataHash,
  dumpDiff,
  E2E_PASSWORD,
  entityCounts,
  LastUpgrade,
  outputs,
  progress,
  sql,
  status,
  UPGRADE_STEPS,
  versionAt,
} from "../support/e2e";
import { eventually } from "../support/eventually";
import { longestOutage, startProber } from "../support/prober";
import { createKongStack, KongStack } from "../support/kongStack";
import { freePort } from "../support/postgres";
import { startSshHosts, SshHosts } from "../support/sshd";
import { hostsStackConfig } from "../support/stackConfig";

/** JSON paths of the strings in `value` that contain `needle`. */
function pathsOf(value: unknown, needle: string, path = "$"): string[] {
  if (typeof value === "string") {
    return value.includes(needle) ? [path] : [];
  }
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => pathsOf(v, needle, `${path}.${k}`));
  }
  return [];
}

describe("runtime hosts: install and upgrade over real SSH", { timeout: 900_000 }, () => {
  let ssh: SshHosts;
  let ks: KongStack;
  let hostsDir: string;
  let faultFile: (version: string) => string;
  let seeded: Record<string, number>;
  let before36: string;
  let kongPort: number;

  before(async () => {
    kongPort = await freePort();
    ssh = await startSshHosts({ count: 2 });
    const ports = new Set(ssh.hosts.map((h) => h.port));
    assert.equal(ports.size, 1, "every host listens on the same SSH port");
    // After installing version V, a host wraps its `kong` to run with the stand-in's fault
    // variables listed in the file fault-V (KONG_SIM_FAIL_MIGRATION, KONG_SIM_FAIL_START, ...;
    // sshd would drop them from our environment), and unwraps it when that file is gone.
    const hook = join(ssh.dir, "fault-hook");
    faultFile = (version) => join(ssh.dir, `fault-${version}`);
    writeFileSync(
      hook,
      `#!/bin/sh\nset -e\ncd "$1/bin"\n[ ! -f kong.real ] || mv kong.real kong\n[ -f ${ssh.dir}/fault-$2 ] || exit 0\nmv kong kong.real\nprintf '#!/bin/sh\\nexec env %s %s/kong.real "$@"\\n' "$(tr '\\n' ' ' < ${ssh.dir}/fault-$2)" "$PWD" > kong\nchmod 755 kong\n`,
    );
    chmodSync(hook, 0o755);
    // Each "host" gets its own tree under hostsDir, as if it had its own disk, and one Kong
    // installation that the next version's install replaces, as a package does.
    ks = await createKongStack("hosts", "3.5.0", (base) => ({
      "kong-gateway:runtime": "hosts",
      "kong-gateway:hosts": hostsStackConfig(ssh, base, kongPort, hook),
    }));
    hostsDir = join(dirname(ks.stateDir), "hosts");
    await ks.stack.setConfig("kong-gateway:sshPrivateKey", { value: ssh.privateKey, secret: true });
  });

  after(async () => {
    progress("hosts: destroying the stack");
    await ks?.dispose();
    await ssh?.stop();
  });

  const url = (i: number, port: number) => `http://${ssh.hosts[i]!.address}:${port}`;

  const post = async (to: string, body: unknown) => {
    const res = await fetch(to, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 201, `POST ${to}: ${await res.text()}`);
  };

  it("installs 3.5.0 on both hosts over SSH; each node serves on its host's address", async () => {
    progress("hosts: fresh install of 3.5.0 on 127.0.0.2 and 127.0.0.3");
    const res = await ks.stack.up();
    assert.equal(res.summary.result, "succeeded");
    const out = await outputs(ks.stack);
    assert.deepEqual(out.proxyUrls, [url(0, kongPort), url(1, kongPort)]);
    assert.equal(await versionAt(url(0, kongPort + 1)), "3.5.0");
    assert.equal(await versionAt(url(1, kongPort + 1)), "3.5.0");
    for (const h of ssh.hosts) {
      assert.equal(
        readFileSync(join(hostsDir, h.address, "kong", "lib", "VERSION"), "utf8").trim(),
        "3.5.0",
        `command.remote installed Kong 3.5.0 on ${h.address}`,
      );
    }
    await seed(url(0, kongPort + 1), { services: 50, consumers: 100 });
    seeded = await entityCounts(ks);
    // node-1 picks node-0's writes up on its next router refresh from the database.
    const routed = await eventually(
      () => status(`${url(1, kongPort)}/svc-7`),
      (s) => s === 200,
    );
    assert.equal(routed, 200, "node-1 routes a seeded route");
  });

  it("upgrades 3.5.0 → 3.6.0 on both hosts: steps in order, X stopped, every entity kept", async () => {
    await ks.setVersion("3.6.0");
    const preview = await ks.stack.preview();
    assert.match(preview.stdout, /Kong 3\.5\.0 → 3\.6\.0: in-place upgrade/);
    progress("hosts: up 3.5.0 → 3.6.0");
    const res = await ks.stack.up();
    assert.equal(res.summary.result, "succeeded");
    const report = (await outputs(ks.stack)).lastUpgrade as LastUpgrade;
    progress(
      `hosts: downtime ${report.downtimeSeconds}s; steps ${report.steps.map((s) => `${s.name} ${s.seconds}s`).join(", ")}`,
    );
    assert.deepEqual(
      report.steps.map((s) => s.name),
      UPGRADE_STEPS,
    );
    assert.equal(await versionAt(url(0, kongPort + 1)), "3.6.0");
    assert.equal(await versionAt(url(1, kongPort + 1)), "3.6.0");
    assert.equal(await status(`${url(1, kongPort)}/svc-49`), 200);
    assert.deepEqual(await entityCounts(ks), seeded);
    for (const h of ssh.hosts) {
      const groups = readdirSync(join(hostsDir, h.address, "prefixes"));
      assert.deepEqual(groups, ["upgrade-3.6.0-g1"], `X's prefix on ${h.address} was removed`);
    }
    assert.ok(
      report.backup && existsSync(report.backup.path),
      "the backup is on the Pulumi machine",
    );
  });

  it("a second up changes nothing; no secret is left on disk or in the stack state", async () => {
    const res = await ks.stack.up();
    assert.deepEqual(Object.keys(res.summary.resourceChanges ?? {}).sort(), ["read", "same"]);
    const keyDir = join(ks.stateDir, "ssh");
    assert.deepEqual(existsSync(keyDir) ? readdirSync(keyDir) : [], [], "no key file remains");
    // The checkpoint file itself (the Automation API's exportStack decrypts secrets).
    const backend = join(dirname(ks.stateDir), "backend", ".pulumi", "stacks");
    const file = readdirSync(backend, { recursive: true })
      .map(String)
      .find((f) => f.endsWith("hosts.json"));
    assert.ok(file, `a checkpoint in ${backend}`);
    const state = JSON.parse(readFileSync(join(backend, file), "utf8")) as unknown;
    assert.ok(
      JSON.stringify(state).includes("ciphertext"),
      "secrets are in the checkpoint, encrypted",
    );
    assert.deepEqual(pathsOf(state, E2E_PASSWORD), [], "the database password is not in the state");
    const keyBody = ssh.privateKey.split("\n")[1]!;
    assert.deepEqual(pathsOf(state, keyBody), [], "the private key is not in the state");
  });

  it("a crash in migrations finish on the migration host rolls back: same bytes, 3.6 reinstalled and serving", async () => {
    const before = dataHash(ks);
    before36 = before;
    writeFileSync(faultFile("3.7.0"), "KONG_SIM_FAIL_MIGRATION=ai-proxy/001_360_to_370:teardown\n");
    await ks.setVersion("3.7.0");
    progress("hosts: up 3.6.0 → 3.7.0 with a crash injected into a 3.7 teardown");
    const failed = await ks.stack.up().then(
      () => undefined,
      (e: Error) => e.message,
    );
    assert.ok(failed, "the update fails");
    assert.match(failed, /failed in step "migrations-finish"/);
    assert.match(failed, /Automatic rollback completed/);
    assert.match(failed, /reinstalling Kong 3\.6\.0 on host 127\.0\.0\.2/);
    for (const h of ssh.hosts) {
      assert.equal(
        readFileSync(join(hostsDir, h.address, "kong", "lib", "VERSION"), "utf8").trim(),
        "3.6.0",
        `3.6.0 is installed again on ${h.address}`,
      );
    }
    assert.equal(await versionAt(url(0, kongPort + 1)), "3.6.0");
    assert.equal(await versionAt(url(1, kongPort + 1)), "3.6.0");
    const after = dataHash(ks);
    assert.equal(
      after,
      before,
      `the database is as before the upgrade:\n${dumpDiff(before, after)}`,
    );

    rmSync(faultFile("3.7.0"));
    progress("hosts: next attempt of 3.6.0 → 3.7.0 without the fault");
    const res = await ks.stack.up();
    assert.equal(res.summary.result, "succeeded");
    const report = (await outputs(ks.stack)).lastUpgrade as LastUpgrade & { generation: number };
    assert.equal(report.generation, 2, "the second attempt ran every step again");
    assert.equal(await versionAt(url(0, kongPort + 1)), "3.7.0");
    assert.equal(await versionAt(url(1, kongPort + 1)), "3.7.0");
    assert.deepEqual(await entityCounts(ks), seeded);
  });

  it("rolls back by version (3.7.0 → 3.6.0): 3.6 reinstalled on both hosts, the backup restored", async () => {
    await ks.setVersion("3.6.0");
    progress("hosts: rollback by version 3.7.0 → 3.6.0");
    const res = await ks.stack.up();
    assert.equal(res.summary.result, "succeeded");
    const report = (await outputs(ks.stack)).lastUpgrade as LastUpgrade;
    assert.deepEqual(
      report.steps.map((s) => s.name),
      ["preflight", "stop", "backup", "restore", "start", "verify"],
    );
    assert.equal(await versionAt(url(0, kongPort + 1)), "3.6.0");
    assert.equal(await versionAt(url(1, kongPort + 1)), "3.6.0");
    const now = dataHash(ks);
    assert.equal(now, before36, `the database is as before 3.7:\n${dumpDiff(before36, now)}`);
  });
  it("rolling 3.6.0 → 3.6.1: node-0's Kong 3.6.1 fails to start; rolled back with no restore, node-1 served throughout, a consumer written through X is kept", async () => {
    await post(`${url(0, kongPort + 1)}/consumers`, { username: "written-through-x" });
    const counts = await entityCounts(ks);
    writeFileSync(faultFile("3.6.1"), "KONG_SIM_FAIL_START=1\n");
    await ks.stack.setConfig("kong-gateway:strategy", { value: "rolling" });
    await ks.setVersion("3.6.1");
    const preview = await ks.stack.preview();
    assert.match(preview.stdout, /Estimated downtime: none \(rolling/);
    progress("hosts: rolling 3.6.0 → 3.6.1 with Kong 3.6.1 failing to start");
    const prober = startProber([`${url(0, kongPort)}/`, `${url(1, kongPort)}/`], 20);
    const failed = await ks.stack.up().then(
      () => undefined,
      (e: Error) => e.message,
    );
    const probes = await prober.stop();
    assert.ok(failed, "the update fails");
    assert.match(failed, /failed in step "start"/);
    assert.match(failed, /simulated start failure/);
    assert.match(failed, /kept the database as it is: 'kong migrations finish' had not run/);
    assert.doesNotMatch(failed, /restored backup/);
    assert.match(failed, /reinstalling Kong 3\.6\.0 on host 127\.0\.0\.2/);
    assert.match(failed, /Automatic rollback completed/);
    assert.equal(longestOutage(probes), 0, "node-1 (X) answered while node-0 was replaced");
    assert.equal(await versionAt(url(0, kongPort + 1)), "3.6.0");
    assert.equal(await versionAt(url(1, kongPort + 1)), "3.6.0");
    assert.equal(await status(`${url(0, kongPort + 1)}/consumers/written-through-x`), 200);
    assert.deepEqual(await entityCounts(ks), counts, "nothing written was lost");
    const pending = await sql<{ n: number }>(
      ks,
      "SELECT count(*)::int AS n FROM schema_meta WHERE pending::text LIKE '%001_331_to_332%'",
    );
    assert.equal(pending[0]!.n, 1, "3.6.1's up stays applied (no restore); finish never ran");
  });

  it("rolling 3.6.0 → 3.6.1, next attempt: one host at a time, no outage, steps of rolling", async () => {
    rmSync(faultFile("3.6.1"));
    const before = await entityCounts(ks);
    const prober = startProber([`${url(0, kongPort)}/`, `${url(1, kongPort)}/`], 20);
    progress("hosts: rolling 3.6.0 → 3.6.1, next attempt");
    const res = await ks.stack.up();
    const probes = await prober.stop();
    assert.equal(res.summary.result, "succeeded");
    const report = (await outputs(ks.stack)).lastUpgrade as LastUpgrade;
    progress(
      `hosts: rolling ${probes.length} probes, outage ${longestOutage(probes)}s; steps ${report.steps.map((s) => `${s.name} ${s.seconds}s`).join(", ")}`,
    );
    assert.deepEqual(
      report.steps.map((s) => s.name),
      ["preflight", "backup", "migrations-up", "start", "verify", "migrations-finish"],
    );
    assert.equal(report.downtimeSeconds, 0);
    assert.ok(probes.length > 20, `the prober ran (${probes.length} probes)`);
    assert.equal(longestOutage(probes), 0, "some host answered every probe");
    assert.equal(await versionAt(url(0, kongPort + 1)), "3.6.1");
    assert.equal(await versionAt(url(1, kongPort + 1)), "3.6.1");
    assert.deepEqual(await entityCounts(ks), before);
    assert.equal(await status(`${url(1, kongPort + 1)}/consumers/written-through-x`), 200);
  });

  it("prepared 3.6.1 → 3.6.2 across both hosts: backup and up while X serves, the outage only from stop to start, within the reported one, every entity kept", async () => {
    await ks.stack.setConfig("kong-gateway:strategy", { value: "prepared" });
    await ks.setVersion("3.6.2");
    const preview = await ks.stack.preview();
    assert.match(preview.stdout, /Estimated downtime \(stop → start\)/);
    const before = await entityCounts(ks);
    const prober = startProber([`${url(0, kongPort)}/`, `${url(1, kongPort)}/`], 20);
    progress("hosts: prepared 3.6.1 → 3.6.2");
    const res = await ks.stack.up();
    const outage = longestOutage(await prober.stop());
    assert.equal(res.summary.result, "succeeded");
    const report = (await outputs(ks.stack)).lastUpgrade as LastUpgrade;
    progress(`hosts: prepared outage ${outage}s, reported ${report.downtimeSeconds}s`);
    assert.deepEqual(
      report.steps.map((s) => s.name),
      ["preflight", "backup", "migrations-up", "stop", "start", "verify", "migrations-finish"],
    );
    assert.ok(outage > 0, "X stops on both hosts before Y starts: some outage is seen");
    assert.ok(
      outage <= report.downtimeSeconds + 0.3,
      `prober outage ${outage}s within the reported ${report.downtimeSeconds}s (+ probe interval)`,
    );
    assert.equal(await versionAt(url(0, kongPort + 1)), "3.6.2");
    assert.equal(await versionAt(url(1, kongPort + 1)), "3.6.2");
    assert.deepEqual(await entityCounts(ks), before);
    assert.equal(await status(`${url(1, kongPort + 1)}/consumers/written-through-x`), 200);
  });
});
