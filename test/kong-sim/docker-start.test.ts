/**
 * `kong docker-start` (what Kong's images run as CMD): the node runs in the foreground of the
 * command's own process, which lives exactly as long as the node; SIGQUIT drains like `kong
 * quit`, SIGTERM stops at once; the refusals of `kong start` still apply. Real processes on a
 * real PostgreSQL.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { eventually, slowUpstream } from "../support/eventually";
import { startPostgres, type PostgresServer } from "../support/postgres";
import { freshDb, http, installKong, kong, killNode, nodeEnv, NEEDS_BOOTSTRAP } from "./helpers";

let pg: PostgresServer;
let k36: string;
const prefixes: string[] = [];
const children: ChildProcess[] = [];
const UTILS = "/usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua";

before(async () => {
  pg = await startPostgres();
  k36 = await installKong("3.6.1");
});

after(async () => {
  children.forEach((c) => c.kill("SIGKILL"));
  prefixes.forEach(killNode);
  await pg?.stop();
});

/** A `kong docker-start` process and what it printed so far. */
function dockerStart(env: Record<string, string>) {
  const child = spawn(k36, ["docker-start"], { env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out.stderr += d.toString()));
  // "close", not "exit": the pipes are drained by then, so the output is all there.
  const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
  return { child, out, exited };
}

async function bootstrapped(label: string, extra: Record<string, string> = {}) {
  const n = await nodeEnv(await freshDb(pg, label), extra);
  prefixes.push(n.prefix);
  assert.equal((await kong(k36, ["migrations", "bootstrap", "-q"], n.env)).code, 0);
  return n;
}

async function ready(url: string, seconds = 10): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const r = await http(`${url}/status/ready`).catch(() => undefined);
    if (r?.status === 200) {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${url}/status/ready did not answer 200 within ${seconds}s`);
}

describe("kong docker-start", () => {
  test("runs the node in the foreground; its log goes to the process's output; SIGQUIT drains", async () => {
    const slow = await slowUpstream();
    try {
      const n = await bootstrapped("dstart", { KONG_PROXY_ERROR_LOG: "/dev/stderr" });
      const d = dockerStart(n.env);
      await ready(n.status);
      // The node answers before the command has printed: wait for the line, then check it is all.
      const stdout = await eventually(
        async () => d.out.stdout,
        (o) => o.includes("Kong started"),
      );
      assert.equal(stdout, "Kong started\n");
      assert.equal(d.child.exitCode, null, "the command must stay in the foreground");
      assert.equal((await kong(k36, ["health", "-p", n.prefix], {})).code, 0);
      assert.equal((await http(`${n.admin}/`)).json.version, "3.6.1");
      await http(`${n.admin}/services`, {
        method: "POST",
        body: { name: "slow", url: `http://127.0.0.1:${slow.port}` },
      });
      await http(`${n.admin}/services/slow/routes`, { method: "POST", body: { paths: ["/slow"] } });
      // The node's router picks the route up on its next config refresh.
      const routed = await eventually(
        async () => (await fetch(`${n.proxy}/slow`)).status,
        (status) => status === 200,
      );
      assert.equal(routed, 200);
      const reached = slow.arrived();
      const inflight = fetch(`${n.proxy}/slow`).then(async (r) => [r.status, await r.text()]);
      await Promise.race([
        reached,
        inflight.then((r) => assert.fail(`answered without reaching the upstream: ${String(r)}`)),
      ]);
      d.child.kill("SIGQUIT");
      assert.deepEqual(await inflight, [200, "late but complete"]);
      assert.equal(await d.exited, 0);
      assert.match(d.out.stderr, /\[notice\] \d+#0: signal 3 \(SIGQUIT\) received, shutting down/);
      await assert.rejects(fetch(`${n.proxy}/slow`));
      assert.equal((await kong(k36, ["health", "-p", n.prefix], {})).code, 1);
    } finally {
      slow.close();
    }
  });

  test("SIGTERM stops at once, exit 0; a stale pid file does not stop the next start", async () => {
    const n = await bootstrapped("dterm");
    const first = dockerStart(n.env);
    await ready(n.status);
    first.child.kill("SIGTERM");
    assert.equal(await first.exited, 0);
    await assert.rejects(http(`${n.admin}/`));
    // A killed container leaves its pid file; the number may name a live process next time.
    mkdirSync(join(n.prefix, "pids"), { recursive: true });
    writeFileSync(join(n.prefix, "pids", "nginx.pid"), `${process.pid}\n`);
    const second = dockerStart(n.env);
    await ready(n.status);
    second.child.kill("SIGTERM");
    assert.equal(await second.exited, 0);
  });

  test("refuses like kong start: exit 1, Kong's error, nothing left running", async () => {
    const n = await nodeEnv(await freshDb(pg, "dboot"));
    prefixes.push(n.prefix);
    const d = dockerStart(n.env);
    assert.equal(await d.exited, 1);
    assert.equal(d.out.stdout, "");
    assert.ok(d.out.stderr.startsWith(`Error: ${UTILS}:16: ${NEEDS_BOOTSTRAP}`), d.out.stderr);
    await assert.rejects(http(`${n.status}/status`));
  });
});
