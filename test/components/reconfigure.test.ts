/**
 * Same-version changes with Pulumi mocks (the program's decisions; test/e2e/reconfigure.test.ts
 * runs them through the real engine): what a settings change builds, what it leaves alone, what
 * it refuses before any resource exists, and the maintenance window guard of `up`.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, beforeEach, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import type { DeployedState } from "../../components/chain";
import { installMocks, valueOf } from "../support/mocks";

const registrations = installMocks(); // not a preview: `pulumi up`
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

type Args = ConstructorParameters<Module["KongGateway"]>[1];
let counter = 0;
const stateDir = mkdtempSync(join(tmpdir(), "kong-gw-reconf-"));

const base = (extra: Partial<Args> = {}): Args => ({
  version: "3.5.0",
  nodes: 2,
  stateDir,
  local: { install: "test/kong-sim/install {version} {dir}" },
  databasePassword: "pw",
  stack: "test",
  ...extra,
});

/** Deploys `args` (mocks) and returns what the next run reads back: its `deployment` output. */
async function deploy(args: Args): Promise<{ name: string; deployment: DeployedState }> {
  const name = `kong${counter++}`;
  const gw = new KongGateway(name, args);
  return { name, deployment: await valueOf(gw.deployment) };
}

/** The same stack's next run (same component name) with `args` and what it deployed before. */
async function rerun(name: string, args: Args) {
  registrations.length = 0;
  warnings.length = 0;
  const gw = new KongGateway(name, args);
  await valueOf(gw.deployment);
  const byName = (n: string) => registrations.find((r) => r.name === `${name}-${n}`);
  return { gw, byName };
}

describe("a same-version settings change (reconfigure)", () => {
  it("records the settings and the chain-level settings in the deployment output", async () => {
    const { deployment } = await deploy(base());
    assert.equal(deployment.settings?.["backup.retention"], "5");
    assert.equal(deployment.settings?.plugins, '"bundled"');
    assert.equal(deployment.chainSettings?.backup.retention, 5);
  });

  it("leaves the chain's steps and the nodes' inputs as they were for a backup-only change", async () => {
    const first = await deploy(base());
    const before = await rerun(first.name, base({ deployed: first.deployment }));
    const after = await rerun(
      first.name,
      base({ deployed: first.deployment, backup: { retention: 4 } }),
    );
    for (const step of ["preflight", "stop", "backup", "migrations-up", "verify"]) {
      const r = after.byName(`install-3.5.0-${step}`)!;
      assert.deepEqual(
        r.ignoreChanges.sort(),
        ["create", "dir", "environment", "logging"],
        `${step} never re-runs for a settings change`,
      );
    }
    for (const n of ["3.5.0-node-0", "3.5.0-node-1", "install-3.5.0-settings"]) {
      assert.deepEqual(
        after.byName(n)!.inputs,
        before.byName(n)!.inputs,
        `${n}: backup.retention does not reach it`,
      );
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^Kong 3\.5\.0 stays; settings change in place .*no node restarts/);
    assert.match(warnings[0]!, /backup\.retention: 5 → 4\n\s+nothing to do on the nodes/);
    assert.match(warnings[0]!, /Outage: none: no node restarts/);
  });

  it("sends new plugins to the nodes and the settings check, and says each node restarts", async () => {
    const first = await deploy(base());
    const after = await rerun(
      first.name,
      base({ deployed: first.deployment, plugins: ["bundled", "my-plugin"] }),
    );
    const spec = (n: string) =>
      JSON.parse((after.byName(n)!.inputs.environment as Record<string, string>).KONG_GW_SPEC!) as {
        plugins: string;
      };
    assert.equal(spec("3.5.0-node-0").plugins, "bundled,my-plugin");
    assert.equal(spec("install-3.5.0-settings").plugins, "bundled,my-plugin");
    assert.match(
      warnings[0]!,
      /plugins: "bundled" → "bundled,my-plugin"\n\s+restart, one node at a time/,
    );
    assert.match(warnings[0]!, /Outage: none expected/);
  });

  it("starts added nodes first: node-2 depends on the chain, node-0 on node-2", async () => {
    const first = await deploy(base());
    const after = await rerun(first.name, base({ deployed: first.deployment, nodes: 3 }));
    const deps = (n: string) => after.byName(n)!.dependencies.map((u) => u.split("::").at(-1));
    assert.deepEqual(deps("3.5.0-node-2"), [`${first.name}-install-3.5.0-migrations-finish`]);
    assert.deepEqual(deps("3.5.0-node-0"), [`${first.name}-3.5.0-node-2`]);
    assert.deepEqual(deps("3.5.0-node-1"), [`${first.name}-3.5.0-node-0`]);
    assert.match(
      warnings[0]!,
      /nodes: 2 → 3\n\s+nodes added: 1 node\(s\) start before anything else changes/,
    );
  });

  for (const [what, change, message] of [
    [
      "runtime",
      { runtime: "docker" },
      /kong-gateway:runtime "local" → "docker" cannot change on the running cluster: the nodes run on another runtime/,
    ],
    [
      "database port",
      { database: { mode: "local" as const, port: 15999 } },
      /kong-gateway:database\.port 15432 → 15999 cannot change on the running cluster: the nodes would point at another database/,
    ],
    [
      "stateDir",
      { stateDir: join(stateDir, "elsewhere") },
      /kong-gateway:stateDir .* cannot change on the running cluster: the node records/,
    ],
    [
      "the node count (a shrink)",
      { nodes: 1 },
      /kong-gateway:nodes 2 → 1 cannot change on the running cluster: the cluster would shrink from 2 to 1 nodes; set kong-gateway:capacity\.allowSmallerCluster true/,
    ],
  ] as const) {
    it(`refuses a change of ${what} before any resource exists`, async () => {
      const first = await deploy(base());
      registrations.length = 0;
      assert.throws(
        () =>
          new KongGateway(first.name, {
            ...base({ deployed: first.deployment }),
            ...change,
          } as Args),
        message,
      );
      assert.deepEqual(
        registrations.filter((r) => r.name !== first.name).map((r) => r.name),
        [],
        "nothing but the component itself was registered",
      );
    });
  }
});

describe("guards before side effects", () => {
  it("refuses an upgrade outside its maintenance window at `up` before any resource exists", async () => {
    const first = await deploy(base({ version: "3.4.2" }));
    registrations.length = 0;
    // A window that is never now: one minute, 12 hours away.
    const now = new Date("2026-06-06T12:00:00Z"); // a Saturday
    assert.throws(
      () =>
        new KongGateway(first.name, {
          ...base({ deployed: first.deployment }),
          maintenanceWindows: ["Sun 00:00-00:01 UTC"],
          now,
        }),
      /^Error: kong-gateway:maintenanceWindow \["Sun 00:00-00:01 UTC"\]: .* is outside every window .*; nothing was created or stopped$/s,
    );
    assert.deepEqual(
      registrations.filter((r) => r.name !== first.name).map((r) => r.name),
      [],
      "no install, no step, no node",
    );
  });

  it("refuses a backup directory on a kernel file system in preview already", () => {
    assert.throws(
      () => new KongGateway(`kong${counter++}`, base({ backup: { dir: "/proc/kong-backups" } })),
      /kong-gateway:backup\.dir "\/proc\/kong-backups" is on a kernel file system that cannot hold files; use a directory on a disk/,
    );
  });
});

describe("a backup manifest that cannot be used", () => {
  it("is reported and skipped; it does not block the run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kong-gw-badmanifest-"));
    const backups = join(dir, "backups");
    mkdirSync(backups);
    const name = `kong${counter++}`;
    // What an older release wrote after a same-version re-run of an install.
    writeFileSync(
      join(backups, "kong-unknown-to-3.5.0-20261201T000000Z.json"),
      JSON.stringify({
        id: "kong-unknown-to-3.5.0-20261201T000000Z",
        cluster: name,
        fromVersion: "unknown",
        toVersion: "3.5.0",
        takenAt: "2026-12-01T00:00:00Z",
        path: join(backups, "kong-unknown-to-3.5.0-20261201T000000Z.dump"),
        bytes: 1,
        sha256: "00",
        tables: {},
        verifiedBy: "list",
        pgDump: "pg_dump (PostgreSQL) 15",
      }),
    );
    writeFileSync(join(backups, "torn.json"), "{");
    const gw = new KongGateway(name, base({ stateDir: dir }));
    await valueOf(gw.deployment);
    assert.equal(warnings.length, 3, warnings.join("\n")); // two manifests, then the install plan
    assert.match(
      warnings[0]!,
      /backup manifest .*kong-unknown-to-3\.5\.0-20261201T000000Z\.json records fromVersion "unknown", not a Kong version; skipped \(this backup cannot be restored by the stack\): fix or delete it/,
    );
    assert.match(
      warnings[1]!,
      /backup manifest .*torn\.json is not JSON .*; skipped: fix or delete it/,
    );
  });
});
