/**
 * Issue #16 with the real engine: a stack that works from any machine. Two separate work
 * directories ("clones") share one file backend, one PostgreSQL (a real server both reach) and a
 * `command` backup store whose templates copy to a plain directory standing in for a bucket.
 * A installs 3.5.0 and upgrades to 3.6.0; A's machine then goes away (its nodes stop and its
 * work directory, `.state/` included, is deleted). B, a fresh clone with an empty `.state/`,
 * previews a rollback to 3.5.0 naming the backup A took, refuses a damaged copy in preflight, and
 * its `up` fetches the backup from the store and restores it: the data is what it was before the
 * upgrade. The second suite does the same on the `hosts` runtime over real sshd
 * (test/support/sshd.ts) with `backup.store: host`: the backup is kept on a named host that runs no
 * node, and B, holding only the stack file (the SSH key is a secret in it), reads it from there.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Stack } from "@pulumi/pulumi/automation";
import { seed } from "../../scripts/seed";
import { dataHash, E2E_PASSWORD, LastUpgrade, outputs, progress, status } from "../support/e2e";
import { repoRoot, stackFor } from "../support/engine";
import { eventually } from "../support/eventually";
import { freePort, PostgresServer, startPostgres } from "../support/postgres";
import { startSshHosts, SshHosts } from "../support/sshd";
import { commandStoreOver, hostsStackConfig } from "../support/stackConfig";

const STACK = "ci";

/** A catalog entry as the stack exports it in `deployment.backups`. */
interface Entry {
  id: string;
  fromVersion: string;
  toVersion: string;
  sha256: string;
  store?: string;
  location?: string;
}

/** A work directory of the project, as `git clone` would give it (no `.state/`). */
function clone(base: string, label: string): string {
  const dir = join(base, label);
  mkdirSync(join(dir, "stacks"), { recursive: true });
  for (const f of ["node_modules", "components", "package.json", "tsconfig.json"]) {
    symlinkSync(join(repoRoot, f), join(dir, f));
  }
  // Copied, not linked: the program resolves `.state/` from its own folder (index.ts `root`).
  for (const f of ["index.ts", "Pulumi.yaml"]) {
    copyFileSync(join(repoRoot, f), join(dir, f));
  }
  return dir;
}

/** The two clones A and B of a suite, side by side in a temp directory with the file backend. */
function makeClones(store: "command" | "host"): { base: string; dirA: string; dirB: string } {
  const base = mkdtempSync(join(tmpdir(), `kong-gw-portable-${store}-`));
  chmodSync(base, 0o755);
  mkdirSync(join(base, "backend"));
  return { base, dirA: clone(base, "a"), dirB: clone(base, "b") };
}

/**
 * What both suites have A do: a stack over `config` in its clone (the database password and
 * `secrets` set as secrets), install 3.5.0, seed through `admin`, upgrade to 3.6.0. Returns the
 * data before the upgrade and the one 3.5.0 → 3.6.0 backup the stack's outputs record.
 */
async function installAndUpgradeA(a: {
  base: string;
  dirA: string;
  config: Record<string, unknown>;
  admin: string;
  dbPort: number;
  secrets?: Record<string, string>;
}): Promise<{ before35: string; taken: Entry }> {
  writeFileSync(
    join(a.dirA, "stacks", `Pulumi.${STACK}.yaml`),
    JSON.stringify({ config: a.config }),
  );
  const stackA = await stackFor(a.dirA, join(a.base, "backend"), STACK);
  for (const [key, value] of Object.entries({ dbPassword: E2E_PASSWORD, ...a.secrets })) {
    await stackA.setConfig(`kong-gateway:${key}`, { value, secret: true });
  }
  progress(`portable: A installs 3.5.0 (${String(a.config["kong-gateway:runtime"] ?? "local")})`);
  assert.equal((await stackA.up()).summary.result, "succeeded");
  await seed(a.admin, { services: 20, consumers: 20 });
  const before35 = dataHash({ dbPort: a.dbPort });
  progress("portable: A upgrades to 3.6.0");
  await stackA.setConfig("kong-gateway:version", { value: "3.6.0" });
  assert.equal((await stackA.up()).summary.result, "succeeded");
  const deployment = (await outputs(stackA)).deployment as { backups?: Entry[] };
  const entries = (deployment.backups ?? []).filter(
    (b) => b.fromVersion === "3.5.0" && b.toVersion === "3.6.0",
  );
  assert.equal(entries.length, 1, `one 3.5.0 → 3.6.0 backup in deployment.backups`);
  return { before35, taken: entries[0]! };
}

/** A's machine goes away: B gets the stack's config file from git (secrets encrypted in it). */
function handOver(dirA: string, dirB: string): void {
  copyFileSync(
    join(dirA, "stacks", `Pulumi.${STACK}.yaml`),
    join(dirB, "stacks", `Pulumi.${STACK}.yaml`),
  );
  rmSync(dirA, { recursive: true, force: true });
  assert.equal(existsSync(dirA), false);
}

/**
 * Pids of the nodes running under `dir`: from their pid files, and only while the process is
 * still the node (its command line names `dir`). A stale pid file's number may belong to another
 * process by now (pids wrap at 32768 here), e.g. a node of a test file running beside this one.
 */
function nodePids(dir: string): number[] {
  if (!existsSync(dir)) {
    return [];
  }
  const ours = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
    } catch {
      return false;
    }
  };
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith("nginx.pid"))
    .map((f) => Number(readFileSync(join(dir, f), "utf8").trim()))
    .filter((pid) => pid > 0 && ours(pid));
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

describe("a stack works from any machine (issue #16)", { timeout: 600_000 }, () => {
  let pg: PostgresServer;
  let base: string;
  let bucket: string;
  let basePort: number;
  let dirA: string;
  let dirB: string;
  let stackB: Stack | undefined;
  let before35: string;
  let taken: Entry;
  const db = () => ({ dbPort: pg.port, dbPassword: E2E_PASSWORD });

  before(async () => {
    pg = await startPostgres();
    await pg.createDatabase("kong", "kong", E2E_PASSWORD);
    ({ base, dirA, dirB } = makeClones("command"));
    bucket = join(base, "bucket");
    mkdirSync(bucket);
    basePort = await freePort();
  });

  after(async () => {
    await stackB
      ?.destroy()
      .catch((e: Error) => process.stderr.write(`destroy failed: ${e.message.slice(0, 400)}\n`));
    for (const pid of [...nodePids(dirA), ...nodePids(dirB)]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await pg?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it("A installs 3.5.0 and upgrades to 3.6.0; the backup is put to the store and recorded in the stack's outputs", async () => {
    const config = {
      "kong-gateway:version": "3.5.0",
      "kong-gateway:nodes": 1,
      "kong-gateway:database": { mode: "existing", host: "127.0.0.1", port: pg.port },
      "kong-gateway:local": {
        install: `${repoRoot}/test/kong-sim/install {version} {dir}`,
        basePort,
      },
      "kong-gateway:backup": commandStoreOver(bucket),
    };
    const admin = `http://127.0.0.1:${basePort + 1}`;
    ({ before35, taken } = await installAndUpgradeA({
      base,
      dirA,
      config,
      admin,
      dbPort: pg.port,
    }));
    assert.equal(taken.store, "command");
    assert.equal(taken.location, `${taken.id}.dump`);
    assert.ok(existsSync(join(bucket, `${taken.id}.json`)), "the manifest is in the store");
    assert.equal(sha256(join(bucket, `${taken.id}.dump`)), taken.sha256, "the stored dump");
  });

  it("A's machine goes away: its nodes stop and its work directory, .state/ included, is deleted", async () => {
    const pids = nodePids(join(dirA, ".state"));
    assert.ok(pids.length > 0, "A's node is running");
    for (const pid of pids) {
      process.kill(pid, "SIGTERM");
    }
    await eventually(
      () => status(`http://127.0.0.1:${basePort}/`),
      (s) => s === 0,
    );
    handOver(dirA, dirB);
  });

  it("B (empty .state/) previews a rollback to 3.5.0 that names A's backup in the store, and A's failed attempt", async () => {
    stackB = await stackFor(dirB, join(base, "backend"), STACK);
    await stackB.setConfig("kong-gateway:version", { value: "3.5.0" });
    assert.equal(existsSync(join(dirB, ".state")), false, "B has no state directory");
    // What A's runner leaves in the store when a rollback attempt fails and is rolled back
    // (runner/steps/rollback.ts); written here instead of failing one, which costs a minute.
    writeFileSync(
      join(bucket, "kong-attempt.json"),
      JSON.stringify({
        cluster: "kong",
        kind: "rollback",
        from: "3.6.0",
        to: "3.5.0",
        generation: 1,
        state: "aborted",
        at: "2026-01-02T03:04:05.000Z",
      }),
    );
    const preview = await stackB.preview();
    assert.ok(
      preview.stdout.includes(
        "an attempt of rollback 3.6.0 → 3.5.0 (generation 1, recorded in the backup store at 2026-01-02T03:04:05.000Z) failed and was rolled back on another machine; this run starts that change over from preflight as generation 2",
      ),
      `the preview knows A's unfinished attempt:\n${preview.stdout}`,
    );
    assert.match(preview.stdout, /Kong 3\.6\.0 → 3\.5\.0/);
    assert.ok(
      preview.stdout.includes(`Restoring backup ${taken.id}: command store ${taken.id}.dump`),
      `the preview names A's backup in the store:\n${preview.stdout}`,
    );
    assert.ok(preview.stdout.includes(taken.sha256), "and the sha256 the fetched copy must have");
  });

  it("B refuses a damaged copy in the store in preflight, before the database is touched", async () => {
    const dump = join(bucket, `${taken.id}.dump`);
    const good = readFileSync(dump);
    appendFileSync(dump, "x");
    const hash36 = dataHash(db());
    try {
      await assert.rejects(
        stackB!.up(),
        new RegExp(`backup ${taken.id} fetched from the store has sha256 [0-9a-f]{64}, but`),
      );
    } finally {
      writeFileSync(dump, good);
    }
    assert.equal(dataHash(db()), hash36, "the 3.6.0 database is untouched");
    const cache = join(dirB, ".state", STACK, "backups");
    const left = existsSync(cache) ? readdirSync(cache) : [];
    assert.deepEqual(
      left.filter((f) => f.startsWith(taken.id)),
      [],
      "nothing of the damaged copy is kept",
    );
  });

  it("B's up fetches A's backup and restores it: the data is what it was before the upgrade", async () => {
    progress("portable: B rolls back to 3.5.0");
    const res = await stackB!.up();
    assert.equal(res.summary.result, "succeeded");
    const out = await outputs(stackB!);
    const report = out.lastUpgrade as LastUpgrade;
    assert.ok(report, `lastUpgrade is exported: ${JSON.stringify(out).slice(0, 4000)}`);
    assert.equal(report.kind, "rollback");
    assert.equal(report.restored?.id, taken.id);
    assert.equal(report.restored?.sha256, taken.sha256);
    assert.equal(dataHash(db()), before35, "the database is the one of before the upgrade");
    const admin = await fetch(`http://127.0.0.1:${basePort + 1}/`);
    assert.equal(((await admin.json()) as { version: string }).version, "3.5.0");
    const deployment = (await outputs(stackB!)).deployment as { backups?: Entry[] };
    assert.ok(
      deployment.backups?.some((b) => b.id === taken.id),
      "A's backup stays in the stack's catalog",
    );
    assert.ok(
      existsSync(join(dirB, ".state", STACK, "nodes", "rollback-3.5.0-g2")),
      "B ran the rollback as generation 2",
    );
    assert.equal(existsSync(join(bucket, "kong-attempt.json")), false, "and cleared the record");
  });
});

describe(
  "a hosts stack with backup.store host works from any machine (issue #16)",
  {
    timeout: 600_000,
  },
  () => {
    let pg: PostgresServer;
    let ssh: SshHosts;
    let base: string;
    let kongPort: number;
    let dirA: string;
    let dirB: string;
    let stackB: Stack | undefined;
    let before35: string;
    let taken: Entry;
    let onHost: string;
    const db = () => ({ dbPort: pg.port, dbPassword: E2E_PASSWORD });
    const admin = () => `http://${ssh.hosts[0]!.address}:${kongPort + 1}`;

    before(async () => {
      [pg, ssh] = await Promise.all([startPostgres(), startSshHosts({ count: 2 })]);
      await pg.createDatabase("kong", "kong", E2E_PASSWORD);
      ({ base, dirA, dirB } = makeClones("host"));
      kongPort = await freePort();
      // The second host runs no node: it only keeps the backups (its own "disk" is a tree here).
      onHost = join(base, "hosts", ssh.hosts[1]!.address, "backups");
    });

    after(async () => {
      await stackB
        ?.destroy()
        .catch((e: Error) => process.stderr.write(`destroy failed: ${e.message.slice(0, 400)}\n`));
      await ssh?.stop();
      await pg?.stop();
      rmSync(base, { recursive: true, force: true });
    });

    it("A installs 3.5.0 on the hosts and upgrades to 3.6.0; the backup is kept on the named host", async () => {
      const config = {
        "kong-gateway:version": "3.5.0",
        "kong-gateway:nodes": 1,
        "kong-gateway:runtime": "hosts",
        "kong-gateway:database": { mode: "existing", host: "127.0.0.1", port: pg.port },
        "kong-gateway:hosts": hostsStackConfig(ssh, base, kongPort),
        "kong-gateway:backup": {
          store: "host",
          host: ssh.hosts[1]!.address,
          hostDir: `${base}/hosts/{host}/backups`,
        },
      };
      ({ before35, taken } = await installAndUpgradeA({
        base,
        dirA,
        config,
        admin: admin(),
        dbPort: pg.port,
        secrets: { sshPrivateKey: ssh.privateKey },
      }));
      assert.equal(taken.store, "host");
      assert.equal(taken.location, `${ssh.hosts[1]!.address}:${onHost}/${taken.id}.dump`);
      assert.ok(existsSync(join(onHost, `${taken.id}.json`)), "the manifest is on the host");
      assert.equal(sha256(join(onHost, `${taken.id}.dump`)), taken.sha256, "the dump on the host");
    });

    it("A's clone, .state/ included, is deleted; B (empty .state/) previews the rollback naming the backup on the host", async () => {
      handOver(dirA, dirB);
      stackB = await stackFor(dirB, join(base, "backend"), STACK);
      await stackB.setConfig("kong-gateway:version", { value: "3.5.0" });
      assert.equal(existsSync(join(dirB, ".state")), false, "B has no state directory");
      const preview = await stackB.preview();
      assert.match(preview.stdout, /Kong 3\.6\.0 → 3\.5\.0/);
      assert.ok(
        preview.stdout.includes(`Restoring backup ${taken.id}: host store ${taken.location}`),
        `the preview names A's backup on the host:\n${preview.stdout}`,
      );
      assert.ok(preview.stdout.includes(taken.sha256), "and the sha256 the fetched copy must have");
    });

    it("B's up reads the backup from the host and restores it: the data is what it was before the upgrade", async () => {
      progress("portable/host: B rolls back to 3.5.0");
      assert.equal((await stackB!.up()).summary.result, "succeeded");
      const out = await outputs(stackB!);
      const report = out.lastUpgrade as LastUpgrade;
      assert.equal(report.kind, "rollback");
      assert.equal(report.restored?.id, taken.id);
      assert.equal(report.restored?.sha256, taken.sha256);
      assert.equal(dataHash(db()), before35, "the database is the one of before the upgrade");
      assert.equal(((await (await fetch(admin())).json()) as { version: string }).version, "3.5.0");
      assert.ok(existsSync(join(onHost, `${taken.id}.dump`)), "the backup stays on the host");
    });
  },
);
