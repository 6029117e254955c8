/**
 * The docker runtime against a MOCK docker client (test/docker/fakeDocker.ts: a fake `docker`
 * executable first on PATH that records its argv and answers from a state file — no Docker
 * engine exists here). Checks what the runner asks docker, in which order, what it concludes
 * from docker's answers, and that the password never reaches argv or the client's environment.
 */
import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  containerSettings,
  nodeLabels,
  readSecretThenExec,
} from "../../components/runner/runtimes/dockerArgv";
import { targetNodes } from "../../components/runner/steps/cluster";
import { dockerRuntime } from "../../components/runner/runtimes/docker";
import { execFile } from "../../components/runner/infra/exec";
import { nodeSettings } from "../../components/runner/infra/kong";
import { pgClientCheck, pgCommand } from "../../components/runner/infra/pgclient";
import { NodeSpec, StepSpec } from "../../components/contract/spec";
import { FakeContainer, fakeDocker, FakeState } from "./fakeDocker";

const PASSWORD = "s3cret-pa55";
const fake = fakeDocker(emptyState());
let server: Server;
let statusBase = "";

function emptyState(): FakeState {
  return {
    containers: {},
    images: [],
    pullable: [],
    networks: ["kgw-net"],
    kongVersion: "3.6.1",
    check: { code: 0, output: "configuration at /etc/kong/kong.conf.default is valid\n" },
  };
}

function node(version: string, i: number): NodeSpec {
  const container = `kgw-${version}-node-${i}`;
  return {
    id: `node-${i}`,
    version,
    kongBin: "kong",
    prefix: `docker:${container}`,
    container,
    proxyListen: "0.0.0.0:8000",
    adminListen: "0.0.0.0:8001",
    statusListen: "0.0.0.0:8100",
    proxyUrl: `http://127.0.0.1:${8000 + 10 * i}`,
    adminUrl: `http://127.0.0.1:${8001 + 10 * i}`,
    // The test's status server answers for a container while the mock engine says it runs.
    statusUrl: `${statusBase}/c/${container}`,
  };
}

function spec(to = "3.6.1", extra: Partial<StepSpec> = {}): StepSpec {
  return {
    runtime: {
      kind: "docker",
      image: "kong",
      network: "kgw-net",
      dockerHost: "",
      databaseHost: "db.internal",
      pgClient: "auto",
      pgClientImage: "postgres:{major}",
    },
    cluster: "kgw",
    stateDir: fake.dir,
    kind: "upgrade",
    from: "3.5.0",
    to,
    generation: 1,
    nodes: [node(to, 0), node(to, 1)],
    plugins: "bundled",
    database: {
      host: "127.0.0.1",
      port: 5432,
      database: "kong",
      user: "kong",
      schema: "",
      ssl: "off",
    },
    backup: { dir: "/var/backups/kgw", verify: "list", retention: 3, minFreeBytes: 0 },
    automaticRollback: true,
    maintenanceWindows: [],
    allowSmallerCluster: false,
    probe: { path: "/", expectStatus: [] },
    timeouts: { quitSeconds: 10, startSeconds: 3, dbTimeoutSeconds: 60, lockTimeoutSeconds: 60 },
    ...extra,
  };
}

/** A container as the DockerCluster component would have created it. */
function created(s: StepSpec, n: NodeSpec, running: boolean): FakeContainer {
  const env = containerSettings(nodeSettings(s, n), "db.internal");
  return {
    id: `id-${n.container}`,
    running,
    exitCode: 0,
    stopSignal: "SIGQUIT",
    labels: nodeLabels({ ...n, cluster: s.cluster, generation: s.generation }),
    env: [
      "PATH=/usr/local/bin",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      "KONG_PG_PASSWORD_FILE=/run/secrets/kong_pg_password",
    ],
  };
}

/** The calls without the read-only inspections, as `verb name`. */
const actions = () =>
  fake
    .calls()
    .map((c) => c.argv)
    .filter((a) => !["container", "ps", "logs", "network", "image"].includes(a[0]!))
    .map((a) => (a[0] === "run" ? `run ${a.at(a.indexOf("kong", 3) + 1)}` : `${a[0]} ${a.at(-1)}`));

before(async () => {
  fake.install();
  process.env.KONG_PG_PASSWORD = PASSWORD;
  server = createServer((req, res) => {
    const name = /^\/c\/([^/]+)\//.exec(req.url ?? "")?.[1] ?? "";
    const up = fake.state().containers[name]?.running === true;
    res.statusCode = up ? 200 : 503;
    res.end(JSON.stringify({ message: up ? "ready" : "failed to connect to database" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  statusBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => fake.reset(emptyState()));

describe("discovery", () => {
  it("reads node records from the labels of the cluster's containers, running or not", async () => {
    const x = spec("3.5.0");
    const y = spec("3.6.1");
    const state = emptyState();
    state.containers = {
      "kgw-3.5.0-node-0": created(x, x.nodes[0]!, false),
      "kgw-3.6.1-node-0": created(y, y.nodes[0]!, true),
      // Another cluster's node and a one-shot (no id label) must not be returned.
      "other-3.6.1-node-0": {
        ...created(y, y.nodes[0]!, true),
        id: "id-other",
        labels: nodeLabels({ ...y.nodes[0]!, cluster: "other", generation: 1 }),
      },
      "kgw-kong-migrations-up-3.6.1": {
        id: "id-job",
        running: true,
        exitCode: 0,
        env: [],
        labels: { "kong-gateway.cluster": "kgw", "kong-gateway.job": "migrations-up" },
      },
    };
    fake.reset(state);
    const recs = await dockerRuntime(y).discover();
    assert.deepEqual(
      recs.map((r) => [r.prefix, r.version, r.generation, r.container, r.kongBin]),
      [
        ["docker:kgw-3.5.0-node-0", "3.5.0", 1, "kgw-3.5.0-node-0", "kong"],
        ["docker:kgw-3.6.1-node-0", "3.6.1", 1, "kgw-3.6.1-node-0", "kong"],
      ],
    );
    assert.equal(recs[0]!.statusUrl, x.nodes[0]!.statusUrl);
    assert.equal(recs[0]!.settings.KONG_PG_HOST, "db.internal");
    assert.ok(!("KONG_PG_PASSWORD_FILE" in recs[0]!.settings));
    const [ps, inspect] = fake.calls().map((c) => c.argv);
    assert.deepEqual(ps, [
      "ps",
      "-a",
      "-q",
      "--no-trunc",
      "--filter",
      "label=kong-gateway.cluster=kgw",
      "--filter",
      "label=kong-gateway.id",
    ]);
    assert.deepEqual(inspect, [
      "container",
      "inspect",
      "id-kgw-3.5.0-node-0",
      "id-kgw-3.6.1-node-0",
    ]);
  });

  it("finds nothing on an engine without the cluster's containers", async () => {
    assert.deepEqual(await dockerRuntime(spec()).discover(), []);
  });
});

describe("start and stop", () => {
  it("stops X before starting Y, each exactly once, and a second call does nothing", async () => {
    const x = spec("3.5.0");
    const y = spec("3.6.1");
    const state = emptyState();
    state.containers = {
      "kgw-3.5.0-node-0": created(x, x.nodes[0]!, true),
      "kgw-3.6.1-node-0": created(y, y.nodes[0]!, false),
    };
    fake.reset(state);
    const rt = dockerRuntime(y);
    const [xRec] = await rt.discover();
    const [yRec] = targetNodes(y);
    assert.deepEqual(await rt.stop(xRec!, 10), { stopped: true });
    assert.deepEqual(await rt.stop(xRec!, 10), { stopped: false });
    const started = await rt.start(yRec!, 3);
    assert.equal(started.skipped, false);
    assert.ok(started.readyAt >= started.startedAt);
    const again = await rt.start(yRec!, 3);
    assert.equal(again.skipped, true);
    assert.deepEqual(actions(), ["stop kgw-3.5.0-node-0", "start kgw-3.6.1-node-0"]);
    const stop = fake.calls().find((c) => c.argv[0] === "stop")!.argv;
    assert.deepEqual(stop, ["stop", "--time", "10", "kgw-3.5.0-node-0"]);
    assert.equal(await rt.running(xRec!), false);
    assert.equal(await rt.running(yRec!), true);
  });

  it("refuses to start a container created with other settings (containers are immutable)", async () => {
    const y = spec("3.6.1");
    const state = emptyState();
    const c = created(y, y.nodes[0]!, false);
    c.env = c.env.map((e) => (e.startsWith("KONG_PLUGINS=") ? "KONG_PLUGINS=bundled,acme" : e));
    state.containers = { "kgw-3.6.1-node-0": c };
    fake.reset(state);
    await assert.rejects(
      dockerRuntime(y).start(targetNodes(y)[0]!, 3),
      /node-0: container kgw-3\.6\.1-node-0 was created with other settings \(KONG_PLUGINS="bundled,acme" instead of "bundled"\).*pulumi up must replace it/,
    );
    assert.deepEqual(actions(), [], "nothing was started");
  });

  it("fails fast with Kong's own error when the container exits instead of becoming ready", async () => {
    const y = spec("3.6.1");
    const state = emptyState();
    const c = created(y, y.nodes[0]!, false);
    c.exitOnStart = true;
    c.logs =
      "Error: /usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua:20: New migrations available; run 'kong migrations up' to proceed\n\n  Run with --v (verbose) or --vv (debug) for more details\n";
    state.containers = { "kgw-3.6.1-node-0": c };
    fake.reset(state);
    const t0 = Date.now();
    await assert.rejects(
      dockerRuntime(y).start(targetNodes(y)[0]!, 30),
      /node-0: Kong 3\.6\.1 in container kgw-3\.6\.1-node-0 exited \(code 1\) before it was ready: Error: .*New migrations available/,
    );
    assert.ok(Date.now() - t0 < 10_000, "did not wait the whole start timeout");
  });

  it("says the stack must create a container that does not exist", async () => {
    const y = spec("3.6.1");
    await assert.rejects(
      dockerRuntime(y).start(targetNodes(y)[0]!, 3),
      /container kgw-3\.6\.1-node-0 does not exist on the docker engine.*pulumi up/,
    );
  });
});

describe("Kong's CLI in one-shot containers", () => {
  it("runs migrations with the password forwarded by name, its value only in the environment", async () => {
    const y = spec("3.6.1");
    const r = await dockerRuntime(y).kong(["migrations", "up", "--db-timeout", "60"], {
      timeoutSeconds: 30,
    });
    assert.equal(r.code, 0);
    const calls = fake.calls();
    // Not `--rm` (engines that remove the container first report exit 0): run, then rm by name.
    assert.deepEqual(
      calls.map((c) => c.argv.slice(0, 2)),
      [
        ["network", "inspect"],
        ["container", "inspect"],
        ["run", "-i"],
        ["rm", "-f"],
      ],
    );
    assert.equal(calls[3]!.argv.at(-1), "kgw-kong-migrations-up-3.6.1");
    const run = calls[2]!;
    assert.ok(!JSON.stringify(calls.map((c) => c.argv)).includes(PASSWORD), "never on argv");
    assert.ok(!run.argv.includes("KONG_PG_PASSWORD"), "not forwarded from the environment");
    assert.equal(run.env.KONG_PG_PASSWORD, undefined, "not in the docker client's environment");
    assert.equal(run.stdin, `${PASSWORD}\n`, "the first line of the container's stdin");
    assert.ok(run.argv.includes("KONG_PG_HOST=db.internal"), "the database as containers see it");
    assert.ok(run.argv.includes("KONG_PLUGINS=bundled"), "the nodes' plugins (Kong/kong#4420)");
    assert.deepEqual(run.argv.slice(run.argv.indexOf("kong:3.6.1")), [
      "kong:3.6.1",
      "sh",
      "-c",
      readSecretThenExec("KONG_PG_PASSWORD"),
      "kong",
      "migrations",
      "up",
      "--db-timeout",
      "60",
    ]);
  });

  it("checks the target: pulls a missing image, then kong version and kong check", async () => {
    const y = spec("3.6.1");
    const state = emptyState();
    state.pullable = ["kong:3.6.1"];
    fake.reset(state);
    assert.deepEqual(await dockerRuntime(y).checkTarget(targetNodes(y)[0]!), []);
    assert.deepEqual(actions(), [
      "pull kong:3.6.1",
      "run version",
      "rm kgw-kong-version-3.6.1",
      "run check",
      "rm kgw-kong-check-3.6.1",
    ]);
    const check = fake
      .calls()
      .map((c) => c.argv)
      .filter((a) => a[0] === "run")
      .at(-1)!;
    assert.ok(check.includes("KONG_PROXY_LISTEN=0.0.0.0:8000"), "the node's container settings");
    assert.ok(!check.includes("--network"), "needs no database, so no network");
  });

  it("reports an unpullable image, a wrong version and a rejected configuration", async () => {
    const y = spec("3.6.1");
    assert.match(
      (await dockerRuntime(y).checkTarget(targetNodes(y)[0]!)).join("\n"),
      /image kong:3\.6\.1 is not on the docker engine and docker pull failed: Error response from daemon: manifest for kong:3\.6\.1 not found/,
    );
    const state = emptyState();
    state.images = ["kong:3.6.1"];
    state.kongVersion = "3.6.0";
    state.check = { code: 1, output: "Error: invalid plugins: foo\n" };
    fake.reset(state);
    const problems = await dockerRuntime(y).checkTarget(targetNodes(y)[0]!);
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /kong:3\.6\.1 reports version "3\.6\.0".*expected 3\.6\.1/);
    assert.match(
      problems[1]!,
      /rejects the nodes' configuration: kong check exited 1: Error: invalid plugins: foo/,
    );
  });
});

describe("the PostgreSQL client", () => {
  const withLocalPgDump = (version: string) => {
    // MOCK pg_dump on PATH (next to the mock docker) reporting `version`.
    const bin = join(fake.dir, "pg_dump");
    writeFileSync(bin, `#!/bin/sh\necho "pg_dump (PostgreSQL) ${version}"\n`);
    chmodSync(bin, 0o755);
    process.env.PATH = `${fake.dir}:${process.env.PATH}`; // a new PATH: versions are re-read
  };

  it("uses a local client that is new enough, a postgres:<major> container otherwise", async () => {
    withLocalPgDump("15.18");
    const args = [
      "-h",
      "127.0.0.1",
      "-p",
      "5432",
      "-U",
      "kong",
      "-d",
      "kong",
      "-f",
      "/var/backups/kgw/a.dump",
    ];
    assert.deepEqual(await pgCommand(spec(), "pg_dump", args, 15), {
      file: "pg_dump",
      args,
      via: "local",
    });
    const c = await pgCommand(spec(), "pg_dump", args, 16);
    assert.equal(c.file, "sh", "docker run, then docker rm (the exit code survives every engine)");
    assert.equal(c.via, "docker");
    assert.equal(c.image, "postgres:16");
    const tail = c.args.slice(c.args.indexOf("postgres:16"));
    assert.deepEqual(tail, [
      "postgres:16",
      "sh",
      "-c",
      readSecretThenExec("PGPASSWORD"),
      "pg_dump",
      "-h",
      "db.internal",
      ...args.slice(2),
    ]);
    assert.ok(c.args.includes("/var/backups/kgw:/var/backups/kgw"), "backup dir at the same path");
    assert.ok(!c.args.includes("PGPASSWORD"), "the password goes on the container's stdin");
    const local = await pgCommand({ ...spec(), runtime: { kind: "local" } }, "pg_dump", args, 16);
    assert.equal(local.via, "local", "other runtimes always use this machine's client");
  });

  it("runs the client container without --rm, keeps its exit code and removes it by name", async () => {
    withLocalPgDump("13.16");
    const c = await pgCommand(spec(), "pg_dump", ["-h", "127.0.0.1", "-f", "/x.dump"], 16);
    // The MOCK docker refuses the pg_dump run (exit 2): the wrapper must exit 2, not rm's 0.
    const r = await execFile(c.file, c.args, { timeoutSeconds: 30 });
    assert.equal(r.code, 2);
    const calls = fake.calls().map((x) => x.argv);
    assert.deepEqual(
      calls.map((a) => a[0]),
      ["run", "rm"],
    );
    assert.ok(!calls[0]!.includes("--rm"));
    const name = calls[0]![calls[0]!.indexOf("--name") + 1]!;
    assert.match(name, /^kgw-pg-dump-\d+-\d+$/);
    assert.deepEqual(calls[1], ["rm", "-f", name]);
  });

  it("explains the choice in preflight, and keeps the old message where nothing can help", async () => {
    withLocalPgDump("13.16");
    const state = emptyState();
    state.pullable = ["postgres:16"];
    fake.reset(state);
    assert.deepEqual(await pgClientCheck(spec(), 16), {
      text: "local pg_dump 13.16 is older than the PostgreSQL 16 server: using postgres:16 containers",
      via: "docker",
    });
    assert.deepEqual(actions(), ["pull postgres:16"]);
    const local = await pgClientCheck({ ...spec(), runtime: { kind: "local" } }, 16);
    assert.equal(
      local.problem,
      "pg_dump 13 cannot back up a PostgreSQL 16 server; install postgresql-client-16",
    );
    withLocalPgDump("15.18");
    assert.deepEqual(await pgClientCheck(spec(), 15), {
      text: "local pg_dump 15.18 is new enough for the PostgreSQL 15 server",
      via: "local",
    });
  });
});
