/**
 * `rolling` and `prepared` at the runner level (the processes the command resources start, in the
 * step table's order), against a real PostgreSQL and two stand-in nodes, without Pulumi: a failed
 * verify rolls back without a restore and keeps a write made through X after the backup; then
 * the upgrade replaces one node at a time while a prober on both proxies never goes unanswered;
 * then `prepared` starts Y while X still finishes a write in flight, and backs that write up.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { entries } from "../../components/state/journal";
import { StepSpec } from "../../components/contract/spec";
import { seed } from "../../scripts/seed";
import type { PostgresServer } from "../support/postgres";
import { longestOutage, startProber } from "../support/prober";
import {
  chain,
  oneNodeSpec,
  runner,
  runnerChain,
  stepWorld,
  stopStepWorld,
  type SpecBase,
} from "../support/runner";

describe("rolling and prepared through the step runner", { timeout: 300_000 }, () => {
  let pg: PostgresServer;
  let base: SpecBase;
  let password = "";
  let port = 0;
  let bins: Record<string, string> = {};

  /** A two-node local spec: node i on port + 10i, prefixes where the chain puts them. */
  const spec = (kind: StepSpec["kind"], to: string, extra: Partial<StepSpec> = {}): StepSpec => {
    const one = (i: number) =>
      oneNodeSpec(base, kind, to, { kongBin: bins[to]!, port: port + 10 * i }, extra).nodes[0]!;
    const nodes = [0, 1].map((i) => {
      const n = one(i);
      return { ...n, id: `node-${i}`, prefix: n.prefix.replace(/node-0$/, `node-${i}`) };
    });
    return { ...oneNodeSpec(base, kind, to, { kongBin: bins[to]!, port }, extra), nodes };
  };

  before(async () => {
    ({ pg, bins, port, password, base } = await stepWorld("strategies", [
      "3.6.1",
      "3.6.2",
      "3.6.3",
    ]));
  });

  after(() =>
    stopStepWorld(pg, [
      spec("install", "3.6.1"),
      spec("upgrade", "3.6.2", { from: "3.6.1" }),
      spec("upgrade", "3.6.3", { from: "3.6.2" }),
    ]),
  );

  it("installs 3.6.1 on two nodes", async () => {
    await chain(spec("install", "3.6.1"), password, runnerChain("install", 2));
    await seed(`http://127.0.0.1:${port + 1}`, { services: 5, consumers: 5 });
  });

  it("a failed verify restarts X with no restore; a write through X after the backup is kept", async () => {
    const s = spec("upgrade", "3.6.2", {
      from: "3.6.1",
      strategy: "rolling",
      probe: { path: "/", expectStatus: [418] },
    });
    const order = runnerChain("upgrade", 2, "rolling");
    assert.deepEqual(order, [
      "preflight",
      "backup",
      "migrations-up",
      "node-start node-0",
      "node-start node-1",
      "verify",
      "migrations-finish",
    ]);
    await chain(s, password, order.slice(0, 2));
    const res = await fetch(`http://127.0.0.1:${port + 11}/services`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "after-backup", url: "http://127.0.0.1:9/" }),
    });
    assert.equal(res.status, 201);
    await chain(s, password, order.slice(2, 5));
    const v = await runner(s, password, "verify");
    assert.equal(v.code, 1);
    assert.match(v.stderr, /step "verify"/);
    assert.match(v.stderr, /kept the database as it is/);
    assert.doesNotMatch(v.stderr, /restored backup/);
    assert.ok(!entries(s).some((e) => e.step === "restore"), "nothing was restored");
    for (const i of [0, 1]) {
      const root = (await (await fetch(`http://127.0.0.1:${port + 10 * i + 1}/`)).json()) as {
        version: string;
      };
      assert.equal(root.version, "3.6.1", `node-${i} serves X again`);
    }
    const svc = await fetch(`http://127.0.0.1:${port + 1}/services/after-backup`);
    assert.equal(svc.status, 200, "the write made after the backup is still there");
  });

  it("replaces one node at a time: a client trying both nodes is always answered", async () => {
    const s = spec("upgrade", "3.6.2", { from: "3.6.1", strategy: "rolling", generation: 2 });
    const prober = startProber([`http://127.0.0.1:${port}/`, `http://127.0.0.1:${port + 10}/`], 20);
    await chain(s, password, runnerChain("upgrade", 2, "rolling"));
    const probes = await prober.stop();
    assert.ok(probes.length > 20, `the prober ran (${probes.length} probes)`);
    assert.equal(longestOutage(probes), 0);
    const starts = entries(s).filter((e) => e.step === "start" && e.ok);
    assert.deepEqual(
      starts.map((e) => e.details?.replaced),
      [["node-0@3.6.1"], ["node-1@3.6.1"]],
      "each start replaced its own X node",
    );
    const svc = await fetch(`http://127.0.0.1:${port + 11}/services/after-backup`);
    assert.equal(svc.status, 200);
  });

  it("prepared: Y starts once X's listeners close, while X still finishes a write in flight, which the fresh backup keeps", async () => {
    const s = spec("upgrade", "3.6.3", { from: "3.6.2", strategy: "prepared" });
    const order = runnerChain("upgrade", 2, "prepared");
    const stopAt = order.indexOf("stop");
    assert.deepEqual(order.slice(stopAt, stopAt + 3), [
      "stop",
      "node-start node-0",
      "node-start node-1",
    ]);
    await chain(s, password, order.slice(0, stopAt));
    // A write to X's Admin API, its body not yet all sent: X's node has it in flight.
    const body = JSON.stringify({ name: "in-flight", url: "http://127.0.0.1:9/" });
    const sock = connect({ host: "127.0.0.1", port: port + 1 });
    let reply = "";
    sock.on("data", (d: Buffer) => (reply += d.toString()));
    const closed = new Promise<void>((r) => sock.on("close", () => r()));
    await new Promise<void>((r) => sock.once("connect", () => r()));
    sock.write(
      `POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`,
    );
    // The outage's run: stop, then both starts, then X's nodes gone.
    const outage = runner(s, password, "stop");
    // Y answers on X's ports while the write is still in flight on X (its process is alive).
    const deadline = Date.now() + 60_000;
    let version: string | undefined;
    while (version !== "3.6.3" && Date.now() < deadline) {
      version = await fetch(`http://127.0.0.1:${port + 1}/`)
        .then((r) => r.json() as Promise<{ version: string }>)
        .then((j) => j.version)
        .catch(() => undefined);
    }
    assert.equal(version, "3.6.3", "Y serves on X's ports before X has finished");
    assert.equal(reply, "", "X has not answered the write yet");
    sock.write(body.slice(5));
    await closed;
    assert.match(reply, /^HTTP\/1\.1 201/, `X finished the write in flight:\n${reply}`);
    const r = await outage;
    assert.equal(r.code, 0, r.stderr);
    const stops = entries(s).filter((e) => e.step === "stop" && e.ok);
    assert.equal(stops.length, 2, "the stop is journaled again once X's nodes are gone");
    assert.ok(stops[0]?.details?.listenersClosedAt, "the first entry: X's listeners closed");
    assert.equal(stops[1]?.details?.writesSinceBackup, 1, "the write X finished is seen");
    assert.ok(stops[1]?.details?.freshBackup, "and backed up again after X was gone");
    await chain(s, password, order.slice(stopAt + 3));
    const svc = await fetch(`http://127.0.0.1:${port + 11}/services/in-flight`);
    assert.equal(svc.status, 200, "Y serves the write X finished");
  });
});
