/**
 * DockerCluster with Pulumi mocks: which docker resources a version's cluster declares, how they
 * are named, wired and ordered, and where the password goes. (Mocks: no Docker engine exists
 * here; these tests check the program's decisions, not docker's behaviour.)
 */
import assert from "node:assert/strict";
import { before, beforeEach, describe, it } from "node:test";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { NodeSpec, StepSpec } from "../../components/contract/spec";
import type { DockerClusterSettings } from "../../components/dockerCluster";
import { installMocks, isSecret, Registration, valueOf } from "../support/mocks";

const registrations = installMocks();
type Module = typeof import("../../components/dockerCluster");
let DockerCluster: Module["DockerCluster"];

before(async () => {
  ({ DockerCluster } = await import("../../components/dockerCluster"));
});
beforeEach(() => {
  registrations.length = 0;
});

const PASSWORD = "s3cret-pa55";

function node(cluster: string, version: string, i: number, base = 8000): NodeSpec {
  const container = `${cluster}-${version}-node-${i}`;
  const at = (p: number) => `http://127.0.0.1:${base + 10 * i + p}`;
  return {
    id: `node-${i}`,
    version,
    kongBin: "kong",
    prefix: `docker:${container}`,
    container,
    proxyListen: "0.0.0.0:8000",
    adminListen: "0.0.0.0:8001",
    statusListen: "0.0.0.0:8100",
    proxyUrl: at(0),
    adminUrl: at(1),
    statusUrl: at(2),
  };
}

function spec(cluster: string, version: string, network = `${cluster}-net`): StepSpec {
  return {
    runtime: {
      kind: "docker",
      image: "kong",
      network,
      dockerHost: "",
      databaseHost: "db.internal",
      pgClient: "auto",
      pgClientImage: "postgres:{major}",
    },
    cluster,
    stateDir: "/tmp/kgw",
    kind: "upgrade",
    from: "3.5.0",
    to: version,
    generation: 2,
    nodes: [node(cluster, version, 0), node(cluster, version, 1)],
    plugins: "bundled",
    database: {
      host: "127.0.0.1",
      port: 5432,
      database: "kong",
      user: "kong",
      schema: "",
      ssl: "off",
    },
    backup: { dir: "/tmp/kgw/backups", verify: "list", retention: 3, minFreeBytes: 0 },
    automaticRollback: true,
    maintenanceWindows: [],
    allowSmallerCluster: false,
    probe: { path: "/", expectStatus: [] },
    timeouts: { quitSeconds: 12, startSeconds: 45, dbTimeoutSeconds: 60, lockTimeoutSeconds: 60 },
  };
}

let counter = 0;

/** Builds a cluster after a stand-in `migrations-finish` step; waits for every registration. */
async function build(
  s: StepSpec,
  docker: DockerClusterSettings = { createNetwork: true, publishAddress: "127.0.0.1" },
) {
  const name = `${s.cluster}-${s.to}`;
  const startAfter = new command.local.Command(`${s.cluster}-upgrade-${s.to}-migrations-finish`, {
    create: "true",
  });
  const c = new DockerCluster(name, {
    spec: s,
    password: PASSWORD,
    runnerDir: "/repo",
    startAfter,
    docker,
  });
  await Promise.all([...c.nodes, ...c.containers].map((r) => valueOf(r.urn)));
  const byName = (n: string) => registrations.find((r) => r.name === n);
  return { c, name, byName };
}

const short = (r: Registration | undefined) =>
  (r?.dependencies ?? []).map((u) => u.split("::").at(-1)).sort();

describe("DockerCluster", () => {
  it("declares the provider, the version's image, the network and one container per node", async () => {
    const cluster = `kgw${counter++}`;
    const { name, byName } = await build(spec(cluster, "3.6.1"));
    const mine = registrations.filter((r) => r.type !== "command:local:Command");
    assert.deepEqual(
      mine.map((r) => `${r.type} ${r.name}`).sort(),
      [
        `docker:index/container:Container ${name}-node-0`,
        `docker:index/container:Container ${name}-node-1`,
        `docker:index/network:Network ${cluster}-net`,
        `docker:index/remoteImage:RemoteImage ${name}-image`,
        `kong-gateway:index:DockerCluster ${name}`,
        `pulumi:providers:docker ${cluster}-docker`,
      ].sort(),
    );
    assert.deepEqual(byName(`${name}-image`)!.inputs, { name: "kong:3.6.1", keepLocally: true });
    assert.equal(byName(`${cluster}-net`)!.inputs.name, `${cluster}-net`);
    const c0 = byName(`${name}-node-0`)!;
    assert.equal(c0.inputs.name, `${cluster}-3.6.1-node-0`);
    assert.match(c0.parent, new RegExp(`DockerCluster::${name}$`));
    assert.deepEqual(short(c0), [`${name}-image`, `${cluster}-net`].sort());
  });

  it("keeps the password out of env and command: a secret file upload read via _FILE", async () => {
    const { name, byName } = await build(spec(`kgw${counter++}`, "3.6.1"));
    for (const id of ["node-0", "node-1"]) {
      const r = byName(`${name}-${id}`)!;
      const envs = r.inputs.envs as string[];
      assert.ok(!JSON.stringify({ ...r.inputs, uploads: undefined }).includes(PASSWORD));
      assert.ok(!envs.some((e) => e.startsWith("KONG_PG_PASSWORD=")));
      assert.ok(envs.includes("KONG_PG_PASSWORD_FILE=/run/secrets/kong_pg_password"));
      assert.ok(envs.includes("KONG_PG_HOST=db.internal"), "the database as containers see it");
      assert.ok(envs.includes("KONG_STATUS_LISTEN=0.0.0.0:8100"));
      assert.equal(r.inputs.command, undefined);
      const uploads = r.inputs.uploads as Record<string, string>[];
      assert.deepEqual(
        uploads.map((u) => [u.file, u.content, u.permissions, u.owner, u.group]),
        [["/run/secrets/kong_pg_password", PASSWORD, "0440", "0", "0"]],
        "readable by root and group 0 only",
      );
      assert.deepEqual(r.inputs.groupAdds, ["0"], "the container's user may read it");
      const raw = r.rawInputs.uploads as unknown;
      const first = Array.isArray(raw) ? (raw[0] as Record<string, unknown>) : undefined;
      assert.ok(isSecret(raw) || isSecret(first) || isSecret(first?.content), "upload is secret");
    }
    const ready = registrations.filter((r) => r.name.endsWith("-ready"));
    assert.equal(ready.length, 2);
    for (const r of ready) {
      const env = r.rawInputs.environment as Record<string, unknown>;
      assert.ok(isSecret(env) || isSecret(env.KONG_PG_PASSWORD), `${r.name}: secret password`);
      assert.ok(!String(r.inputs.create).includes(PASSWORD));
    }
  });

  it("publishes basePort+10i, +1, +2, labels the node, and stops it with SIGQUIT", async () => {
    const cluster = `kgw${counter++}`;
    const s = spec(cluster, "3.6.1");
    const { name, byName, c } = await build(s);
    const c1 = byName(`${name}-node-1`)!.inputs;
    assert.deepEqual(c1.ports, [
      { internal: 8000, external: 8010, ip: "127.0.0.1" },
      { internal: 8001, external: 8011, ip: "127.0.0.1" },
      { internal: 8100, external: 8012, ip: "127.0.0.1" },
    ]);
    assert.deepEqual(c1.labels, [
      { label: "kong-gateway.cluster", value: cluster },
      { label: "kong-gateway.id", value: "node-1" },
      { label: "kong-gateway.version", value: "3.6.1" },
      { label: "kong-gateway.generation", value: "2" },
      { label: "kong-gateway.status-url", value: "http://127.0.0.1:8012" },
      { label: "kong-gateway.admin-url", value: "http://127.0.0.1:8011" },
      { label: "kong-gateway.proxy-url", value: "http://127.0.0.1:8010" },
    ]);
    assert.equal(c1.stopSignal, "SIGQUIT");
    assert.equal(c1.stopTimeout, 12);
    assert.equal(c1.restart, "no");
    assert.equal(c1.start, false, "the runner starts it (node-start), so a failure rolls back");
    assert.equal(c1.mustRun, false);
    assert.deepEqual(c1.networksAdvanced, [{ name: `${cluster}-net` }]);
    const hc = c1.healthcheck as { tests: string[]; startPeriod: string };
    assert.match(hc.tests.join(" "), /GET \/status /);
    assert.equal(hc.startPeriod, "45s");
    assert.deepEqual(c.proxyUrls, ["http://127.0.0.1:8000", "http://127.0.0.1:8010"]);
    assert.deepEqual(c.adminUrls, ["http://127.0.0.1:8001", "http://127.0.0.1:8011"]);
  });

  it("starts the nodes one after another, the first after startAfter, each after its container", async () => {
    const cluster = `kgw${counter++}`;
    const { name, byName, c } = await build(spec(cluster, "3.6.1"));
    const r0 = byName(`${name}-node-0-ready`)!;
    const r1 = byName(`${name}-node-1-ready`)!;
    assert.deepEqual(
      short(r0),
      [`${cluster}-upgrade-3.6.1-migrations-finish`, `${name}-node-0`].sort(),
    );
    assert.deepEqual(short(r1), [`${name}-node-0-ready`, `${name}-node-1`].sort());
    assert.equal(r0.inputs.create, "node .tools/runner/run.js node-start node-0");
    assert.equal(r0.inputs.delete, "node .tools/runner/run.js node-delete node-0");
    assert.deepEqual(r0.inputs.triggers, [2, "upgrade"]);
    const urns = await Promise.all(c.nodes.map((n) => valueOf(n.urn)));
    assert.deepEqual(urns, [r0.urn, r1.urn], "nodes are the start commands, in start order");
  });

  it("joins an existing network without declaring one, and talks to the configured engine", async () => {
    const cluster = `kgw${counter++}`;
    const { name, byName } = await build(spec(cluster, "3.4.3.12", "shared-db-net"), {
      createNetwork: false,
      publishAddress: "127.0.0.1",
    });
    assert.ok(!registrations.some((r) => r.type === "docker:index/network:Network"));
    assert.deepEqual(byName(`${name}-node-0`)!.inputs.networksAdvanced, [
      { name: "shared-db-net" },
    ]);
    assert.deepEqual(short(byName(`${name}-node-0`)), [`${name}-image`]);
    registrations.length = 0;
    const s = spec(`kgw${counter++}`, "3.6.1");
    const remote = {
      ...s,
      runtime: { ...s.runtime!, dockerHost: "ssh://ops@docker-1" },
    } as StepSpec;
    const { byName: b2 } = await build(remote);
    assert.equal(b2(`${remote.cluster}-docker`)!.inputs.host, "ssh://ops@docker-1");
  });

  it("takes image, network, engine and ports from the spec alone; refuses a spec of another runtime", async () => {
    const cluster = `kgw${counter++}`;
    const s = spec(cluster, "3.6.1", "net-x");
    const { name, byName } = await build({
      ...s,
      runtime: { ...s.runtime!, image: "kong/kong-gateway" } as StepSpec["runtime"],
    });
    assert.equal(byName(`${name}-image`)!.inputs.name, "kong/kong-gateway:3.6.1");
    assert.deepEqual(byName(`${name}-node-0`)!.inputs.networksAdvanced, [{ name: "net-x" }]);
    const after = new command.local.Command(`x${counter++}`, { create: "true" });
    assert.throws(
      () =>
        new DockerCluster(`bad${counter++}`, {
          spec: { ...s, runtime: { kind: "local" } },
          password: PASSWORD,
          runnerDir: "/",
          startAfter: after,
          docker: { createNetwork: true, publishAddress: "127.0.0.1" },
        }),
      (e: Error) =>
        e instanceof pulumi.ResourceError && /runtime "docker", got "local"/.test(e.message),
    );
  });
});
