/**
 * A settings change on a running cluster, at the runner (test/e2e/reconfigure.test.ts drives the
 * same through the real engine): the settings check refuses what would fail only after a node
 * stopped; a node that does not come back with new settings runs again with its old ones and the
 * failure names the setting; a step that exceeds its time limit fails and the usual rollback
 * applies. Real PostgreSQL, the Kong stand-in, the step runner as the command resources run it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { StepSpec } from "../../components/contract/spec";
import { eventually, slowUpstream } from "../support/eventually";
import { freePort, PostgresServer } from "../support/postgres";
import {
  chain,
  ONE_NODE_CHAIN,
  oneNodeSpec,
  runner,
  stepWorld,
  stopStepWorld,
} from "../support/runner";

describe("settings changes on a running node", { timeout: 300_000 }, () => {
  let pg: PostgresServer;
  let password: string;
  let s: StepSpec;
  let bins: Record<string, string>;
  let squatter: Server;
  let takenPort: number;

  const pid = () => readFileSync(join(s.nodes[0]!.prefix, "pids", "nginx.pid"), "utf8").trim();
  const version = async (url: string) =>
    ((await (await fetch(`${url}/`)).json()) as { version: string }).version;
  /** The same node (same prefix) with other settings. */
  const changed = (port: number, extra: Partial<StepSpec> = {}): StepSpec => ({
    ...oneNodeSpec({ ...s }, "install", "3.6.0", { kongBin: bins["3.6.0"]!, port }),
    ...extra,
  });

  before(async () => {
    // Every step here runs through runner(), which hands each command the password itself.
    const world = await stepWorld("reconf", ["3.6.0", "3.7.0"], { passwordInEnv: false });
    ({ pg, password, bins } = world);
    s = oneNodeSpec(world.base, "install", "3.6.0", { kongBin: bins["3.6.0"]!, port: world.port });
    await chain(s, password, ONE_NODE_CHAIN);
    takenPort = await freePort();
    squatter = createServer();
    await new Promise<void>((r) => squatter.listen(takenPort, "127.0.0.1", r));
  });

  after(async () => {
    squatter?.close();
    await stopStepWorld(pg, [s]);
  });

  it("the settings check refuses a port another process holds; the node keeps running", async () => {
    const before = pid();
    const r = await runner(changed(takenPort), password, "settings");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `the settings check refused the change; no node was stopped or restarted:\\n  - node-0: port ${takenPort} \\(KONG_PROXY_LISTEN\\) is already in use by another process on this machine; free it or choose other ports \\(kong-gateway:local\\.basePort\\)`,
      ),
    );
    assert.equal(pid(), before);
    assert.equal(await version(s.nodes[0]!.adminUrl), "3.6.0");
  });

  it("the settings check passes an unchanged node without looking further", async () => {
    const r = await runner(s, password, "settings");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"restarts":\[\],"added":\[\],"chainCompleted":true/);
  });

  it("a node that fails on new ports runs again on its old ones; the failure names the setting", async () => {
    const r = await runner(changed(takenPort), password, "node-start", "node-0");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /node-0 did not start with the changed kong-gateway:local\.basePort\/adminAddress; it runs again with the previous settings\. Cause: /,
    );
    assert.doesNotMatch(r.stderr, /rolling back automatically/, "not the chain's rollback");
    assert.equal(await version(s.nodes[0]!.adminUrl), "3.6.0");
    const rec = JSON.parse(readFileSync(join(s.nodes[0]!.prefix, "kong-gateway.json"), "utf8")) as {
      settings: Record<string, string>;
    };
    assert.equal(rec.settings.KONG_PROXY_LISTEN, s.nodes[0]!.proxyListen, "the old settings");
  });

  it("a plugin the binary lacks: the node runs again with its old plugins, the failure names kong-gateway:plugins", async () => {
    const bad = { ...s, plugins: "bundled,no-such-plugin" };
    const r = await runner(bad, password, "node-start", "node-0");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /node-0 did not start with the changed kong-gateway:plugins; it runs again with the previous settings\. Cause: .*no-such-plugin plugin is enabled but not installed/,
    );
    assert.equal(await version(s.nodes[0]!.adminUrl), "3.6.0");
    // And the good settings are kept afterwards (nothing restarts).
    const again = await runner(s, password, "node-start", "node-0");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /"alreadyRunning":true/);
  });

  it("a step over its time limit fails, its programs stopped, and the automatic rollback restarts X", async () => {
    // A request in flight keeps `kong quit` draining (up to quitSeconds) past the stop's 1 s limit.
    const slow = await slowUpstream(8000);
    try {
      const admin = s.nodes[0]!.adminUrl;
      const proxy = s.nodes[0]!.proxyUrl;
      const post = (path: string, body: unknown) =>
        fetch(`${admin}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      await post("/services", { name: "slow", url: `http://127.0.0.1:${slow.port}` });
      await post("/services/slow/routes", { paths: ["/slow"] });
      await eventually(
        async () => (await fetch(`${proxy}/nothing-here`)).status,
        (code) => code === 404,
      );
      const upgrade: StepSpec = {
        ...oneNodeSpec({ ...s }, "upgrade", "3.7.0", {
          kongBin: bins["3.7.0"]!,
          port: Number(new URL(proxy).port),
        }),
        from: "3.6.0",
        timeouts: { ...s.timeouts, quitSeconds: 10, stepSeconds: { stop: 1 } },
      };
      const reached = slow.arrived();
      const inflight = fetch(`${proxy}/slow`).catch(() => undefined);
      await reached;
      const r = await runner(upgrade, password, "stop");
      await inflight;
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /step "stop" exceeded its time limit of 1s \(kong-gateway:timeouts\.stepSeconds\.stop\); 1 program\(s\) it ran were stopped/,
      );
      assert.match(
        r.stderr,
        /Automatic rollback completed:[\s\S]*started Kong 3\.6\.0 again on node-0/,
      );
      assert.equal(await version(admin), "3.6.0");
    } finally {
      slow.close();
    }
  });
});
