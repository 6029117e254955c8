/**
 * Nodes (KONG.md §3): start/health/quit/stop of a real detached process, the refusals of `kong
 * start`, old nodes before and after `finish`, readiness with a database that goes away, draining,
 * and the start faults.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { eventually, slowUpstream } from "../support/eventually";
import { startPostgres, type PostgresServer } from "../support/postgres";
import {
  EXACT,
  freshDb,
  http,
  installKong,
  kong,
  killNode,
  nodeEnv,
  NEEDS_BOOTSTRAP,
  RUN_WITH_V,
} from "./helpers";

let pg: PostgresServer;
let k28: string;
let k30: string;
let k36: string;
const prefixes: string[] = [];

before(async () => {
  pg = await startPostgres();
  [k28, k30, k36] = await Promise.all([
    installKong("2.8.4"),
    installKong("3.0.1"),
    installKong("3.6.1"),
  ]);
});

after(async () => {
  prefixes.forEach(killNode);
  await pg?.stop();
});

async function node(
  label: string,
  extra: Record<string, string> = {},
  db?: Awaited<ReturnType<typeof freshDb>>,
) {
  const n = await nodeEnv(db ?? (await freshDb(pg, label)), extra);
  prefixes.push(n.prefix);
  return n;
}

const START = "/usr/local/share/lua/5.1/kong/cmd/start.lua";
const UTILS = "/usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua";

describe("start, health, quit, stop", () => {
  test("a started node is a detached server; health, quit and stop behave as Kong's", async () => {
    const n = await node("life");
    assert.equal((await kong(k36, ["migrations", "bootstrap"], n.env)).code, 0);
    const t0 = Date.now();
    assert.deepEqual(await kong(k36, ["start"], n.env), EXACT.started);
    const ready = await http(`${n.status}/status/ready`);
    assert.deepEqual([ready.status, ready.json], [200, { message: "ready" }]);
    assert.ok(Date.now() - t0 < 20_000, "start returned once ready, well inside its 30 s limit");
    const pid = Number(readFileSync(join(n.prefix, "pids", "nginx.pid"), "utf8"));
    assert.ok(pid > 0 && pid !== process.pid);
    assert.deepEqual(await kong(k36, ["start"], n.env), {
      code: 1,
      stdout: "",
      stderr: `Error: Kong is already running in ${n.prefix}\n${RUN_WITH_V}`,
    });
    assert.deepEqual(await kong(k36, ["health", "-p", n.prefix], {}), {
      code: 0,
      stdout: `nginx.......running\n\nKong is healthy at ${n.prefix}\n`,
      stderr: "",
    });
    const status = await http(`${n.status}/status`);
    assert.deepEqual(Object.keys(status.json).sort(), ["database", "memory", "server"]);
    assert.deepEqual(status.json.database, { reachable: true });
    assert.deepEqual((await http(`${n.admin}/`)).json.version, "3.6.1");
    assert.deepEqual(await kong(k36, ["quit", "-p", n.prefix], {}), EXACT.quit);
    assert.equal(existsSync(join(n.prefix, "pids", "nginx.pid")), false);
    assert.deepEqual(await kong(k36, ["health", "-p", n.prefix], {}), {
      code: 1,
      stdout: "nginx.......not running\n\n",
      stderr: `Error: Kong is not running at ${n.prefix}\n${RUN_WITH_V}`,
    });
    assert.deepEqual(await kong(k36, ["stop", "-p", n.prefix], {}), {
      code: 1,
      stdout: "",
      stderr: `Error: nginx not running in prefix: ${n.prefix}\n${RUN_WITH_V}`,
    });
    assert.equal((await kong(k36, ["start"], n.env)).code, 0);
    assert.deepEqual(await kong(k36, ["stop", "-p", n.prefix], {}), EXACT.stopped);
    await assert.rejects(http(`${n.admin}/`));
    assert.deepEqual(await kong(k36, ["health", "-p", "/nonexistent/prefix"], {}), {
      code: 1,
      stdout: "",
      stderr: `Error: no such prefix: /nonexistent/prefix\n${RUN_WITH_V}`,
    });
  });

  test("quit drains: an in-flight request finishes, then the node exits", async () => {
    const slow = await slowUpstream();
    const port = slow.port;
    try {
      const n = await node("drain");
      await kong(k36, ["migrations", "bootstrap", "-q"], n.env);
      await kong(k36, ["start"], n.env);
      await http(`${n.admin}/services`, {
        method: "POST",
        body: { name: "slow", url: `http://127.0.0.1:${port}` },
      });
      await http(`${n.admin}/services/slow/routes`, { method: "POST", body: { paths: ["/slow"] } });
      const reached = slow.arrived();
      const inflight = fetch(`${n.proxy}/slow`).then(async (r) => [r.status, await r.text()]);
      await Promise.race([
        reached,
        inflight.then((r) => assert.fail(`answered without reaching the upstream: ${String(r)}`)),
      ]);
      const quit = await kong(k36, ["quit", "-p", n.prefix], {});
      assert.deepEqual(await inflight, [200, "late but complete"]);
      assert.equal(quit.stdout, "Kong stopped (gracefully)\n");
      await assert.rejects(fetch(`${n.proxy}/slow`));
    } finally {
      slow.close();
    }
  });
});

describe("a stale pid file", () => {
  test("naming an unrelated live process: stop, quit, reload and health leave it alone; start starts", async () => {
    const n = await node("stale");
    assert.equal((await kong(k36, ["migrations", "bootstrap", "-q"], n.env)).code, 0);
    assert.equal((await kong(k36, ["start"], n.env)).code, 0);
    const pidFile = join(n.prefix, "pids", "nginx.pid");
    process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
    // The killed node's pid file stays; by now its number (pids wrap) runs another program.
    const other = spawn("sleep", ["300"], { stdio: "ignore" });
    const otherExit = new Promise((r) => other.once("exit", (code, sig) => r(sig ?? code)));
    try {
      // Until it has exec'd, the child's command line is still this test's.
      const cmdline = await eventually(
        async () => readFileSync(`/proc/${other.pid}/cmdline`, "utf8"),
        (c) => c.startsWith("sleep"),
      );
      assert.match(cmdline, /^sleep/);
      for (const cmd of [["stop"], ["quit", "-t", "1"], ["reload"]]) {
        writeFileSync(pidFile, `${other.pid}\n`);
        assert.deepEqual(await kong(k36, [...cmd, "-p", n.prefix], {}), {
          code: 1,
          stdout: "",
          stderr: `Error: nginx not running in prefix: ${n.prefix}\n${RUN_WITH_V}`,
        });
        assert.equal(existsSync(pidFile), false, `${cmd[0]} removed the stale pid file`);
      }
      writeFileSync(pidFile, `${other.pid}\n`);
      assert.equal((await kong(k36, ["health", "-p", n.prefix], {})).code, 1);
      writeFileSync(pidFile, `${other.pid}\n`);
      assert.deepEqual(await kong(k36, ["start"], n.env), EXACT.started);
      assert.notEqual(Number(readFileSync(pidFile, "utf8")), other.pid);
      assert.deepEqual(await kong(k36, ["stop", "-p", n.prefix], {}), EXACT.stopped);
      assert.equal(other.exitCode ?? other.signalCode, null, "the unrelated process still runs");
    } finally {
      other.kill("SIGKILL");
      await otherExit;
    }
  });
});

describe("kong start refuses as Kong does", () => {
  test("database not bootstrapped", async () => {
    const n = await node("nb");
    assert.deepEqual(await kong(k36, ["start"], n.env), {
      code: 1,
      stdout: "",
      stderr: `Error: ${UTILS}:16: ${NEEDS_BOOTSTRAP}\n${RUN_WITH_V}`,
    });
  });
  test("new migrations", async () => {
    const n = await node("new");
    await kong(k28, ["migrations", "bootstrap", "-q"], n.env);
    assert.deepEqual(await kong(k30, ["start"], n.env), {
      code: 1,
      stdout: "",
      stderr: `Error: ${UTILS}:20: New migrations available; run 'kong migrations up' to proceed\n${RUN_WITH_V}`,
    });
    assert.equal(existsSync(join(n.prefix, "pids", "nginx.pid")), false);
  });
  test("a listener port already in use", async () => {
    const a = await node("port");
    await kong(k36, ["migrations", "bootstrap", "-q"], a.env);
    await kong(k36, ["start"], a.env);
    const b = await nodeEnv(await freshDb(pg, "port2"), {
      KONG_ADMIN_LISTEN: a.admin.replace("http://", ""),
    });
    prefixes.push(b.prefix);
    await kong(k36, ["migrations", "bootstrap", "-q"], b.env);
    const r = await kong(k36, ["start"], b.env);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `Error: ${START}:81: nginx: [emerg] bind() to ${a.admin.replace("http://", "")} failed (98: Address already in use)\nnginx: [emerg] still could not bind()\n${RUN_WITH_V}`,
    );
    await kong(k36, ["stop"], a.env);
  });
  test("KONG_SIM_FAIL_START: the node dies in init, start fails, nothing keeps running", async () => {
    const n = await node("failstart", { KONG_SIM_FAIL_START: "1" });
    await kong(k36, ["migrations", "bootstrap", "-q"], n.env);
    const r = await kong(k36, ["start"], n.env);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Error: \/usr\/local\/share\/lua\/5\.1\/kong\/cmd\/start\.lua:81: nginx: \[error\] init_by_lua error: .*simulated start failure \(KONG_SIM_FAIL_START\)\n/,
    );
    await assert.rejects(http(`${n.admin}/`));
    assert.equal((await kong(k36, ["health", "-p", n.prefix], {})).code, 1);
  });
});

describe("old and new versions on one database", () => {
  test("pending only: the new node starts and logs the pending table; the old node still serves", async () => {
    const db = await freshDb(pg, "bluegreen");
    const blue = await node("blue", {}, db);
    await kong(k28, ["migrations", "bootstrap", "-q"], blue.env);
    await kong(k28, ["start"], blue.env);
    await http(`${blue.admin}/services`, {
      method: "POST",
      body: { name: "s", url: "http://echo.sim" },
    });
    await http(`${blue.admin}/services/s/routes`, { method: "POST", body: { paths: ["/s"] } });
    assert.equal((await kong(k30, ["migrations", "up"], blue.env)).code, 0);
    const green = await node("green", {}, db);
    const started = await kong(k30, ["start"], green.env);
    assert.deepEqual(started, {
      code: 0,
      stdout:
        "Database has pending migrations:\n    core: 016_280_to_300\nhttp-log: 001_280_to_300\nKong started\n",
      stderr: "",
    });
    const viaGreen = await http(`${green.proxy}/s`);
    assert.equal((viaGreen.json.node as { version: string }).version, "3.0.1");
    await kong(k28, ["stop"], blue.env);
    assert.deepEqual(
      await kong(k28, ["start"], blue.env),
      { code: 0, stdout: "Kong started\n", stderr: "" },
      "old node restarts after up",
    );
    assert.equal((await http(`${blue.proxy}/s`)).status, 200);

    // After finish the 3.0 teardown dropped vaults_beta, which 2.8 reads: the old node breaks.
    assert.equal((await kong(k30, ["migrations", "finish"], green.env)).code, 0);
    // The old node fails on its next config refresh.
    const broken = await eventually(
      () => http(`${blue.proxy}/s`),
      (r) => r.status === 500,
    );
    assert.deepEqual(
      [broken.status, broken.json],
      [500, { message: "An unexpected error occurred" }],
    );
    await kong(k28, ["stop"], blue.env);
    assert.equal(
      (await kong(k28, ["start"], blue.env)).stdout,
      "Kong started\n",
      "Kong's start check passes",
    );
    assert.equal((await http(`${blue.proxy}/s`)).status, 500);
    assert.match(
      readFileSync(join(blue.prefix, "logs", "error.log"), "utf8"),
      /\[error\] .*relation "vaults_beta" does not exist/,
    );
    assert.equal((await http(`${green.proxy}/s`)).status, 200, "the new node is fine");
    await kong(k28, ["stop"], blue.env);
    await kong(k30, ["stop"], green.env);
  });
});

describe("readiness", () => {
  test("database unreachable while running: reachable false, ready 503, cached config still served", async () => {
    const own = await startPostgres();
    try {
      const n = await node("down", {}, await own.createDatabase("down"));
      await kong(k36, ["migrations", "bootstrap", "-q"], n.env);
      await kong(k36, ["start"], n.env);
      await http(`${n.admin}/services`, {
        method: "POST",
        body: { name: "s", url: "http://echo.sim" },
      });
      await http(`${n.admin}/services/s/routes`, { method: "POST", body: { paths: ["/s"] } });
      await own.stop();
      const status = await eventually(
        () => http(`${n.status}/status`),
        (r) => (r.json.database as { reachable: boolean }).reachable === false,
      );
      assert.deepEqual(status.json.database, { reachable: false });
      const ready = await http(`${n.status}/status/ready`);
      assert.deepEqual(
        [ready.status, ready.json],
        [503, { message: "failed to connect to database" }],
      );
      assert.equal((await http(`${n.proxy}/s`)).status, 200);
      await kong(k36, ["stop"], n.env);
    } finally {
      await own.stop();
    }
  });
  test("KONG_SIM_UNREADY_AFTER_MS turns a node unready after N ms", async () => {
    const n = await node("unready", { KONG_SIM_UNREADY_AFTER_MS: "800" });
    await kong(k36, ["migrations", "bootstrap", "-q"], n.env);
    await kong(k36, ["start"], n.env);
    assert.equal((await http(`${n.status}/status/ready`)).status, 200);
    const r = await eventually(
      () => http(`${n.status}/status/ready`),
      (res) => res.status !== 200,
    );
    assert.deepEqual([r.status, r.json], [503, { message: "failed to connect to database" }]);
    await kong(k36, ["stop"], n.env);
  });
  test("/status/ready exists from 3.3 only", async () => {
    const n = await node("ready30", { KONG_STATUS_LISTEN: "" });
    const env = { ...n.env, KONG_STATUS_LISTEN: n.status.replace("http://", "") };
    await kong(k30, ["migrations", "bootstrap", "-q"], env);
    await kong(k30, ["start"], env);
    assert.deepEqual((await http(`${n.status}/status/ready`)).status, 404);
    assert.equal((await http(`${n.status}/status`)).status, 200);
    await kong(k30, ["stop"], env);
  });
});
