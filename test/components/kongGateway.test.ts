/**
 * KongGateway with Pulumi mocks: which resources a version change builds, how they are named,
 * parented and ordered, what the preview warns, and where the password goes. (Mocks, because
 * these tests check the program's decisions; the real engine runs them in test/e2e.)
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, beforeEach, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { digestPassword } from "../../components/state/nodes";
import { installMocks, isSecret, Registration, valueOf } from "../support/mocks";

/** What the runner's `host-keys` command prints (components/runner/steps/hostKeys.ts), per host. */
const MOCK_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRecordedAtFirstContact";
const registrations = installMocks(false, (args) => {
  const raw = (args.inputs as { environment?: unknown }).environment;
  const env = (isSecret(raw) ? (raw as { value: unknown }).value : raw) as
    Record<string, string> | undefined;
  const job = env?.KONG_GW_HOST_KEYS;
  if (!job) {
    return {};
  }
  const { hosts, ssh } = JSON.parse(job) as { hosts: string[]; ssh: { bastion: string } };
  const names = [...hosts, ...(ssh.bastion ? ["bastion"] : [])];
  return { stdout: names.map((h) => `KONG_GW_HOST_KEY ${h} ${MOCK_HOST_KEY}`).join("\n") };
});
type Module = typeof import("../../components/kongGateway");
let KongGateway: Module["KongGateway"];
const warnings: string[] = [];

before(async () => {
  ({ KongGateway } = await import("../../components/kongGateway"));
  (pulumi.log as { warn: (msg: string) => void }).warn = (msg: string) => warnings.push(msg);
});

beforeEach(() => {
  registrations.length = 0;
  warnings.length = 0;
});

const PASSWORD = "s3cret-pa55";
let counter = 0;

/** Builds a gateway in a fresh state directory and waits for every registration. */
async function build(
  version: string,
  extra: Partial<ConstructorParameters<Module["KongGateway"]>[1]> = {},
  stateDir?: string,
) {
  const name = `kong${counter++}`;
  const dir = stateDir ?? mkdtempSync(join(tmpdir(), "kong-gw-mock-"));
  const gw = new KongGateway(name, {
    version,
    nodes: 2,
    stateDir: dir,
    local: { install: "test/kong-sim/install {version} {dir}" },
    databasePassword: PASSWORD, // plain on purpose: the component itself must mark it secret
    stack: "test",
    ...extra,
  });
  const deployment = await valueOf(gw.deployment);
  const byName = (n: string) => registrations.find((r) => r.name === `${name}-${n}`);
  return { name, gw, deployment, byName, dir };
}

const names = (name: string) =>
  registrations
    .map((r) => r.name)
    .filter((n) => n.startsWith(name))
    .sort();
const deps = (r: Registration | undefined) =>
  (r?.dependencies ?? []).map((u) => u.split("::").at(-1));

describe("KongGateway on a brand-new stack", () => {
  it("bootstraps through the same chain, in order, with children named by role and version", async () => {
    const { name, byName } = await build("3.4.2");
    assert.deepEqual(names(name), [
      name,
      `${name}-3.4.2`,
      `${name}-3.4.2-install`,
      `${name}-3.4.2-node-0`,
      `${name}-3.4.2-node-1`,
      `${name}-db`,
      `${name}-db-server`,
      `${name}-install-3.4.2`,
      `${name}-install-3.4.2-backup`,
      `${name}-install-3.4.2-migrations-finish`,
      `${name}-install-3.4.2-migrations-up`,
      `${name}-install-3.4.2-preflight`,
      `${name}-install-3.4.2-settings`,
      `${name}-install-3.4.2-stop`,
      `${name}-install-3.4.2-verify`,
    ]);
    const chain = `${name}-install-3.4.2`;
    assert.deepEqual(deps(byName("install-3.4.2-settings")).sort(), [
      `${name}-3.4.2-install`,
      `${name}-db-server`,
    ]);
    assert.deepEqual(deps(byName("install-3.4.2-preflight")), [`${chain}-settings`]);
    assert.deepEqual(deps(byName("install-3.4.2-stop")), [`${chain}-preflight`]);
    assert.deepEqual(deps(byName("install-3.4.2-backup")), [`${chain}-stop`]);
    assert.deepEqual(deps(byName("install-3.4.2-migrations-up")), [`${chain}-backup`]);
    assert.deepEqual(deps(byName("install-3.4.2-migrations-finish")), [`${chain}-migrations-up`]);
    assert.deepEqual(deps(byName("3.4.2-node-0")), [`${chain}-migrations-finish`]);
    assert.deepEqual(deps(byName("3.4.2-node-1")), [`${name}-3.4.2-node-0`]);
    assert.deepEqual(deps(byName("install-3.4.2-verify")).sort(), [
      `${name}-3.4.2-node-0`,
      `${name}-3.4.2-node-1`,
    ]);
    assert.match(
      byName("install-3.4.2-preflight")!.parent,
      new RegExp(`InPlaceUpgrade::${chain}$`),
    );
    assert.match(byName("3.4.2-node-0")!.parent, new RegExp(`KongCluster::${name}-3.4.2$`));
    assert.match(byName("db-server")!.parent, new RegExp(`KongDatabase::${name}-db$`));
    assert.equal(warnings.length, 1, "a fresh install is a change, so preview shows its plan");
    assert.match(warnings[0]!, /install/i);
  });

  it("passes the password only as a secret environment value", async () => {
    await build("3.4.2");
    const commands = registrations.filter((r) => r.type === "command:local:Command");
    assert.ok(commands.length >= 9);
    const steps = commands.filter((r) => String(r.inputs.create).includes(".tools/runner/run.js"));
    assert.ok(
      steps.every(
        (r) =>
          r.inputs.environment &&
          (r.inputs.environment as Record<string, string>).KONG_PG_PASSWORD === PASSWORD,
      ),
    );
  });
});

/**
 * Where a secret value sits in a resource's raw inputs without a secret wrapper around it (or
 * around one of its parents): `environment.PGPASSWORD`, `connection.proxy.privateKey`, ….
 */
function plaintextSecrets(raw: unknown, secrets: readonly string[], path = ""): string[] {
  if (isSecret(raw)) {
    return [];
  }
  if (typeof raw === "string") {
    return secrets.some((s) => raw.includes(s)) ? [path || "(value)"] : [];
  }
  if (raw && typeof raw === "object") {
    return Object.entries(raw).flatMap(([k, v]) =>
      plaintextSecrets(v, secrets, path ? `${path}.${k}` : k),
    );
  }
  return [];
}

/** Secret values anywhere in `raw`, wrapped or not (so a check finding none proves nothing). */
function occurrences(raw: unknown, secrets: readonly string[]): number {
  const text = JSON.stringify(raw);
  return secrets.reduce((n, s) => n + text.split(JSON.stringify(s).slice(1, -1)).length - 1, 0);
}

describe("KongGateway: every input that carries a secret is a secret", () => {
  const KEY =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAkeyBody\n-----END OPENSSH PRIVATE KEY-----\n";
  const ADMIN = "adm1n-pa55";
  const SECRETS = [PASSWORD, KEY.split("\n")[1]!, ADMIN];
  const variants: [string, Partial<ConstructorParameters<Module["KongGateway"]>[1]>][] = [
    ["local runtime, local database", {}],
    [
      "hosts runtime through a bastion, service manager",
      {
        runtime: "hosts",
        hosts: {
          addresses: ["10.0.0.11", "10.0.0.12"],
          bastion: "jump@bastion.example.com:2222",
          startCommand: "sudo systemctl start kong-gateway@{id}",
          stopCommand: "sudo systemctl stop kong-gateway@{id}",
        },
        sshPrivateKey: KEY,
      },
    ],
    ["docker runtime", { runtime: "docker", docker: { image: "kong" } }],
    [
      "managed database",
      {
        database: { mode: "managed", host: "db.internal" },
        databaseAdminPassword: ADMIN,
      },
    ],
  ];
  for (const [label, extra] of variants) {
    it(`${label}: no plaintext secret in any input of any resource, and none in command text`, async () => {
      await build("3.4.2", extra);
      let seen = 0;
      for (const r of registrations) {
        seen += occurrences(r.rawInputs, SECRETS);
        const plain = plaintextSecrets(r.rawInputs, SECRETS);
        assert.deepEqual(plain, [], `${r.type} ${r.name}: plaintext secret at ${plain.join(", ")}`);
        // Not even as secrets: what preview prints and the spec every step reads.
        const env = r.inputs.environment as Record<string, string> | undefined;
        const visible = JSON.stringify([
          r.inputs.create,
          r.inputs.update,
          r.inputs.delete,
          r.inputs.triggers,
          env?.KONG_GW_SPEC,
          env?.KONG_GW_HOST_KEYS,
        ]);
        assert.ok(!SECRETS.some((s) => visible.includes(s)), `${r.name}: secret in command text`);
      }
      assert.ok(seen > 0, "the secrets do reach the resources (else this check proves nothing)");
    });
  }
});

describe("KongGateway version changes", () => {
  const deployedAt = (version: string, chain: Record<string, unknown>) => ({
    version,
    nodes: 2,
    plugins: "bundled",
    chain: { to: version, generation: 1, ...chain } as never,
    history: [],
  });

  it("builds the upgrade chain for one guaranteed hop and shows the plan in preview", async () => {
    const { name, gw, byName } = await build("3.5.0", {
      deployed: deployedAt("3.4.2", { kind: "install" }),
    });
    const chain = `${name}-upgrade-3.5.0`;
    for (const step of [
      "preflight",
      "stop",
      "backup",
      "migrations-up",
      "migrations-finish",
      "verify",
    ]) {
      assert.ok(byName(`upgrade-3.5.0-${step}`), `${chain}-${step} exists`);
    }
    assert.deepEqual(byName("upgrade-3.5.0-stop")!.inputs.triggers, [1]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /3\.4\.2 → 3\.5\.0/);
    for (const step of [
      "preflight",
      "stop",
      "backup",
      "migrations-up",
      "migrations-finish",
      "start",
      "verify",
    ]) {
      assert.ok(warnings[0]!.includes(step), `the preview warning names step ${step}`);
    }
    assert.ok(gw.upgradePlan, "upgradePlan is exported while the versions differ");
  });

  it("changes nothing when the configured version is the deployed one", async () => {
    const { name, gw } = await build("3.5.0", {
      deployed: deployedAt("3.5.0", { kind: "upgrade", from: "3.4.2" }),
    });
    assert.ok(
      names(name).includes(`${name}-upgrade-3.5.0-preflight`),
      "the recorded chain is rebuilt as it was",
    );
    assert.equal(warnings.length, 0);
    assert.equal(gw.upgradePlan, undefined);
  });

  it("says what a rotated password at the same version will do (from the node records' digests)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kong-gw-mock-"));
    const record = (password: string) => {
      const node = join(dir, "nodes", "upgrade-3.5.0-g1", "node-0");
      mkdirSync(node, { recursive: true });
      writeFileSync(
        join(node, "kong-gateway.json"),
        JSON.stringify({
          cluster: `kong${counter}`,
          id: "node-0",
          version: "3.5.0",
          generation: 1,
          kongBin: "/k/bin/kong",
          prefix: node,
          statusUrl: "http://127.0.0.1:1",
          adminUrl: "http://127.0.0.1:2",
          proxyUrl: "http://127.0.0.1:3",
          settings: {},
          passwordDigest: digestPassword(password),
        }),
      );
    };
    const deployed = deployedAt("3.5.0", { kind: "upgrade", from: "3.4.2" });
    record(PASSWORD);
    await build("3.5.0", { deployed }, dir);
    assert.equal(warnings.length, 0, "the same password: nothing to say");
    record("the-old-password");
    await build("3.5.0", { deployed }, dir);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^Kong 3\.5\.0 stays; settings change in place/);
    assert.match(
      warnings[0]!,
      /dbPassword: \(secret\) changed\n\s+restart: each node restarts with the new password \(PostgreSQL must already accept it: checked before any node restarts\)/,
    );
    assert.match(warnings[0]!, /Outage: none expected: nodes restart one at a time/);
    assert.ok(!warnings[0]!.includes(PASSWORD));
  });

  it("refuses a hop Kong does not guarantee, naming the route", async () => {
    await assert.rejects(
      async () => build("3.7.0", { deployed: deployedAt("3.4.2", { kind: "install" }) }),
      (e: Error) =>
        /kong-gateway:version 3\.4\.2 → 3\.7\.0 is not a guaranteed upgrade path; upgrade through 3\.5 → 3\.6 → 3\.7/.test(
          e.message,
        ),
    );
  });

  it("rolls back by version only with the backup of the upgrade that left it", async () => {
    await assert.rejects(
      async () =>
        build("3.4.2", { deployed: deployedAt("3.5.0", { kind: "upgrade", from: "3.4.2" }) }),
      /downgrade|backup/i,
    );
    const dir = mkdtempSync(join(tmpdir(), "kong-gw-mock-"));
    const backups = join(dir, "backups");
    mkdirSync(backups);
    const name = `kong${counter}`;
    const manifest = {
      id: `${name}-3.4.2-to-3.5.0-20261127T000000Z`,
      cluster: name,
      fromVersion: "3.4.2",
      toVersion: "3.5.0",
      takenAt: "2026-11-27T00:00:00.000Z",
      path: join(backups, "x.dump"),
      bytes: 1,
      sha256: "0".repeat(64),
      tables: {},
      verifiedBy: "list",
      pgDump: "pg_dump (PostgreSQL) 15",
    };
    writeFileSync(join(backups, `${manifest.id}.json`), JSON.stringify(manifest));
    const { byName } = await build(
      "3.4.2",
      { deployed: deployedAt("3.5.0", { kind: "upgrade", from: "3.4.2" }) },
      dir,
    );
    for (const step of ["preflight", "stop", "backup", "restore", "verify"]) {
      assert.ok(byName(`rollback-3.4.2-${step}`), `rollback step ${step}`);
    }
    // Preflight (the restore target's checksum) before anything stops; Y's database is dumped
    // after Y stopped and before the restore replaces it.
    assert.deepEqual(deps(byName("rollback-3.4.2-stop")), [`${name}-rollback-3.4.2-preflight`]);
    assert.deepEqual(deps(byName("rollback-3.4.2-backup")), [`${name}-rollback-3.4.2-stop`]);
    assert.deepEqual(deps(byName("rollback-3.4.2-restore")), [`${name}-rollback-3.4.2-backup`]);
    const spec = JSON.parse(
      (byName("rollback-3.4.2-restore")!.inputs.environment as Record<string, string>)
        .KONG_GW_SPEC!,
    ) as { restoreBackupId: string };
    assert.equal(spec.restoreBackupId, manifest.id);
    assert.match(
      warnings.join("\n"),
      /anything written through 3\.5\.0 since then will not be in it; the rollback first dumps the database as 3\.5\.0 left it to .*kong-3\.5\.0-to-3\.4\.2-<timestamp>\.dump, so those writes are kept there, not lost/,
    );
  });

  it("re-runs every step of an aborted attempt: the attempt number is in the triggers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kong-gw-mock-"));
    writeFileSync(
      join(dir, "attempts.json"),
      JSON.stringify({ [`kong${counter}/upgrade-3.5.0`]: 2 }),
    );
    const { byName } = await build(
      "3.5.0",
      { deployed: deployedAt("3.4.2", { kind: "install" }) },
      dir,
    );
    assert.deepEqual(byName("upgrade-3.5.0-preflight")!.inputs.triggers, [2]);
    assert.deepEqual(byName("3.5.0-node-0")!.inputs.triggers, [2, "upgrade"]);
  });

  it("names the setting, the value and the fix for bad input", async () => {
    await assert.rejects(
      async () => build("3.4.2", { nodes: 0 }),
      /kong-gateway:nodes 0 is not a whole number from 1 to 32/,
    );
    await assert.rejects(
      async () => build("3.4.2", { local: { kongBinary: "/opt/kong/bin/kong" } }),
      /kong-gateway:local\.kongBinary .* has no \{version\} placeholder/,
    );
  });
});

describe("KongGateway with database.mode managed (mocks: the PostgreSQL provider cannot run here)", () => {
  it("creates the role, the database and the grant as the administrator; passwords stay secret", async () => {
    const { name, byName } = await build("3.4.2", {
      database: { mode: "managed", host: "db.internal", port: 5432, adminUser: "admin" },
      databaseAdminPassword: "admin-pa55",
    });
    const provider = byName("db-admin")!;
    const role = byName("db-role")!;
    const database = byName("db-database")!;
    const grant = byName("db-grant")!;
    assert.equal(provider.type, "pulumi:providers:postgresql");
    assert.equal(provider.inputs.host, "db.internal");
    assert.equal(provider.inputs.username, "admin");
    assert.ok(isSecret(provider.rawInputs.password), "the admin password is secret");
    assert.equal(role.type, "postgresql:index/role:Role");
    assert.deepEqual([role.inputs.name, role.inputs.login], ["kong", true]);
    assert.ok(isSecret(role.rawInputs.password), "the role password is secret");
    assert.equal(database.type, "postgresql:index/database:Database");
    assert.deepEqual([database.inputs.name, database.inputs.owner], ["kong", "kong"]);
    assert.equal(grant.inputs.objectType, "database");
    assert.deepEqual(deps(byName("install-3.4.2-settings")).sort(), [
      `${name}-3.4.2-install`,
      `${name}-db-database`,
      `${name}-db-grant`,
      `${name}-db-role`,
    ]);
    assert.equal(byName("db-server"), undefined, "no local server in managed mode");
  });

  it("refuses managed mode without the administrator's password, naming the setting", async () => {
    await assert.rejects(
      async () => build("3.4.2", { database: { mode: "managed", host: "db.internal" } }),
      /kong-gateway:database\.mode "managed" needs the administrator's password .*kong-gateway:dbAdminPassword/,
    );
  });
});

describe("KongGateway with runtime hosts (mocks here; test/e2e/hosts.test.ts runs it over real SSH)", () => {
  const KEY =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
  const hosts = {
    addresses: ["10.0.0.11", "10.0.0.12"],
    user: "deploy",
    bastion: "jump@bastion.example.com:2222",
  };

  it("installs the version on every host with command.remote; the key stays secret", async () => {
    const { name, byName } = await build("3.4.2", {
      runtime: "hosts",
      hosts,
      sshPrivateKey: KEY,
    });
    const installs = registrations.filter((r) => r.type === "command:remote:Command");
    assert.ok(byName("host-keys"), "the host keys are recorded by a command of their own");
    assert.deepEqual(installs.map((r) => r.name).sort(), [
      `${name}-3.4.2-install-10.0.0.11`,
      `${name}-3.4.2-install-10.0.0.12`,
    ]);
    const first = byName("3.4.2-install-10.0.0.11")!;
    assert.equal(first.inputs.create, "sudo apt-get install -y --allow-downgrades kong=3.4.2");
    const conn = first.rawInputs.connection as Record<string, unknown>;
    assert.ok(
      isSecret(conn) || isSecret(conn.privateKey),
      "the key is a secret input of the connection",
    );
    const c = first.inputs.connection as Record<string, unknown>;
    assert.deepEqual([c.host, c.port, c.user], ["10.0.0.11", 22, "deploy"]);
    assert.deepEqual(
      [(c.proxy as Record<string, unknown>).host, (c.proxy as Record<string, unknown>).port],
      ["bastion.example.com", 2222],
    );
    assert.deepEqual(deps(byName("install-3.4.2-settings")).sort(), [
      `${name}-3.4.2-install-10.0.0.11`,
      `${name}-3.4.2-install-10.0.0.12`,
      `${name}-db-server`,
    ]);
    const preflight = byName("install-3.4.2-preflight")!;
    const env = preflight.rawInputs.environment as Record<string, unknown>;
    assert.ok(
      isSecret(env.KONG_GW_SSH_KEY) || isSecret(env),
      "the runner gets the key as a secret",
    );
    const spec = JSON.parse(
      (preflight.inputs.environment as Record<string, string>).KONG_GW_SPEC!,
    ) as import("../../components/contract/spec").StepSpec;
    assert.ok(!JSON.stringify(spec).includes("b3BlbnNzaC1rZXkt"), "the key is not in the spec");
    assert.deepEqual(spec.runtime, {
      kind: "hosts",
      ssh: {
        user: "deploy",
        port: 22,
        bastion: "jump@bastion.example.com:2222",
        knownHosts: join(spec.stateDir, "known_hosts"),
      },
      migrationHost: "10.0.0.11",
      install: "sudo apt-get install -y --allow-downgrades kong={version}",
      startCommand: "",
      stopCommand: "",
    });
    assert.deepEqual(
      spec.nodes.map((n) => [n.host, n.proxyUrl, n.adminListen, n.statusListen, n.kongBin]),
      [
        [
          "10.0.0.11",
          "http://10.0.0.11:8000",
          "10.0.0.11:8001",
          "0.0.0.0:8100",
          "/usr/local/bin/kong",
        ],
        [
          "10.0.0.12",
          "http://10.0.0.12:8000",
          "10.0.0.12:8001",
          "0.0.0.0:8100",
          "/usr/local/bin/kong",
        ],
      ],
    );
    assert.equal(spec.nodes[0]!.prefix, "/var/lib/kong-gateway/install-3.4.2-g1/node-0");
  });

  it("pins every install and its bastion hop to the host keys in hosts.knownHosts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kong-gw-mock-"));
    const [k11, k12, kb] = [
      "AAAAC3NzaC1lZDI1NTE5AAAAI11",
      "AAAAC3NzaC1lZDI1NTE5AAAAI12",
      "AAAAB3b",
    ];
    writeFileSync(
      join(dir, "known_hosts"),
      `10.0.0.11 ssh-ed25519 ${k11}\n10.0.0.11 ssh-rsa AAAAB3rsa\n10.0.0.12 ssh-ed25519 ${k12}\n` +
        `[bastion.example.com]:2222 ssh-rsa ${kb}\n`,
    );
    const { name, byName } = await build(
      "3.4.2",
      { runtime: "hosts", hosts, sshPrivateKey: KEY },
      dir,
    );
    const record = byName("host-keys")!;
    assert.equal(record.inputs.create, "node .tools/runner/run.js host-keys");
    const env = record.rawInputs.environment as Record<string, unknown>;
    assert.ok(isSecret(env) || isSecret(env.KONG_GW_SSH_KEY), "the key is a secret there too");
    for (const [host, key] of [
      ["10.0.0.11", `ssh-ed25519 ${k11}`],
      ["10.0.0.12", `ssh-ed25519 ${k12}`],
    ] as const) {
      const install = byName(`3.4.2-install-${host}`)!;
      const c = install.inputs.connection as Record<string, Record<string, unknown>>;
      assert.equal(c.hostKey, key, `${host}: pinned to its known_hosts key (ed25519 preferred)`);
      assert.equal(c.proxy!.hostKey, `ssh-rsa ${kb}`, "the bastion's key");
      assert.deepEqual(deps(install), [`${name}-host-keys`], "first contact is recorded before");
    }
  });

  it("pins a host known_hosts does not list yet to the key its first contact recorded", async () => {
    const { byName } = await build("3.4.2", { runtime: "hosts", hosts, sshPrivateKey: KEY });
    const c = byName("3.4.2-install-10.0.0.12")!.inputs.connection as Record<
      string,
      Record<string, unknown>
    >;
    assert.equal(c.hostKey, MOCK_HOST_KEY);
    assert.equal(c.proxy!.hostKey, MOCK_HOST_KEY);
  });

  it("refuses a hosts stack without a key, or with more nodes than hosts, naming the setting", async () => {
    await assert.rejects(
      async () => build("3.4.2", { runtime: "hosts", hosts }),
      /kong-gateway:sshPrivateKey is not set, but runtime is hosts; .*pulumi config set --secret kong-gateway:sshPrivateKey/,
    );
    await assert.rejects(
      async () => build("3.4.2", { runtime: "hosts", hosts, nodes: 3, sshPrivateKey: KEY }),
      /kong-gateway:nodes 3 is more than the 2 host\(s\) in kong-gateway:hosts.addresses/,
    );
    await assert.rejects(
      async () =>
        build("3.4.2", {
          runtime: "hosts",
          hosts: { ...hosts, startCommand: "sudo systemctl start kong-gateway@{id}" },
          sshPrivateKey: KEY,
        }),
      /kong-gateway:hosts\.stopCommand "" is empty while the other one is set/,
    );
    await assert.rejects(
      async () =>
        build("3.4.2", {
          runtime: "hosts",
          nodes: 1,
          hosts: { ...hosts, migrationHost: "10.0.0.12" },
          sshPrivateKey: KEY,
        }),
      /kong-gateway:hosts\.migrationHost "10\.0\.0\.12" is not one of the hosts that run a node/,
    );
    await assert.rejects(
      // A stack config is a string: the type says what is valid, the resolution refuses the rest.
      async () => build("3.4.2", { runtime: "vms" as never }),
      /kong-gateway:runtime "vms" is not a runtime; use "local" .*"hosts" .*"docker"/,
    );
  });
});

describe("KongGateway with runtime docker (mocks: the Docker provider cannot run here)", () => {
  it("starts Y's containers after migrations finish and verifies after the last ready node", async () => {
    const { name, byName } = await build("3.4.2", {
      runtime: "docker",
      nodes: 2,
      docker: { image: "kong/kong-gateway", basePort: 9000 },
    });
    assert.equal(
      registrations
        .filter((r) => r.name.endsWith("3.4.2-install"))
        .map((r) => r.name)
        .join(),
      "",
      "no install command: the image is the installation",
    );
    const containers = registrations.filter((r) => r.type === "docker:index/container:Container");
    assert.equal(containers.length, 2);
    assert.deepEqual(
      containers.map((c) => c.inputs.name),
      [`${name}-3.4.2-node-0`, `${name}-3.4.2-node-1`],
    );
    assert.ok(
      registrations.some(
        (r) =>
          r.type === "docker:index/remoteImage:RemoteImage" &&
          r.inputs.name === "kong/kong-gateway:3.4.2",
      ),
    );
    const verify = byName("install-3.4.2-verify")!;
    assert.deepEqual(deps(verify), [`${name}-3.4.2-node-0-ready`, `${name}-3.4.2-node-1-ready`]);
    const spec = JSON.parse(
      (verify.inputs.environment as Record<string, string>).KONG_GW_SPEC!,
    ) as import("../../components/contract/spec").StepSpec;
    assert.equal(spec.runtime?.kind, "docker");
    assert.deepEqual(
      spec.nodes.map((n) => n.proxyUrl),
      ["http://127.0.0.1:9000", "http://127.0.0.1:9010"],
    );
    for (const c of containers) {
      assert.ok(!JSON.stringify(c.inputs.envs).includes(PASSWORD), "no password in the env");
    }
  });

  it("refuses a tagged image, naming the setting", async () => {
    await assert.rejects(
      async () => build("3.4.2", { runtime: "docker", docker: { image: "kong:3.4.2" } }),
      /kong-gateway:docker\.image "kong:3\.4\.2" is not an image repository without a tag/,
    );
  });
});
