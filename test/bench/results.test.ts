/**
 * The pure parts of `npm run bench`: the outage from prober samples, medians and ratios to the
 * runbook, and results.md as rendered. Not timed: the numbers here are made up to the millisecond.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  BenchResults,
  renderMarkdown,
  RunResult,
  summarize,
  timelineReport,
} from "../../bench/results";
import { median, outageOf, ratio, Sample } from "../../bench/stats";

/** Samples every 20 ms from t=0; `pattern` is one character per round: `.` ok, `x` failed. */
const probes = (pattern: string, start = 0): Sample[] =>
  [...pattern].map((c, i) => ({ at: start + i * 20, ok: c === "." }));

describe("outageOf: what the prober saw", () => {
  it("measures a stretch from the last success before it to the first after it", () => {
    const o = outageOf(probes("...xxxxx..."));
    assert.equal(o.longestSeconds, 0.12); // last ok at 40 ms, next ok at 160 ms
    assert.equal(o.totalSeconds, 0.12);
    assert.equal(o.startedAt, 40);
    assert.deepEqual([o.samples, o.failed], [11, 5]);
  });

  it("reports the longest of several stretches, and their sum", () => {
    const o = outageOf(probes("..x....xxx.."));
    assert.equal(o.longestSeconds, 0.08);
    assert.equal(o.totalSeconds, 0.04 + 0.08);
    assert.equal(o.startedAt, 120);
  });

  it("no failure is no outage; failures it cannot bound on both sides are not counted", () => {
    assert.equal(outageOf(probes("......")).longestSeconds, 0);
    assert.equal(outageOf(probes("xxx...")).longestSeconds, 0);
    assert.equal(outageOf(probes("...xxx")).longestSeconds, 0);
    assert.equal(outageOf([]).longestSeconds, 0);
  });

  it("does not depend on the order the samples arrive in", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 60 }), (oks) => {
        const s = oks.map((ok, i) => ({ at: i * 20, ok }));
        assert.deepEqual(outageOf([...s].reverse()), outageOf(s));
        const o = outageOf(s);
        assert.ok(o.longestSeconds <= o.totalSeconds + 1e-9);
      }),
    );
  });
});

describe("median and ratio", () => {
  it("median of odd and even counts, none for an empty list", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([]), undefined);
  });
  it("ratio to a baseline, rounded to hundredths; nothing against a missing or zero one", () => {
    assert.equal(ratio(3.3, 1.5), 2.2);
    assert.equal(ratio(0, 1.5), 0);
    assert.equal(ratio(1, 0), undefined);
    assert.equal(ratio(undefined, 1), undefined);
  });
});

const run = (strategy: string, size: number, n: number, outage: number, extra = {}): RunResult => ({
  strategy,
  size,
  run: n,
  outage: {
    longestSeconds: outage,
    totalSeconds: outage,
    startedAt: 1_000,
    samples: 100,
    failed: 10,
  },
  steps: [
    {
      name: "backup",
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:00:00.500Z",
      seconds: 0.5,
    },
  ],
  backupSeconds: strategy === "runbook" ? 0.2 : 0.5,
  ...(strategy === "runbook" ? {} : { dumpSeconds: 0.22 }),
  wallSeconds: 10,
  ...extra,
});

const results: BenchResults = {
  startedAt: "2026-01-01T00:00:00Z",
  finishedAt: "2026-01-01T00:10:00Z",
  command: "npm run bench",
  machine: { cpus: 2, loadAverage: [1, 1, 1] },
  hop: { from: "3.5.0", to: "3.6.0", nodes: 2 },
  probeIntervalMs: 20,
  sizes: [
    {
      size: 1000,
      entities: { services: 200 },
      databaseBytes: 10 * 1048576,
      seedSeconds: 5,
      rawDumpSeconds: [0.2, 0.2, 0.3],
    },
  ],
  runs: [
    run("in-place", 1000, 1, 4, { reportedDowntimeSeconds: 3.9, estimatedDowntimeSeconds: 4.5 }),
    run("runbook", 1000, 1, 1.5),
    run("runbook", 1000, 2, 2.5),
    run("in-place", 1000, 2, 6, { reportedDowntimeSeconds: 5.9, estimatedDowntimeSeconds: 4.5 }),
    run("runbook", 1000, 3, 2),
    run("in-place", 1000, 3, 5, { reportedDowntimeSeconds: 4.9, estimatedDowntimeSeconds: 4.5 }),
  ],
  unavailable: [{ strategy: "rolling", reason: "kong-gateway:strategy is not a setting" }],
  preview: [{ nodes: 3, seconds: 4.2 }],
  timelines: ["timelines/1000-run1.svg"],
};

describe("summarize and render", () => {
  it("medians per strategy, the runbook first, ratios to the runbook's median", () => {
    const rows = summarize(results);
    assert.deepEqual(
      rows.map((r) => [r.strategy, r.runs, r.outageSeconds, r.ratioToRunbook]),
      [
        ["runbook", 3, 2, 1],
        ["in-place", 3, 5, 2.5],
      ],
    );
    assert.equal(rows[1]!.reportedSeconds, 4.9);
    assert.equal(rows[1]!.backupRatio, 2.5); // 0.5 s step / 0.2 s raw pg_dump
    assert.equal(rows[1]!.dumpRatio, 1.1); // 0.22 s dump read back / 0.2 s raw pg_dump
    assert.equal(rows[0]!.dumpRatio, 1); // the runbook's dump is its raw pg_dump
  });

  it("results.md: the outage table, refused strategies, backup, preview and every run", () => {
    const md = renderMarkdown(results);
    assert.match(md, /\| 1,000 \| runbook \| 3 \| 2\.00 s \| 1\.00× \| – \| – \|/);
    assert.match(md, /\| 1,000 \| in-place \| 3 \| 5\.00 s \| 2\.50× \| 4\.90 s \| 4\.50 s \|/);
    assert.match(md, /`rolling`: not available in this build \(kong-gateway:strategy/);
    assert.match(
      md,
      /\| 1,000 \| 10\.0 MiB \| in-place \| 0\.22 s \| 1\.10× \| 0\.50 s \| 2\.50× \| 0\.20 s \|/,
    );
    assert.match(md, /\| 3 \| 4\.20 \|/);
    assert.equal(md.match(/^\| 1,000 \| (runbook|in-place) \| \d \| /gm)?.length, 2 + 6);
    assert.match(md, /\[timelines\/1000-run1\.svg\]\(timelines\/1000-run1\.svg\)/);
    assert.match(md, /2026-01-01T00:10:00Z \(wall time 10 min 00 s\)/);
    assert.match(md, /load 1\.00, 1\.00, 1\.00 at the end, the bench's own processes included/);
  });

  it("says whether other work shared the machine from the load before the bench began", () => {
    const at = (loadAtStart: number) =>
      renderMarkdown({ ...results, machine: { ...results.machine, loadAtStart } });
    assert.match(
      at(0.2),
      /2 CPUs \(load 0\.20 before it began; load 1\.00, 1\.00, 1\.00 at the end/,
    );
    assert.doesNotMatch(at(0.2), /other work/);
    assert.match(at(1.5), /load 1\.50 before it began; other work shared the machine;/);
  });

  it("a run drawn as a timeline shades the prober's outage, not the project's own", () => {
    const r = timelineReport(
      run("in-place", 1000, 1, 4, { reportedDowntimeSeconds: 3 }),
      "3.5.0",
      "3.6.0",
    );
    assert.equal(r.downtimeSeconds, 4);
    assert.deepEqual(r.outage, {
      startedAt: new Date(1_000).toISOString(),
      endedAt: new Date(5_000).toISOString(),
    });
  });
});
