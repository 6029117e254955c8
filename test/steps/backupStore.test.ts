/**
 * The `command` backup store (components/runner/infra/store.ts) over real `cp`/`ls`/`rm`
 * templates and a plain directory standing in for a bucket; the `host` store over a real sshd
 * (test/support/sshd.ts); the `backup.store` settings and the
 * policy that refuses a backup no other machine could read (components/config/backupStore.ts);
 * and the catalog the stack carries (components/state/stackCatalog.ts). No database is needed:
 * the store moves files, whatever they hold.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { withDefaults } from "../../components/config/config";
import { backupStorePolicy } from "../../components/config/backupStore";
import type { BackupSpec } from "../../components/contract/spec";
import type { CatalogEntry } from "../../components/contract/report";
import {
  clearAttempt,
  fetchBackup,
  pruneStore,
  putAttempt,
  putBackup,
  readAttempt,
} from "../../components/runner/infra/store";
import { type StoredAttempt, withStoredAttempt } from "../../components/state/journal";
import type { BackupManifest } from "../../components/state/catalog";
import { mergeBackups, nextCatalog } from "../../components/state/stackCatalog";
import { SSH_KEY_ENV } from "../../components/runner/infra/ssh";
import { startSshHosts, SshHosts } from "../support/sshd";

const base = mkdtempSync(join(tmpdir(), "kong-gw-store-"));
after(() => rmSync(base, { recursive: true, force: true }));

/** A bucket and the templates over it; a space in the path proves `{file}`/`{name}` are quoted. */
function store(label: string): { bucket: string; command: NonNullable<BackupSpec["command"]> } {
  const bucket = join(base, `bucket ${label}`);
  mkdirSync(bucket);
  const b = `'${bucket}'`;
  return {
    bucket,
    command: {
      put: `cp {file} ${b}/{name}`,
      get: `cp ${b}/{name} {file}`,
      list: `ls ${b}`,
      delete: `rm ${b}/{name}`,
    },
  };
}

const spec = (dir: string, command: BackupSpec["command"], extra: Partial<BackupSpec> = {}) =>
  ({ dir, verify: "list", retention: 2, minFreeBytes: 0, command, ...extra }) as BackupSpec;

/** Writes a dump and its manifest into `dir` as takeBackup leaves them before `put`. */
function taken(dir: string, id: string, body = `dump of ${id}`): BackupManifest {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${id}.dump`);
  writeFileSync(path, body);
  const m: BackupManifest = {
    id,
    cluster: "kong",
    fromVersion: "3.5.0",
    toVersion: "3.6.0",
    takenAt: "2026-01-02T03:04:05.000Z",
    path,
    bytes: body.length,
    sha256: createHash("sha256").update(body).digest("hex"),
    tables: { services: 3 },
    verifiedBy: "list",
    pgDump: "pg_dump (PostgreSQL) 15",
  };
  writeFileSync(join(dir, `${id}.json`), JSON.stringify(m));
  return m;
}

const ID = "kong-3.5.0-to-3.6.0-20260102T030405Z";

describe("the command backup store", () => {
  it("puts a dump and its manifest; another machine's empty cache fetches both, checked", async () => {
    const { bucket, command } = store("a");
    const dirA = join(base, "machine A", "backups");
    const m = taken(dirA, ID);
    const stored = await putBackup(spec(dirA, command), m, join(dirA, `${ID}.json`));
    assert.equal(stored.store, "command");
    assert.equal(stored.location, `${ID}.dump`);
    assert.deepEqual(readdirSync(bucket).sort(), [`${ID}.dump`, `${ID}.json`]);

    const dirB = join(base, "machine B", "backups");
    await fetchBackup(spec(dirB, command, { restoreSha256: m.sha256 }), ID);
    const fetched = JSON.parse(readFileSync(join(dirB, `${ID}.json`), "utf8")) as BackupManifest;
    assert.equal(fetched.path, join(dirB, `${ID}.dump`), "the manifest points at this machine");
    assert.equal(fetched.sha256, m.sha256);
    assert.deepEqual(fetched.tables, { services: 3 }, "row counts travel with the manifest");
    assert.equal(readFileSync(fetched.path, "utf8"), `dump of ${ID}`);
  });

  it("refuses to put a dump that no longer has its manifest's sha256", async () => {
    const { bucket, command } = store("b");
    const dir = join(base, "b", "backups");
    const m = taken(dir, ID);
    appendFileSync(m.path, "changed");
    await assert.rejects(
      putBackup(spec(dir, command), m, join(dir, `${ID}.json`)),
      /backup kong-3\.5\.0-to-3\.6\.0-20260102T030405Z changed before it was stored \(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\); nothing was put/,
    );
    assert.deepEqual(readdirSync(bucket), []);
  });

  it("refuses a fetched dump that differs from its manifest or from the stack's catalog, and keeps nothing of it", async () => {
    const { bucket, command } = store("c");
    const m = taken(join(base, "c-src"), ID);
    await putBackup(spec(join(base, "c-src"), command), m, join(base, "c-src", `${ID}.json`));
    const dir = join(base, "c", "backups");
    await assert.rejects(
      fetchBackup(spec(dir, command, { restoreSha256: "0".repeat(64) }), ID),
      /fetched from the store has sha256 [0-9a-f]{64}, but the stack's backup catalog records 0{64}; refusing/,
    );
    appendFileSync(join(bucket, `${ID}.dump`), "bit rot");
    await assert.rejects(
      fetchBackup(spec(dir, command), ID),
      /fetched from the store has sha256 [0-9a-f]{64}, but its manifest records [0-9a-f]{64}/,
    );
    assert.deepEqual(readdirSync(dir), [], "no partial or damaged file is left in the cache");
  });

  it("names the template that failed, with its output", async () => {
    const { command } = store("d");
    await assert.rejects(
      fetchBackup(spec(join(base, "d"), command), "kong-3.5.0-to-3.6.0-20990101T000000Z"),
      /kong-gateway:backup\.command\.get failed \(exit 1\) for kong-3\.5\.0-to-3\.6\.0-20990101T000000Z\.json: cp: cannot stat/,
    );
  });

  it("retention in the store keeps the newest and every id it is told to keep", async () => {
    const { bucket, command } = store("e");
    const dir = join(base, "e");
    const ids = [
      "20260101T000000Z",
      "20260102T000000Z",
      "20260103T000000Z",
      "20260104T000000Z",
    ].map((t) => `kong-3.5.0-to-3.6.0-${t}`);
    for (const id of ids) {
      const m = taken(dir, id);
      await putBackup(spec(dir, command), m, join(dir, `${id}.json`));
    }
    // Another cluster's objects and foreign files are never touched.
    writeFileSync(join(bucket, "kong-b-3.5.0-to-3.6.0-20250101T000000Z.dump"), "x");
    writeFileSync(join(bucket, "notes.txt"), "x");
    const pruned = await pruneStore(spec(dir, command, { retention: 2 }), "kong", [ids[0]!]);
    assert.deepEqual(pruned, [ids[1]]);
    assert.deepEqual(
      readdirSync(bucket)
        .filter((f) => f.endsWith(".dump"))
        .sort(),
      [
        `${ids[0]}.dump`,
        `${ids[2]}.dump`,
        `${ids[3]}.dump`,
        "kong-b-3.5.0-to-3.6.0-20250101T000000Z.dump",
      ],
    );
    assert.equal(existsSync(join(bucket, `${ids[1]}.json`)), false, "its manifest goes too");
  });
});

describe("the host backup store, over real SSH", () => {
  let ssh: SshHosts;
  let hostSpec: (dir: string, hostDir: string, extra?: Partial<BackupSpec>) => BackupSpec;

  before(async () => {
    ssh = await startSshHosts({ count: 1 });
    process.env[SSH_KEY_ENV] = ssh.privateKey;
    const h = ssh.hosts[0]!;
    hostSpec = (dir, hostDir, extra = {}) =>
      ({
        dir,
        verify: "list",
        retention: 2,
        minFreeBytes: 0,
        host: {
          address: h.address,
          dir: hostDir,
          ssh: { user: ssh.user, port: h.port, bastion: "", knownHosts: ssh.knownHostsFile },
          stateDir: join(base, "host-state"),
        },
        ...extra,
      }) as BackupSpec;
  });
  after(async () => {
    delete process.env[SSH_KEY_ENV];
    await ssh?.stop();
  });

  it("puts a dump and its manifest on the host (read back there); an empty cache fetches both, checked", async () => {
    // The "host" shares this machine's disk, so its directory can be looked at directly.
    const onHost = join(base, "host a", "backups");
    const dirA = join(base, "host machine A", "backups");
    const m = taken(dirA, ID);
    const stored = await putBackup(hostSpec(dirA, onHost), m, join(dirA, `${ID}.json`));
    assert.equal(stored.store, "host");
    assert.equal(stored.location, `${ssh.hosts[0]!.address}:${onHost}/${ID}.dump`);
    assert.deepEqual(readdirSync(onHost).sort(), [`${ID}.dump`, `${ID}.json`]);
    assert.equal(readFileSync(join(onHost, `${ID}.dump`), "utf8"), `dump of ${ID}`);

    const dirB = join(base, "host machine B", "backups");
    await fetchBackup(hostSpec(dirB, onHost, { restoreSha256: m.sha256 }), ID);
    const fetched = JSON.parse(readFileSync(join(dirB, `${ID}.json`), "utf8")) as BackupManifest;
    assert.equal(fetched.path, join(dirB, `${ID}.dump`), "the manifest points at this machine");
    assert.equal(fetched.store, "host");
    assert.equal(readFileSync(fetched.path, "utf8"), `dump of ${ID}`);
  });

  it("refuses a damaged copy on the host and keeps nothing of it", async () => {
    const onHost = join(base, "host b", "backups");
    const src = join(base, "host b-src");
    const m = taken(src, ID);
    await putBackup(hostSpec(src, onHost), m, join(src, `${ID}.json`));
    appendFileSync(join(onHost, `${ID}.dump`), "bit rot");
    const dir = join(base, "host b", "cache");
    await assert.rejects(
      fetchBackup(hostSpec(dir, onHost, { restoreSha256: m.sha256 }), ID),
      /fetched from the store has sha256 [0-9a-f]{64}, but its manifest records [0-9a-f]{64}; refusing/,
    );
    assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], [], "nothing is left in the cache");
  });

  it("names the host and the path when a backup is not there", async () => {
    await assert.rejects(
      fetchBackup(hostSpec(join(base, "host c"), join(base, "host c", "none")), ID),
      new RegExp(
        `backup store on host ${ssh.hosts[0]!.address.replaceAll(".", "\\.")}: get failed \\(exit 1\\) for .*/none/${ID}\\.json: cat: `,
      ),
    );
  });

  it("reads what it put back on the host: a copy the host cannot read back stops the backup", async () => {
    const onHost = join(base, "host e", "backups");
    const dir = join(base, "host e", "cache");
    // Where the dump should land the host has a directory: `mv` puts the dump inside it, and
    // reading `<id>.dump` back there fails, as a disk that lost the write would.
    mkdirSync(join(onHost, `${ID}.dump`), { recursive: true });
    await assert.rejects(
      putBackup(hostSpec(dir, onHost), taken(dir, ID), join(dir, `${ID}.json`)),
      new RegExp(`read-back failed \\(exit 1\\) for .*/${ID}\\.dump: sha256sum: `),
    );
    assert.equal(existsSync(join(onHost, `${ID}.json`)), false, "no manifest names it");
  });

  it("retention on the host keeps the newest and every id it is told to keep", async () => {
    const onHost = join(base, "host d", "backups");
    const dir = join(base, "host d", "cache");
    const ids = ["20260101T000000Z", "20260102T000000Z", "20260103T000000Z"].map(
      (t) => `kong-3.5.0-to-3.6.0-${t}`,
    );
    for (const id of ids) {
      await putBackup(hostSpec(dir, onHost), taken(dir, id), join(dir, `${id}.json`));
    }
    const pruned = await pruneStore(hostSpec(dir, onHost, { retention: 1 }), "kong", [ids[0]!]);
    assert.deepEqual(pruned, [ids[1]]);
    assert.deepEqual(readdirSync(onHost).sort(), [
      `${ids[0]}.dump`,
      `${ids[0]}.json`,
      `${ids[2]}.dump`,
      `${ids[2]}.json`,
    ]);
  });
});

describe("backup.store settings and policy", () => {
  const cfg = (backup: Record<string, unknown>, database: Record<string, unknown> = {}) =>
    withDefaults(
      { version: "3.6.0", backup, database: { mode: "existing", host: "db", ...database } },
      "/tmp/kong-gw-store-test",
      "t",
      "kong",
    );
  const templates = {
    put: "cp {file} /b/{name}",
    get: "cp /b/{name} {file}",
    list: "ls /b",
    delete: "rm /b/{name}",
  };

  it("refuses an unknown store, a missing template and a template without its placeholder", () => {
    assert.throws(
      () => cfg({ store: "s3" }),
      /backup\.store "?s3"? is not a backup store; use "local", "host" or "command"/,
    );
    assert.throws(
      () => cfg({ store: "command", command: { ...templates, get: undefined } }),
      /backup\.command\.get .*is required with backup\.store command; set it, e\.g\. pulumi config set --path kong-gateway:backup\.command\.get/,
    );
    assert.throws(
      () => cfg({ store: "command", command: { ...templates, put: "cp {file} /b/" } }),
      /backup\.command\.put "?cp \{file\} \/b\/"? has no \{name\} placeholder/,
    );
  });

  it("refuses an upgrade whose only backup stays on this machine while the database is shared", () => {
    const p = backupStorePolicy(cfg({}), "upgrade");
    assert.equal(p.kind, "refuse");
    assert.match(
      (p as { message: string }).message,
      /^kong-gateway:backup\.store local keeps the upgrade's only backup in .* database\.mode existing lets any machine run this stack.*Set kong-gateway:backup\.store to command/,
    );
    assert.equal(
      backupStorePolicy(cfg({ store: "command", command: templates }), "upgrade").kind,
      "ok",
    );
    assert.equal(backupStorePolicy(cfg({}), "noop").kind, "ok", "only a change that backs up");
  });

  it("host store: on a host of the hosts runtime (default the migration host), allowed for an upgrade", () => {
    const hosts = (backup: Record<string, unknown>, runtime = "hosts") =>
      withDefaults(
        {
          version: "3.6.0",
          nodes: 2,
          runtime: runtime as "hosts",
          hosts: { addresses: ["10.0.0.11", "10.0.0.12"], prefix: "/srv/kong/{host}" },
          backup,
          database: { mode: "existing", host: "db" },
        },
        "/tmp/kong-gw-store-test",
        "t",
        "kong",
      );
    const c = hosts({ store: "host" });
    assert.deepEqual(c.backup.store === "host" && [c.backup.host, c.backup.hostDir], [
      "10.0.0.11",
      "/srv/kong/10.0.0.11/backups",
    ]);
    assert.equal(backupStorePolicy(c, "upgrade").kind, "ok");
    const named = hosts({ store: "host", host: "10.0.0.12", hostDir: "/var/backups/{host}" });
    assert.equal(named.backup.store === "host" && named.backup.hostDir, "/var/backups/10.0.0.12");
    assert.throws(
      () => hosts({ store: "host", host: "10.0.0.99" }),
      /^Error: kong-gateway:backup\.host "10\.0\.0\.99" is not one of kong-gateway:hosts\.addresses \(10\.0\.0\.11, 10\.0\.0\.12\).*; name one of them, e\.g\. 'pulumi config set --path kong-gateway:backup\.host 10\.0\.0\.11'/,
    );
    assert.throws(
      () => hosts({ store: "host", hostDir: "backups" }),
      /kong-gateway:backup\.hostDir "backups" is not an absolute path on 10\.0\.0\.11; use e\.g\. "\/var\/backups\/kong-gateway"/,
    );
    assert.throws(
      () => hosts({ store: "command", command: templates, host: "10.0.0.11" }),
      /kong-gateway:backup\.host "10\.0\.0\.11" is only used with backup\.store host, and backup\.store is command; remove it/,
    );
    assert.throws(
      () => cfg({ store: "host" }),
      /kong-gateway:backup\.store "host" keeps backups on a host of the hosts runtime, but kong-gateway:runtime is local; set kong-gateway:backup\.store to command/,
    );
    assert.match(
      (backupStorePolicy(hosts({}), "upgrade") as { message: string }).message,
      /or to host to keep backups on one of the hosts/,
      "the refusal of local on the hosts runtime points to the host store",
    );
  });

  it("docker runtime: the host store is refused, pointing to command", () => {
    assert.throws(
      () =>
        withDefaults(
          {
            version: "3.6.0",
            runtime: "docker",
            backup: { store: "host" },
            database: { mode: "existing", host: "db" },
          },
          "/tmp/kong-gw-store-test",
          "t",
          "kong",
        ),
      /kong-gateway:backup\.store "host" keeps backups on a host of the hosts runtime, but kong-gateway:runtime is docker \(a one-shot container has no disk that outlives it\); set kong-gateway:backup\.store to command with put\/get\/list\/delete templates/,
    );
  });

  it("lets the local stack keep backups on this machine, with a note", () => {
    const local = withDefaults({ version: "3.6.0" }, "/tmp/kong-gw-store-test", "local", "kong");
    const p = backupStorePolicy(local, "upgrade");
    assert.equal(p.kind, "note");
    assert.match((p as { message: string }).message, /backup stays on this machine/);
  });
});

describe("the catalog the stack carries", () => {
  const e = (id: string, takenAt: string, path = `/a/${id}.dump`): CatalogEntry => ({
    id,
    cluster: "kong",
    fromVersion: "3.5.0",
    toVersion: "3.6.0",
    takenAt,
    path,
    bytes: 1,
    sha256: "s",
    verifiedBy: "list",
    pgDump: "pg_dump",
  });

  it("merges the stack's and the local disk's by id (local wins), oldest first", () => {
    const merged = mergeBackups(
      [e("x", "2026-01-02T00:00:00Z"), e("y", "2026-01-01T00:00:00Z")],
      [e("x", "2026-01-02T00:00:00Z", "/b/x.dump")],
    );
    assert.deepEqual(
      merged.map((b) => [b.id, b.path]),
      [
        ["y", "/a/y.dump"],
        ["x", "/b/x.dump"],
      ],
    );
  });

  it("keeps what an earlier machine recorded, drops what retention deleted, and is stable", () => {
    const previous = [e("a", "2026-01-01T00:00:00Z"), e("b", "2026-01-02T00:00:00Z")];
    const next = nextCatalog(previous, [e("c", "2026-01-03T00:00:00Z")], ["a"]);
    assert.deepEqual(
      next.map((b) => b.id),
      ["b", "c"],
    );
    assert.deepEqual(nextCatalog(next, [e("c", "2026-01-03T00:00:00Z")], ["a"]), next);
  });
});

describe("an unfinished attempt travels in the store", () => {
  const attempt: StoredAttempt = {
    cluster: "kong",
    kind: "upgrade",
    from: "3.5.0",
    to: "3.6.0",
    generation: 1,
    state: "aborted",
    at: "2026-01-02T03:04:05.000Z",
  };

  it("is put, read back by another machine, and cleared; absent, nothing is read", async () => {
    const { bucket, command } = store("attempt");
    const tmp = join(base, "attempt-tmp");
    assert.equal(await readAttempt(spec(join(base, "attempt A"), command), "kong", tmp), undefined);
    await putAttempt(spec(join(base, "attempt A"), command), attempt);
    assert.deepEqual(readdirSync(bucket), ["kong-attempt.json"]);
    const read = await readAttempt(spec(join(base, "attempt B"), command), "kong", tmp);
    assert.deepEqual(read, attempt);
    assert.equal(
      await readAttempt(spec(join(base, "attempt B"), command), "kong-b", tmp),
      undefined,
    );
    await clearAttempt(spec(join(base, "attempt B"), command), "kong");
    assert.deepEqual(readdirSync(bucket), []);
    assert.deepEqual(existsSync(tmp) ? readdirSync(tmp) : [], [], "no fetched copy is left");
  });

  it("makes a machine that did not run it start the change over with the next generation", () => {
    const stateDir = join(base, "attempt state");
    const r = withStoredAttempt(stateDir, {}, attempt);
    assert.deepEqual(r.attempts, { "kong/upgrade-3.6.0": 2 });
    assert.match(
      r.note ?? "",
      /^an attempt of upgrade 3\.5\.0 → 3\.6\.0 \(generation 1, recorded in the backup store at 2026-01-02T03:04:05\.000Z\) failed and was rolled back on another machine; this run starts that change over from preflight as generation 2$/,
    );
    const started = withStoredAttempt(stateDir, {}, { ...attempt, state: "started" });
    assert.match(started.note ?? "", /\) did not finish on another machine;/);
    assert.deepEqual(withStoredAttempt(stateDir, {}, undefined), { attempts: {} });
    assert.deepEqual(
      withStoredAttempt(stateDir, { "kong/upgrade-3.6.0": 3 }, attempt),
      { attempts: { "kong/upgrade-3.6.0": 3 } },
      "a machine that already counted further keeps its count",
    );
    // This machine ran that attempt (its journal is here): its own counters decide.
    mkdirSync(join(stateDir, "journal"), { recursive: true });
    writeFileSync(join(stateDir, "journal", "kong-upgrade-3.6.0-g1.jsonl"), "");
    assert.deepEqual(withStoredAttempt(stateDir, {}, attempt), { attempts: {} });
  });
});
