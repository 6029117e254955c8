/**
 * The prober against a real HTTP server: an outage that ends is measured from the last success
 * to the first success after it; one still going on when the prober stops is counted (never 0);
 * all-ok probes are no outage. Waits on the probes themselves, never on a fixed sleep.
 */
import assert from "node:assert/strict";
import { createServer, Server } from "node:http";
import { describe, it } from "node:test";
import { eventually } from "./eventually";
import { longestOutage, Probe, startProber } from "./prober";
import { freePort } from "./postgres";

async function serve(port: number): Promise<Server> {
  const s = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((ok) => s.listen(port, "127.0.0.1", ok));
  return s;
}

const close = (s: Server) => new Promise<void>((ok) => s.close(() => ok()));

describe("prober", () => {
  it("measures a finished outage from the last success to the next", () => {
    const p = (at: number, ok: boolean): Probe => ({ at, ok });
    assert.equal(longestOutage([p(0, true), p(1000, false), p(2500, true)]), 2.5);
    assert.equal(longestOutage([p(0, true), p(50, true)]), 0);
    assert.throws(() => longestOutage([]), /no probes/);
  });

  it("counts an outage still going on when it stops (the old prober said 0)", async () => {
    const port = await freePort();
    const server = await serve(port);
    const prober = startProber(`http://127.0.0.1:${port}/`, 20);
    await eventually(
      async () => prober.probes.filter((x) => x.ok).length,
      (n) => n >= 3,
    );
    server.closeAllConnections();
    await close(server);
    await eventually(
      async () => prober.probes.some((x) => !x.ok),
      (failed) => failed,
    );
    const probes = await prober.stop();
    assert.equal(probes.at(-1)!.ok, false, "the last probe (taken at stop) failed");
    assert.ok(longestOutage(probes) > 0, "the unfinished outage is counted");
  });

  it("reports no outage while the server answers throughout", async () => {
    const port = await freePort();
    const server = await serve(port);
    const prober = startProber(`http://127.0.0.1:${port}/`, 20);
    await eventually(
      async () => prober.probes.length,
      (n) => n >= 5,
    );
    const probes = await prober.stop();
    await close(server);
    assert.equal(longestOutage(probes), 0);
  });
});
