/**
 * Property tests: the rules hold for every input fast-check can think of, not just the table rows.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  checkHop,
  compareVersions,
  evaluateWindows,
  formatVersion,
  KNOWN_MINORS,
  parseVersion,
  parseWindow,
  PastRun,
  planChange,
  PlanRequest,
  shortestRoute,
  STEP_NAMES,
} from "../../components/plan";

/** KONG.md §5's guaranteed minor hops, written out independently of the code under test. */
const EDGES = new Set([
  ...["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"].map((m, i) => `${m}→2.${i + 2}`),
  ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((m) => `3.${m}→3.${m + 1}`),
  "2.8→3.4",
  "3.4→3.10",
]);

/** All-pairs hop distances over EDGES (Floyd–Warshall); Infinity when unreachable. */
const DIST = (() => {
  const n = KNOWN_MINORS.length;
  const d = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) =>
      i === j ? 0 : EDGES.has(`${KNOWN_MINORS[i]}→${KNOWN_MINORS[j]}`) ? 1 : Infinity,
    ),
  );
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const row = d[i] as number[];
        row[j] = Math.min(row[j] as number, (row[k] as number) + ((d[k] as number[])[j] as number));
      }
    }
  }
  return (a: string, b: string): number =>
    (d[KNOWN_MINORS.indexOf(a)] as number[])[KNOWN_MINORS.indexOf(b)] as number;
})();

const version = fc
  .record({
    minor: fc.constantFrom(...KNOWN_MINORS),
    patch: fc.integer({ min: 0, max: 12 }),
    build: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
  })
  .map(({ minor, patch, build }) => `${minor}.${patch}${build === undefined ? "" : `.${build}`}`);

describe("properties: upgrade paths", () => {
  test("every suggested route is made only of guaranteed hops, ends at the target and is the shortest", () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        const from = parseVersion(a);
        const to = parseVersion(b);
        const route = shortestRoute(from, to);
        const start = `${from.major}.${from.minor}`;
        const goal = `${to.major}.${to.minor}`;
        if (compareVersions(from, to) >= 0) {
          assert.deepEqual(route, []);
          return;
        }
        if (start === goal) {
          assert.deepEqual(route, [goal]);
          return;
        }
        if (DIST(start, goal) === Infinity) {
          assert.deepEqual(route, []);
          return;
        }
        assert.equal(route.at(-1), goal);
        [start, ...route]
          .slice(0, -1)
          .forEach((m, i) => assert.ok(EDGES.has(`${m}→${route[i]}`), `${m}→${route[i]}`));
        assert.equal(route.length, DIST(start, goal));
      }),
      { numRuns: 2000 },
    );
  });
  test("a hop is allowed exactly when it is guaranteed; refusals carry the route", () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        const from = parseVersion(a);
        const to = parseVersion(b);
        const r = checkHop(from, to);
        const start = `${from.major}.${from.minor}`;
        const goal = `${to.major}.${to.minor}`;
        const order = compareVersions(from, to);
        if (order === 0) {
          assert.equal(r.kind, "same");
        } else if (order > 0) {
          assert.equal(r.kind, "downgrade");
        } else {
          assert.equal(r.allowed, start === goal || EDGES.has(`${start}→${goal}`));
          if (r.kind === "skip") {
            assert.deepEqual(r.route, shortestRoute(from, to));
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("properties: versions", () => {
  test("parse and format round-trip, bare or as an image", () => {
    fc.assert(
      fc.property(
        version,
        fc.constantFrom("kong:", "kong/kong-gateway:", "registry.local:5000/kong:"),
        (v, prefix) => {
          assert.equal(formatVersion(parseVersion(v)), v);
          assert.equal(formatVersion(parseVersion(`${prefix}${v}`)), v);
        },
      ),
    );
  });
  test("compareVersions is a consistent order", () => {
    fc.assert(
      fc.property(version, version, version, (x, y, z) => {
        const [a, b, c] = [x, y, z].map(parseVersion) as [
          ReturnType<typeof parseVersion>,
          ReturnType<typeof parseVersion>,
          ReturnType<typeof parseVersion>,
        ];
        // `+ 0` turns -0 into 0: strictEqual tells them apart.
        assert.equal(compareVersions(a, b), -compareVersions(b, a) + 0);
        if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) {
          assert.ok(compareVersions(a, c) <= 0);
        }
      }),
    );
  });
});

describe("properties: estimates", () => {
  const run: fc.Arbitrary<PastRun> = fc.record({
    steps: fc.array(
      fc.record({
        name: fc.constantFrom(...STEP_NAMES),
        seconds: fc.double({ min: 0, max: 5000, noNaN: true }),
      }),
      { maxLength: 8 },
    ),
    databaseBytes: fc.option(fc.double({ min: 0, max: 1e11, noNaN: true }), { nil: undefined }),
  });
  const requests: PlanRequest[] = [
    {
      deployed: { version: "3.5.0", nodes: 2, plugins: "bundled" },
      target: { version: "3.6.1", nodes: 2, plugins: "bundled" },
    },
    {
      deployed: { version: "2.8.0", nodes: 1, plugins: ["key-auth"] },
      target: { version: "3.4.0", nodes: 1, plugins: ["key-auth", "acl"] },
    },
    {
      deployed: { version: "3.7.0", nodes: 3, plugins: "bundled" },
      target: { version: "3.8.0", nodes: 3, plugins: "bundled" },
    },
    { target: { version: "3.10.0", nodes: 1, plugins: "bundled" } },
    {
      deployed: { version: "3.6.1", nodes: 2, plugins: "bundled" },
      target: { version: "3.5.0", nodes: 2, plugins: "bundled" },
      backups: [
        {
          id: "b",
          fromVersion: "3.5.0",
          toVersion: "3.6.1",
          path: "/b",
          takenAt: "2024-01-01T00:00:00Z",
        },
      ],
    },
  ];
  test("never decrease as the database grows (each step, downtime, total)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...requests),
        fc.array(run, { maxLength: 4 }),
        fc.double({ min: 0, max: 1e12, noNaN: true }),
        fc.double({ min: 0, max: 1e12, noNaN: true }),
        (req, history, x, y) => {
          const [small, large] = x <= y ? [x, y] : [y, x];
          const a = planChange({ ...req, history, databaseBytes: small });
          const b = planChange({ ...req, history, databaseBytes: large });
          for (const key of ["lowSeconds", "expectedSeconds", "highSeconds"] as const) {
            assert.ok(a.downtime[key] <= b.downtime[key], `downtime ${key}`);
            assert.ok(a.duration[key] <= b.duration[key], `duration ${key}`);
            a.steps.forEach((s, i) =>
              assert.ok(
                s.estimate[key] <= (b.steps[i]?.estimate[key] as number),
                `${s.name} ${key}`,
              ),
            );
          }
          assert.ok(a.downtime.lowSeconds <= a.downtime.highSeconds);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("properties: maintenance windows", () => {
  test("daily windows: inside exactly when the local time of day is, at any offset", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1439 }),
        fc.integer({ min: 1, max: 1439 }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }),
        (start, length, offset, seconds) => {
          const hhmm = (m: number) =>
            `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
          const end = start + length === 1440 ? "24:00" : hhmm((start + length) % 1440);
          const zone = `UTC${offset < 0 ? "-" : "+"}${hhmm(Math.abs(offset))}`;
          const now = new Date(seconds * 1000);
          const c = evaluateWindows([parseWindow(`daily ${hhmm(start)}-${end} ${zone}`)], now, 0);
          const local = (((Math.floor(seconds / 60) + offset) % 1440) + 1440) % 1440;
          const inside = (local - start + 1440) % 1440 < length;
          assert.equal(c.mayStartNow, inside);
          if (c.mayStartNow) {
            assert.ok(Date.parse(c.closesAt as string) > now.getTime());
          } else {
            assert.ok(Date.parse(c.nextOpensAt as string) > now.getTime());
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
