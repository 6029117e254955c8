/**
 * The parts of a bench run that need no engine: the seed's bounded pool of Admin API requests,
 * the node records a stack snapshot stops and starts again, and the run's wall time.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { wallTime } from "../../bench/results";
import { nodeRecords } from "../../bench/stackSnapshot";
import { RECORD } from "../../components/state/nodes";
import { inPool } from "../../scripts/seed";

const tick = () => new Promise((r) => setImmediate(r));

describe("inPool (the seed's requests in flight)", () => {
  it("runs every index once and never more than the limit at once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 12 }),
        async (n, limit) => {
          const seen: number[] = [];
          let inFlight = 0;
          let most = 0;
          await inPool(n, limit, async (i) => {
            inFlight++;
            most = Math.max(most, inFlight);
            await tick();
            seen.push(i);
            inFlight--;
          });
          assert.deepEqual(
            [...seen].sort((a, b) => a - b),
            Array.from({ length: n }, (_, i) => i),
          );
          assert.ok(most <= limit, `${most} in flight, limit ${limit}`);
          assert.equal(most, Math.min(n, limit));
        },
      ),
      { numRuns: 50 },
    );
  });

  it("keeps every worker busy: a slow request does not hold the others back", async () => {
    const order: number[] = [];
    await inPool(6, 2, async (i) => {
      await new Promise((r) => setTimeout(r, i === 0 ? 60 : 1));
      order.push(i);
    });
    // Index 0 is slow; the other worker takes 1..5 meanwhile (lockstep batches would not).
    assert.deepEqual(order, [1, 2, 3, 4, 5, 0]);
  });

  it("rejects with the first failure and starts nothing after it", async () => {
    const started: number[] = [];
    await assert.rejects(
      inPool(20, 3, async (i) => {
        started.push(i);
        await tick();
        if (i === 4) {
          throw new Error("POST /services answered 500");
        }
      }),
      /answered 500/,
    );
    assert.ok(Math.max(...started) <= 4 + 3, `started ${started.join(",")}`);
  });
});

describe("nodeRecords (what a snapshot stops and starts)", () => {
  it("finds every record under nodes/<version>-g<n>/<id>, X and Y, sorted by prefix", () => {
    const state = mkdtempSync(join(tmpdir(), "bench-records-"));
    try {
      const put = (group: string, id: string, version: string) => {
        const dir = join(state, "nodes", group, id);
        mkdirSync(dir, { recursive: true });
        writeFileSync(
          join(dir, RECORD),
          JSON.stringify({ cluster: "bench", id, version, prefix: dir, statusUrl: "x" }),
        );
      };
      put("3.6.0-g1", "node-0", "3.6.0");
      put("3.5.0-g1", "node-1", "3.5.0");
      put("3.5.0-g1", "node-0", "3.5.0");
      mkdirSync(join(state, "nodes", "3.5.0-g1", "not-a-node"));
      assert.deepEqual(
        nodeRecords(state).map((r) => `${r.version}/${r.id}`),
        ["3.5.0/node-0", "3.5.0/node-1", "3.6.0/node-0"],
      );
      assert.deepEqual(nodeRecords(join(state, "missing")), []);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});

describe("wallTime", () => {
  it("says the whole run's minutes and seconds", () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();
    assert.equal(wallTime({ startedAt: at(0), finishedAt: at(42) }), "42 s");
    assert.equal(wallTime({ startedAt: at(0), finishedAt: at(14 * 60 + 5) }), "14 min 05 s");
    assert.equal(wallTime({ startedAt: at(10), finishedAt: at(10 + 990.4) }), "16 min 30 s");
  });
});
