/**
 * The docker runtime against a REAL container engine: the runner's docker driver
 * (components/runner/runtimes/docker.ts), its command lines (components/runner/runtimes/dockerArgv.ts) and the pg
 * client routing (components/runner/infra/pgclient.ts), driven by the real step runner.
 *
 * Real: the engine (podman 4.3 serving the Docker Engine API on a socket of its own,
 * test/support/dockerEngine.ts), the docker CLI talking to it through DOCKER_HOST, containers,
 * networks, published ports, images (built here at test time from this machine's node and the
 * Kong stand-in, test/kong-sim — the stand-in plays Kong: it is not Kong), PostgreSQL
 * (test/support/postgres.ts, reached by the containers at their network's gateway address), the
 * bundled step runner (`node .tools/runner/run.js <step>`), the backups and the journal.
 *
 * Not real: Docker Engine itself (podman stands in for it; its gaps — no `host-gateway`, health
 * checks that never run without systemd — are the engine's, not the program's), and the
 * `@pulumi/docker` provider, which cannot be built here (the Go module proxy refuses its module).
 * In its place the test creates each node container with `docker create` + `docker cp` from
 * nodeContainer() (components/docker/container.ts), the very function DockerCluster builds its
 * `docker.Container` resources from: same name, image, environment, labels, ports, password file,
 * stop signal and timeout. Created stopped, as the component creates them.
 *
 * Then the `prepared` strategy (3.6.0 → 3.6.1): a first attempt failing in verify restarts X
 * with no restore (a consumer written through X kept); the next one backs up and runs `up` while
 * 3.6.0 serves, with an outage (external prober on both proxies) only between stop and start and
 * the configuration as before. Last, `rolling` on a patch hop (3.6.1 → 3.6.2): each node-start
 * stops its X container and starts Y's on the same published ports, and a client trying both
 * proxies is always answered.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { ChainDecision, stepSpec } from "../../components/chain";
import {
  withDefaults,
  type DockerRuntimeArgs,
  type PlainSettings,
} from "../../components/config/config";
import { NodeContainer, nodeContainer } from "../../components/docker/container";
import { runnerBundleProblem } from "../../components/runnerBundle";
import { StepSpec } from "../../components/contract/spec";
import type { UpgradeReport } from "../../components/contract/report";
import {
  buildKongImage,
  buildPgClientImage,
  dockerCli,
  DockerEngine,
  dockerOk,
  removeTestImages,
  startDockerEngine,
} from "../support/dockerEngine";
import { eventually } from "../support/eventually";
import { freePort, PostgresServer, startPostgres } from "../support/postgres";
import { longestOutage, startProber } from "../support/prober";
import { chain, runnerChain, type RunResult } from "../support/runner";

const ROOT = resolve(__dirname, "../..");
const CLUSTER = `kgwe${process.pid}`;
const NETWORK = `${CLUSTER}-net`;
const IMAGE = "localhost/kong";
const PG_IMAGE = "localhost/postgres:{major}";
/** The nodes' host ports (node i at +10i): a freePort() run, reserved across test processes. */
let basePort = 0;
const PASSWORD = "kong-engine-pa55";

let engine: DockerEngine;
let pg: PostgresServer;
let gateway = "";
let work = "";
const docker = (args: readonly string[]) => dockerOk(engine.dockerHost, args);

/** The resolved configuration of a `runtime: docker` stack at `version`. */
function config(
  version: string,
  dockerArgs: DockerRuntimeArgs = {},
  more: Partial<PlainSettings> = {},
) {
  return withDefaults(
    {
      version,
      ...more,
      runtime: "docker",
      nodes: 2,
      stateDir: join(work, "state"),
      database: { mode: "existing", host: "127.0.0.1", port: pg.port },
      backup: { minFreeMb: 0 },
      docker: {
        image: IMAGE,
        network: NETWORK,
        basePort,
        databaseHost: gateway,
        pgClient: "local",
        pgClientImage: PG_IMAGE,
        ...dockerArgs,
      },
      timeouts: { quitSeconds: 10, startSeconds: 60 },
    },
    ROOT,
    "engine-test",
  );
}

function specOf(
  chain: ChainDecision,
  dockerArgs: DockerRuntimeArgs = {},
  more: Partial<PlainSettings> = {},
): StepSpec {
  return stepSpec(config(chain.to, dockerArgs, more), CLUSTER, chain);
}

/** `docker create` + `docker cp` of what DockerCluster declares (the provider's two calls). */
function createArgs(c: NodeContainer): string[] {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  return [
    "create",
    "--pull",
    "never",
    "--name",
    c.name,
    ...Object.entries(c.env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
    ...Object.entries(c.labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    ...c.groupAdd.flatMap((g) => ["--group-add", g]),
    ...c.ports.flatMap((p) => ["-p", `${p.ip}:${p.external}:${p.internal}`]),
    ...c.hosts.flatMap((h) => ["--add-host", `${h.host}:${h.ip}`]),
    "--network",
    c.network,
    // The provider sends the exec form; the CLI only has the shell form of the same command.
    "--health-cmd",
    c.healthcheck.test.slice(1).map(quote).join(" "),
    "--health-interval",
    `${c.healthcheck.intervalSeconds}s`,
    "--health-timeout",
    `${c.healthcheck.timeoutSeconds}s`,
    "--health-retries",
    String(c.healthcheck.retries),
    "--health-start-period",
    `${c.healthcheck.startPeriodSeconds}s`,
    "--stop-signal",
    c.stopSignal,
    "--stop-timeout",
    String(c.stopTimeoutSeconds),
    "--restart",
    c.restart,
    c.image,
  ];
}

/** Creates (stopped) the node containers of `spec`, each with its password file uploaded. */
async function createNodes(spec: StepSpec): Promise<NodeContainer[]> {
  const settings = { publishAddress: "127.0.0.1" };
  const secret = join(work, "password");
  writeFileSync(secret, PASSWORD);
  const out: NodeContainer[] = [];
  for (const n of spec.nodes) {
    const c = nodeContainer(spec, n, settings);
    chmodSync(secret, Number.parseInt(c.passwordFile.permissions, 8));
    await docker(createArgs(c));
    await docker(["cp", secret, `${c.name}:${c.passwordFile.path}`]);
    out.push(c);
  }
  return out;
}

/** One runner command, as the component's command resources run it. */
function runner(spec: StepSpec, step: string, arg?: string): Promise<RunResult> {
  return new Promise((done) => {
    execFile(
      "node",
      [".tools/runner/run.js", step, ...(arg ? [arg] : [])],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          KONG_GW_SPEC: JSON.stringify(spec),
          KONG_PG_PASSWORD: PASSWORD,
          DOCKER_HOST: engine.dockerHost,
        },
        timeout: 300_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** Runs `steps` in order through the bundle; each must succeed. */
const chainOk = (spec: StepSpec, steps: readonly string[]) => chain(spec, PASSWORD, steps, runner);

const UPGRADE_STEPS = runnerChain("upgrade", 2);

interface Inspected {
  State: { Running: boolean; ExitCode: number; Status: string };
}

async function inspect(name: string): Promise<Inspected> {
  return (JSON.parse(await docker(["container", "inspect", name])) as Inspected[])[0]!;
}

async function json(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  assert.ok(r.ok, `${init?.method ?? "GET"} ${url}: ${r.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

const post = (url: string, body: unknown) =>
  json(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** Entity counts through the Admin API. */
async function counts(adminUrl: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of ["services", "routes", "consumers", "plugins"]) {
    out[e] = ((await json(`${adminUrl}/${e}?size=1000`)).data as unknown[]).length;
  }
  return out;
}

/** The version a proxied request reports (the stand-in answers `echo.sim` services itself). */
async function proxiedVersion(proxyUrl: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await fetch(`${proxyUrl}/echo`, { signal: AbortSignal.timeout(5_000) });
    if (r.status === 200) {
      return ((await r.json()) as { node: { version: string } }).node.version;
    }
    if (Date.now() > deadline) {
      assert.fail(`${proxyUrl}/echo answered ${r.status}: ${await r.text()}`);
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** A hash of the configuration tables (no 3.6.0 → 3.6.1 migration rewrites them). */
async function configHash(): Promise<string> {
  const parts: string[] = [];
  for (const t of ["services", "routes", "consumers", "plugins"]) {
    const rows = await pg.query<{ h: string }>(
      "kong",
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) AS h FROM ${t} t`,
    );
    parts.push(`${t}:${rows[0]?.h}`);
  }
  return parts.join(" ");
}

/** Journal steps of one attempt, in the order the runner wrote them. */
function journal(spec: StepSpec): { step: string; ok: boolean }[] {
  const file = join(spec.stateDir, "journal", `${CLUSTER}-${spec.kind}-${spec.to}-g1.jsonl`);
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { step: string; ok: boolean });
}

/**
 * Jobs (one-shot containers) the engine ran for this cluster since `since`: `<job> <action>`,
 * once every one of `expected` (e.g. `version start`) is among them or 60 s have passed. podman
 * stops reading its event log at `--until`, and under load it may not have reached the latest
 * events by then: it is asked again until they show (or the caller's assertion says what it saw).
 */
async function jobEvents(since: number, expected: readonly string[]): Promise<string[]> {
  return eventually(
    () => jobEventsOnce(since),
    (jobs) => expected.every((e) => jobs.includes(e)),
    60,
    500,
  );
}

async function jobEventsOnce(since: number): Promise<string[]> {
  const out = await docker([
    "events",
    "--since",
    String(Math.floor(since / 1000)),
    "--until",
    String(Math.ceil(Date.now() / 1000) + 1),
    "--filter",
    `label=kong-gateway.cluster=${CLUSTER}`,
    "--filter",
    "type=container",
    "--format",
    '{{index .Actor.Attributes "kong-gateway.job"}} {{.Action}}',
  ]);
  return out
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^\S+ (create|start|died|remove)$/.test(l));
}

const X: ChainDecision = { kind: "install", to: "3.5.0", generation: 1 };
const Y: ChainDecision = { kind: "upgrade", from: "3.5.0", to: "3.6.0", generation: 1 };
const Z: ChainDecision = { kind: "upgrade", from: "3.6.0", to: "3.7.0", generation: 1 };
const P: ChainDecision = { kind: "upgrade", from: "3.6.0", to: "3.6.1", generation: 1 };
const P2: ChainDecision = { ...P, generation: 2 };
const PREPARED = { strategy: "prepared" } as const;
const R: ChainDecision = { kind: "upgrade", from: "3.6.1", to: "3.6.2", generation: 1 };
const ROLLING = { strategy: "rolling" } as const;
const PG_CLIENT_IN_DOCKER: DockerRuntimeArgs = { pgClient: "docker" };

before(async () => {
  work = mkdtempSync(join(tmpdir(), "kong-gw-engine-"));
  chmodSync(work, 0o755);
  // Built by `npm run setup` (scripts/ensure-runner.sh), as for the command resources.
  assert.equal(runnerBundleProblem(), undefined);
  basePort = await freePort();
  engine = await startDockerEngine();
  await docker(["network", "create", "--label", `kong-gateway.cluster=${CLUSTER}`, NETWORK]);
  const ipam = JSON.parse(
    await docker(["network", "inspect", "--format", "{{json .IPAM.Config}}", NETWORK]),
  ) as { Subnet: string; Gateway: string }[];
  gateway = ipam[0]!.Gateway;
  // Containers reach this machine's PostgreSQL at their network's gateway address.
  pg = await startPostgres({ listenAll: true, allow: [ipam[0]!.Subnet] });
  await pg.query("postgres", `CREATE ROLE kong LOGIN PASSWORD '${PASSWORD}'`);
  await pg.query("postgres", "CREATE DATABASE kong OWNER kong");
  const major = Math.floor(
    Number(
      (
        await pg.query<{ v: string }>(
          "postgres",
          "SELECT current_setting('server_version_num') AS v",
        )
      )[0]!.v,
    ) / 10000,
  );
  const bindir = (
    await new Promise<string>((res, rej) =>
      execFile("bash", [join(ROOT, "scripts/pg-server.sh"), "bindir"], (e, o) =>
        e ? rej(e) : res(o),
      ),
    )
  ).trim();
  await buildKongImage(engine.dockerHost, IMAGE, "3.5.0");
  await buildKongImage(engine.dockerHost, IMAGE, "3.6.0");
  await buildKongImage(engine.dockerHost, IMAGE, "3.6.1");
  await buildKongImage(engine.dockerHost, IMAGE, "3.6.2");
  // 3.7.0's `migrations finish` crashes half-way through a teardown (a stand-in fault).
  await buildKongImage(engine.dockerHost, IMAGE, "3.7.0", {
    env: { KONG_SIM_FAIL_MIGRATION: "ai-proxy/001_360_to_370:teardown" },
  });
  await buildPgClientImage(engine.dockerHost, PG_IMAGE.replace("{major}", String(major)), bindir);
});

after(async () => {
  if (engine) {
    const ids = await dockerCli(engine.dockerHost, [
      "ps",
      "-a",
      "-q",
      "--filter",
      `label=kong-gateway.cluster=${CLUSTER}`,
    ]);
    const list = ids.stdout.split("\n").filter((l) => l.trim() !== "");
    if (list.length > 0) {
      await dockerCli(engine.dockerHost, ["rm", "-f", ...list]);
    }
    // The engine may still be tearing the containers' network ends down: retry for a while.
    for (let i = 0; i < 20; i++) {
      const r = await dockerCli(engine.dockerHost, ["network", "rm", NETWORK]);
      if (r.code === 0 || /not found|no such network/i.test(r.stderr)) {
        break;
      }
      if (i === 19) {
        console.error(`docker network rm ${NETWORK}: ${r.stderr}`);
      }
      await new Promise((res) => setTimeout(res, 500));
    }
    await removeTestImages(engine.dockerHost);
    await engine.stop();
  }
  await pg?.stop();
  if (work) {
    rmSync(work, { recursive: true, force: true });
  }
});

describe("docker runtime on a real engine", { timeout: 900_000 }, () => {
  let adminX = "";
  let seeded: Record<string, number> = {};

  it("installs 3.5.0: containers created stopped, then started by node-start, ready on their published ports", async () => {
    const spec = specOf(X);
    const made = await createNodes(spec);
    for (const c of made) {
      assert.equal((await inspect(c.name)).State.Running, false, `${c.name} created stopped`);
    }
    const results = await chainOk(spec, UPGRADE_STEPS);
    assert.match(results[0]!.stdout, /KONG_GW_STEP /);
    assert.match(results.at(-1)!.stdout, /KONG_GW_REPORT /);
    for (const c of made) {
      assert.equal((await inspect(c.name)).State.Running, true, `${c.name} runs`);
    }
    adminX = spec.nodes[0]!.adminUrl;
    // The version over the published Admin API port of each node; the password reached Kong
    // through KONG_PG_PASSWORD_FILE and the image's entrypoint (no KONG_PG_PASSWORD in its env).
    for (const n of spec.nodes) {
      assert.equal((await json(`${n.adminUrl}/`)).version, "3.5.0");
    }
    const env = JSON.parse(
      await docker(["container", "inspect", "--format", "{{json .Config.Env}}", made[0]!.name]),
    ) as string[];
    assert.ok(env.includes("KONG_PG_PASSWORD_FILE=/run/secrets/kong_pg_password"));
    assert.ok(!env.some((e) => e.startsWith("KONG_PG_PASSWORD=")));
    assert.ok(!env.some((e) => e.includes(PASSWORD)));
    // The file is 0440 root:0: group 0 (which the container's user gets) reads it, others don't.
    // (It has no final newline, as the provider uploads it.)
    const readAs = (user: string) =>
      dockerCli(engine.dockerHost, [
        "exec",
        "--user",
        user,
        made[0]!.name,
        "sh",
        "-c",
        `{ IFS= read -r pw || [ -n "$pw" ]; } < ${made[0]!.passwordFile.path} && test "$pw" = "${PASSWORD}"`,
      ]);
    assert.equal((await readAs("4242:0")).code, 0, "a user of group 0 reads the password file");
    assert.notEqual((await readAs("4242:4242")).code, 0, "any other user cannot");
  });

  it("serves entities written through the Admin API on every node", async () => {
    await post(`${adminX}/services`, { name: "echo", url: "http://echo.sim" });
    await post(`${adminX}/services/echo/routes`, { name: "echo", paths: ["/echo"] });
    await post(`${adminX}/services`, { name: "other", url: "http://echo.sim/other" });
    await post(`${adminX}/consumers`, { username: "alice" });
    await post(`${adminX}/consumers`, { username: "bob" });
    await post(`${adminX}/services/echo/plugins`, {
      name: "rate-limiting",
      config: { minute: 1000, policy: "local" },
    });
    seeded = await counts(adminX);
    assert.deepEqual(seeded, { services: 2, routes: 1, consumers: 2, plugins: 1 });
    for (const n of specOf(X).nodes) {
      assert.equal(await proxiedVersion(n.proxyUrl), "3.5.0");
    }
  });

  it("upgrades 3.5.0 → 3.6.0: stops X gracefully, migrates in one-shot containers, starts Y on the same ports", async () => {
    const x = specOf(X);
    const spec = specOf(Y);
    const made = await createNodes(spec);
    const since = Date.now() - 1000;
    const yRuns = async () =>
      Promise.all(made.map(async (c) => (await inspect(c.name)).State.Running));
    await chainOk(spec, ["preflight", "stop"]);
    // X: stopped by `stop` with the image's SIGQUIT (graceful: exit 0, not SIGKILL's 137).
    for (const n of x.nodes) {
      const s = (await inspect(n.container!)).State;
      assert.deepEqual([s.Running, s.ExitCode], [false, 0], `${n.container} stopped gracefully`);
      const logs = await dockerCli(engine.dockerHost, ["logs", n.container!]);
      assert.match(logs.stderr + logs.stdout, /signal 3 \(SIGQUIT\) received/);
    }
    // Every one-shot container's configuration, read while it exists: no password in it.
    const seen = new Map<string, string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const ids = await dockerCli(engine.dockerHost, [
          "ps",
          "-a",
          "-q",
          "--filter",
          `label=kong-gateway.cluster=${CLUSTER}`,
          "--filter",
          "label=kong-gateway.job",
        ]);
        for (const id of ids.stdout.split("\n").filter((l) => l.trim() !== "")) {
          const r = await dockerCli(engine.dockerHost, [
            "container",
            "inspect",
            "--format",
            "{{.Name}} {{json .Config}}",
            id,
          ]);
          if (r.code === 0) {
            seen.set(id, r.stdout);
          }
        }
      }
    })();
    await chainOk(spec, ["backup", "migrations-up", "migrations-finish"]);
    watching = false;
    await watcher;
    assert.ok(
      [...seen.values()].some((c) => c.includes("migrations")),
      `a migrations one-shot was inspected while it existed: ${[...seen.values()].map((c) => c.split(" ")[0]).join(", ")}`,
    );
    for (const config of seen.values()) {
      assert.ok(!config.includes(PASSWORD), `no password in a one-shot's config: ${config}`);
    }
    assert.deepEqual(await yRuns(), [false, false], "Y waits for node-start");
    const results = await chainOk(spec, UPGRADE_STEPS.slice(5));
    // Y: running, 3.6.0 on its published ports, nothing lost.
    for (const c of made) {
      assert.equal((await inspect(c.name)).State.Running, true);
    }
    for (const n of spec.nodes) {
      assert.equal((await json(`${n.adminUrl}/`)).version, "3.6.0");
      assert.equal(await proxiedVersion(n.proxyUrl), "3.6.0");
    }
    assert.deepEqual(await counts(spec.nodes[0]!.adminUrl), seeded);
    // Migrations ran in one-shot containers of the 3.6.0 image, removed after (`--rm`).
    // (3.5 → 3.6 leaves no teardown pending for the bundled plugins: finish only lists.)
    const ran = ["version", "check", "migrations-list", "migrations-up"];
    const jobs = await jobEvents(
      since,
      ran.map((j) => `${j} start`),
    );
    for (const job of ran) {
      assert.ok(jobs.includes(`${job} start`), `a ${job} one-shot ran: ${jobs.join(", ")}`);
    }
    const left = await docker([
      "ps",
      "-a",
      "-q",
      "--filter",
      `label=kong-gateway.cluster=${CLUSTER}`,
      "--filter",
      "label=kong-gateway.job",
    ]);
    assert.equal(left.trim(), "", "one-shot containers are removed");
    // The journal, in the order the chain ran; the report after verify.
    assert.deepEqual(
      journal(spec).map((e) => `${e.step}${e.ok ? "" : " (failed)"}`),
      [
        "preflight",
        "stop",
        "backup",
        "migrations-up",
        "migrations-finish",
        "start",
        "start",
        "verify",
      ],
    );
    const report = JSON.parse(/KONG_GW_REPORT (.*)/.exec(results.at(-1)!.stdout)![1]!) as {
      lastUpgrade: { from: string; to: string; outcome: string };
    };
    assert.deepEqual(
      [report.lastUpgrade.from, report.lastUpgrade.to, report.lastUpgrade.outcome],
      ["3.5.0", "3.6.0", "succeeded"],
    );
  });

  it("node-delete of X's nodes leaves them stopped for the provider to remove", async () => {
    const x = specOf(X);
    for (const n of x.nodes) {
      const r = await runner(x, "node-delete", n.id);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await inspect(n.container!)).State.Running, false);
      await docker(["rm", n.container!]);
    }
    const y = specOf(Y);
    for (const n of y.nodes) {
      assert.equal((await json(`${n.adminUrl}/`)).version, "3.6.0");
    }
  });

  it("3.6.0 → 3.7.0 with pg_dump/pg_restore in containers: a failing finish restores the database and restarts 3.6.0", async () => {
    const y = specOf(Y, PG_CLIENT_IN_DOCKER);
    const spec = specOf(Z, PG_CLIENT_IN_DOCKER);
    const made = await createNodes(spec);
    const since = Date.now() - 1000;
    const pre = await chainOk(spec, ["preflight", "stop", "backup", "migrations-up"]);
    assert.match(pre[0]!.stderr + pre[0]!.stdout, /localhost\/postgres:\d+ containers/);
    const finish = await runner(spec, "migrations-finish");
    assert.equal(finish.code, 1, finish.stderr);
    assert.match(finish.stderr, /simulated crash during teardown/);
    assert.match(finish.stderr, /rolled back|rollback/i);
    // X (3.6.0) runs again on the restored database; Y (3.7.0) never started.
    for (const n of y.nodes) {
      assert.equal((await inspect(n.container!)).State.Running, true, `${n.container} restarted`);
      assert.equal((await json(`${n.adminUrl}/`)).version, "3.6.0");
      assert.equal(await proxiedVersion(n.proxyUrl), "3.6.0");
    }
    for (const c of made) {
      assert.equal((await inspect(c.name)).State.Running, false, `${c.name} never ran`);
    }
    assert.deepEqual(await counts(y.nodes[0]!.adminUrl), seeded);
    const rows = await pg.query<{ n: number }>(
      "kong",
      "SELECT count(*)::int AS n FROM schema_meta WHERE executed::text LIKE '%370%' OR pending::text LIKE '%370%'",
    );
    assert.equal(rows[0]!.n, 0, "no 3.7 migration is recorded after the restore");
    const ran = ["migrations-up", "migrations-finish", "pg_dump", "pg_restore"];
    const jobs = await jobEvents(
      since,
      ran.map((j) => `${j} start`),
    );
    for (const job of ran) {
      assert.ok(jobs.includes(`${job} start`), `a ${job} container ran: ${jobs.join(", ")}`);
    }
  });
  it("prepared 3.6.0 → 3.6.1 failing in verify: X restarted with no restore; a consumer written through X is kept", async () => {
    const x = specOf(Y);
    // Kong answers 404 on an unmatched route: expecting 418 makes verify fail once Y serves.
    const spec = specOf(P, {}, { ...PREPARED, probe: { path: "/", expectStatus: [418] } });
    const made = await createNodes(spec);
    await post(`${x.nodes[0]!.adminUrl}/consumers`, { username: "written-through-x" });
    await chainOk(spec, runnerChain("upgrade", 2, "prepared").slice(0, 6));
    const failed = await runner(spec, "verify");
    assert.equal(failed.code, 1, failed.stderr);
    const text = failed.stderr + failed.stdout;
    assert.match(text, /Automatic rollback completed/);
    assert.match(text, /kept the database as it is: 'kong migrations finish' had not run/);
    assert.doesNotMatch(text, /restored backup/);
    for (const n of x.nodes) {
      assert.equal((await inspect(n.container!)).State.Running, true, `${n.container} restarted`);
      assert.equal(await proxiedVersion(n.proxyUrl), "3.6.0");
    }
    for (const c of made) {
      assert.equal((await inspect(c.name)).State.Running, false, `${c.name} stopped`);
    }
    assert.equal(
      (await json(`${x.nodes[0]!.adminUrl}/consumers/written-through-x`)).username,
      "written-through-x",
    );
    const pending = await pg.query<{ n: number }>(
      "kong",
      "SELECT count(*)::int AS n FROM schema_meta WHERE pending::text LIKE '%001_331_to_332%'",
    );
    assert.equal(pending[0]!.n, 1, "3.6.1's up stays applied (no restore); finish never ran");
  });

  it("prepared 3.6.0 → 3.6.1, next attempt: the outage is only stop → start; configuration as before", async () => {
    const x = specOf(Y);
    // Same containers as the failed attempt (named by version and node, not by attempt).
    const spec = specOf(P2, {}, PREPARED);
    const before = await configHash();
    const prober = startProber(
      x.nodes.map((n) => `${n.proxyUrl}/echo`),
      20,
    );
    const results = await chainOk(spec, runnerChain("upgrade", 2, "prepared"));
    const outage = longestOutage(await prober.stop());
    const { lastUpgrade: report } = JSON.parse(
      /KONG_GW_REPORT (.*)/.exec(results.at(-1)!.stdout)![1]!,
    ) as { lastUpgrade: UpgradeReport };
    const step = (name: string) => report.steps.find((s) => s.name === name)!;
    process.stderr.write(
      `[engine] prepared: prober outage ${outage}s, reported ${report.downtimeSeconds}s; ${report.steps.map((s) => `${s.name} ${s.seconds}s`).join(", ")}\n`,
    );
    assert.deepEqual(
      report.steps.map((s) => s.name),
      ["preflight", "backup", "migrations-up", "stop", "start", "verify", "migrations-finish"],
    );
    assert.equal(report.outcome, "succeeded");
    // Down from the first stop to the first ready node: inside stop → start, after the backup
    // and `up` (X served through them), before verify and finish (Y serves through them).
    assert.ok(report.outage, "an outage is reported");
    assert.ok(report.outage.startedAt >= step("stop").startedAt);
    assert.ok(report.outage.startedAt >= step("migrations-up").finishedAt);
    assert.ok(report.outage.endedAt <= step("start").finishedAt);
    assert.ok(report.outage.endedAt <= step("verify").startedAt);
    assert.ok(
      report.downtimeSeconds <= step("stop").seconds + step("start").seconds + 0.02,
      `downtime ${report.downtimeSeconds}s within stop ${step("stop").seconds}s + start ${step("start").seconds}s`,
    );
    assert.ok(
      outage <= report.downtimeSeconds + 0.3,
      `prober outage ${outage}s within the reported ${report.downtimeSeconds}s (+ probe interval)`,
    );
    assert.equal(await configHash(), before, "the configuration tables are as before");
    for (const n of spec.nodes) {
      assert.equal((await json(`${n.adminUrl}/`)).version, "3.6.1");
      assert.equal(await proxiedVersion(n.proxyUrl), "3.6.1");
    }
    for (const n of x.nodes) {
      assert.equal((await inspect(n.container!)).State.Running, false, `${n.container} stopped`);
    }
  });

  it("rolling 3.6.1 → 3.6.2: each node-start stops its X container and starts Y's on the same ports; a client trying both is always answered", async () => {
    const x = specOf(P2, {}, PREPARED);
    const spec = specOf(R, {}, ROLLING);
    const before = await configHash();
    await createNodes(spec);
    const prober = startProber(
      x.nodes.map((n) => `${n.proxyUrl}/echo`),
      20,
    );
    const results = await chainOk(spec, runnerChain("upgrade", 2, "rolling"));
    const probes = await prober.stop();
    const { lastUpgrade: report } = JSON.parse(
      /KONG_GW_REPORT (.*)/.exec(results.at(-1)!.stdout)![1]!,
    ) as { lastUpgrade: UpgradeReport };
    process.stderr.write(
      `[engine] rolling: ${probes.length} probes, outage ${longestOutage(probes)}s; ${report.steps.map((s) => `${s.name} ${s.seconds}s`).join(", ")}\n`,
    );
    assert.deepEqual(
      report.steps.map((s) => s.name),
      ["preflight", "backup", "migrations-up", "start", "verify", "migrations-finish"],
    );
    assert.equal(report.downtimeSeconds, 0);
    assert.ok(probes.length > 20, `the prober ran (${probes.length} probes)`);
    assert.equal(longestOutage(probes), 0, "some container answered every probe");
    assert.equal(await configHash(), before, "the configuration tables are as before");
    for (const n of spec.nodes) {
      assert.equal(await proxiedVersion(n.proxyUrl), "3.6.2");
    }
    for (const n of x.nodes) {
      assert.equal((await inspect(n.container!)).State.Running, false, `${n.container} stopped`);
    }
  });
});
