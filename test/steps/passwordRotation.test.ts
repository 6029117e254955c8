/**
 * A rotated database password reaches running nodes: the runner records a salted digest of the
 * password each node was started with (never the password), and `node-start` restarts a running
 * node whose password changed. Real PostgreSQL (the role's password really changes), the Kong
 * stand-in, the step runner as the command resources run it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { StepSpec } from "../../components/contract/spec";
import type { PostgresServer } from "../support/postgres";
import {
  chain,
  ONE_NODE_CHAIN,
  oneNodeSpec,
  runner,
  stepWorld,
  stopStepWorld,
} from "../support/runner";

describe("database password rotation", { timeout: 300_000 }, () => {
  let pg: PostgresServer;
  let password: string;
  let s: StepSpec;

  const startedNode = async (pw: string) => {
    const [r] = await chain(s, pw, ["node-start node-0"]);
    return JSON.parse(/KONG_GW_STEP (.*)/.exec(r!.stdout)![1]!) as {
      details: { alreadyRunning: boolean };
    };
  };
  const pid = () => readFileSync(join(s.nodes[0]!.prefix, "pids", "nginx.pid"), "utf8").trim();
  const record = () => readFileSync(join(s.nodes[0]!.prefix, "kong-gateway.json"), "utf8");

  before(async () => {
    // Each command gets its password from the test (the role's password changes below).
    const world = await stepWorld("rotate", ["3.6.0"], { passwordInEnv: false });
    ({ pg, password } = world);
    s = oneNodeSpec(world.base, "install", "3.6.0", {
      kongBin: world.bins["3.6.0"]!,
      port: world.port,
    });
    await chain(s, password, ONE_NODE_CHAIN);
  });

  after(async () => {
    await stopStepWorld(pg, [s]);
  });

  it("keeps a node whose password did not change; the record holds a digest, not the password", async () => {
    const before = pid();
    assert.equal((await startedNode(password)).details.alreadyRunning, true);
    assert.equal(pid(), before);
    assert.ok(!record().includes(password), "the password is not in the node's record");
    assert.match(record(), /"passwordDigest": "scrypt:[0-9a-f]{32}:[0-9a-f]{64}"/);
  });

  it("a password PostgreSQL refuses stops at preflight; the node is not touched", async () => {
    const before = pid();
    const r = await runner(s, `${password}-not-set-in-postgres`, "preflight");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /preflight refused the change .*nothing was stopped or written/);
    assert.match(r.stderr, /password authentication failed for user "kong"/);
    assert.equal(pid(), before);
  });

  it("restarts a node after the password was rotated, and the node works with the new one", async () => {
    const rotated = `${password}-rotated`;
    await pg.query("postgres", `ALTER ROLE ${s.database.user} PASSWORD '${rotated}'`);
    const before = pid();
    assert.equal((await startedNode(rotated)).details.alreadyRunning, false, "restarted");
    assert.notEqual(pid(), before);
    // A write needs a new connection with the new password.
    const created = await fetch(`${s.nodes[0]!.adminUrl}/services`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "after-rotation", url: "http://echo.sim" }),
    });
    assert.equal(created.status, 201);
    assert.equal((await startedNode(rotated)).details.alreadyRunning, true, "then kept");
    await chain(s, rotated, ["verify"]);
  });
});
