import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  assertKnownVersion,
  checkHop,
  classifyMinorHop,
  KNOWN_MINORS,
  parseVersion,
  shortestRoute,
} from "../../components/plan";
import { assertRefused } from "./helpers";

/** The guaranteed minor hops of KONG.md §5, written out by hand (independent of the code). */
const GUARANTEED = new Set([
  "2.1→2.2",
  "2.2→2.3",
  "2.3→2.4",
  "2.4→2.5",
  "2.5→2.6",
  "2.6→2.7",
  "2.7→2.8",
  "3.0→3.1",
  "3.1→3.2",
  "3.2→3.3",
  "3.3→3.4",
  "3.4→3.5",
  "3.5→3.6",
  "3.6→3.7",
  "3.7→3.8",
  "3.8→3.9",
  "3.9→3.10",
  "2.8→3.4",
  "3.4→3.10",
]);
const LTS = new Set(["2.8→3.4", "3.4→3.10"]);
const rank = (m: string): number => KNOWN_MINORS.indexOf(m);

describe("checkHop across every pair of known minors (OSS and Enterprise numbers)", () => {
  test("the known minors are 2.1 … 2.8 and 3.0 … 3.10", () => {
    assert.deepEqual(KNOWN_MINORS, [
      "2.1",
      "2.2",
      "2.3",
      "2.4",
      "2.5",
      "2.6",
      "2.7",
      "2.8",
      "3.0",
      "3.1",
      "3.2",
      "3.3",
      "3.4",
      "3.5",
      "3.6",
      "3.7",
      "3.8",
      "3.9",
      "3.10",
    ]);
  });
  for (const edition of ["oss", "enterprise"] as const) {
    const v = (minor: string, patch: number): string =>
      edition === "oss" ? `${minor}.${patch}` : `${minor}.${patch}.7`;
    for (const a of KNOWN_MINORS) {
      test(`${edition}: from ${a}`, () => {
        for (const b of KNOWN_MINORS) {
          const from = parseVersion(v(a, 1));
          const to = parseVersion(v(b, 2));
          const result = checkHop(from, to);
          const key = `${a}→${b}`;
          if (a === b) {
            assert.deepEqual(result, { allowed: true, kind: "patch" }, key);
          } else if (rank(b) < rank(a)) {
            assert.equal(result.kind, "downgrade", key);
            assert.equal(result.allowed, false);
          } else if (GUARANTEED.has(key)) {
            assert.deepEqual(result, { allowed: true, kind: LTS.has(key) ? "lts" : "minor" }, key);
          } else {
            assert.equal(result.kind, "skip", key);
            assert.equal(result.allowed, false, key);
          }
        }
      });
    }
  }
  test("same version: nothing to do; patch down: downgrade", () => {
    assert.deepEqual(checkHop(parseVersion("3.6.1"), parseVersion("kong:3.6.1")), {
      allowed: true,
      kind: "same",
    });
    assert.equal(checkHop(parseVersion("3.6.2"), parseVersion("3.6.1")).kind, "downgrade");
  });
  test("Enterprise builds of one release: a patch hop up, a downgrade back", () => {
    assert.deepEqual(checkHop(parseVersion("3.4.3.12"), parseVersion("3.4.3.13")), {
      allowed: true,
      kind: "patch",
    });
    assert.deepEqual(checkHop(parseVersion("3.4.3"), parseVersion("3.4.3.1")), {
      allowed: true,
      kind: "patch",
    });
    assert.equal(checkHop(parseVersion("3.4.3.13"), parseVersion("3.4.3.12")).kind, "downgrade");
  });
  test("Enterprise numbers follow the rules of their first three parts", () => {
    assert.deepEqual(checkHop(parseVersion("2.8.4.1"), parseVersion("3.4.3.12")), {
      allowed: true,
      kind: "lts",
    });
    assert.equal(checkHop(parseVersion("3.2.1.0"), parseVersion("3.6.1.4")).kind, "skip");
  });
  test("a skip names the hop, the shortest route and one pulumi up each", () => {
    const r = checkHop(parseVersion("3.2.1"), parseVersion("3.6.0"));
    assert.equal(r.kind, "skip");
    if (r.kind === "skip") {
      assert.deepEqual(r.route, ["3.3", "3.4", "3.5", "3.6"]);
      assert.ok(
        r.message.startsWith(
          "3.2.1 → 3.6.0 is not a guaranteed upgrade path; upgrade through 3.3 → 3.4 → 3.5 → 3.6, one pulumi up each",
        ),
        r.message,
      );
      assert.match(r.message, /leave the schema broken/);
    }
  });
  test("2.x cannot reach 3.0–3.3: the only hop into 3.x is 2.8 → 3.4", () => {
    for (const target of ["3.0.0", "3.1.0", "3.2.0", "3.3.0"]) {
      const r = checkHop(parseVersion("2.8.0"), parseVersion(target));
      assert.equal(r.kind, "skip");
      if (r.kind === "skip") {
        assert.deepEqual(r.route, []);
        assert.match(
          r.message,
          /no route of guaranteed hops reaches 3\.\d: the only hop from 2\.x into 3\.x is the LTS hop 2\.8 → 3\.4; target 3\.4 or later/,
        );
      }
    }
  });
  test("a downgrade says migrations cannot be reversed and a backup is the way back", () => {
    const r = checkHop(parseVersion("3.6.1"), parseVersion("3.5.0"));
    assert.equal(r.kind, "downgrade");
    if (r.kind === "downgrade") {
      assert.match(
        r.message,
        /3\.6\.1 → 3\.5\.0 is a downgrade; Kong migrations cannot be reversed/,
      );
      assert.match(r.message, /restoring the backup taken by the upgrade that left 3\.5\.0/);
    }
  });
});

describe("shortestRoute", () => {
  const cases: [string, string, string[]][] = [
    ["3.2.1", "3.6.0", ["3.3", "3.4", "3.5", "3.6"]],
    ["2.1.0", "3.10.0", ["2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "3.4", "3.10"]],
    ["2.7.0", "3.4.0", ["2.8", "3.4"]],
    ["2.6.0", "3.6.0", ["2.7", "2.8", "3.4", "3.5", "3.6"]],
    ["2.8.0", "3.10.0", ["3.4", "3.10"]],
    ["3.0.0", "3.10.0", ["3.1", "3.2", "3.3", "3.4", "3.10"]],
    ["3.5.0", "3.10.0", ["3.6", "3.7", "3.8", "3.9", "3.10"]],
    ["3.3.0", "3.9.0", ["3.4", "3.5", "3.6", "3.7", "3.8", "3.9"]],
    ["3.7.0", "3.9.0", ["3.8", "3.9"]],
    ["3.6.0", "3.6.2", ["3.6"]],
    ["3.4.3.12", "3.6.1.4", ["3.5", "3.6"]],
    ["2.8.0", "3.2.0", []],
    ["2.5.0", "3.0.0", []],
    ["3.6.1", "3.6.1", []],
    ["3.6.1", "3.2.0", []],
  ];
  for (const [from, to, route] of cases) {
    test(`${from} → ${to}: ${route.join(" → ") || "(none)"}`, () => {
      assert.deepEqual(shortestRoute(parseVersion(from), parseVersion(to)), route);
    });
  }
  test("3.8 is a hop of its own although it has no core migration", () => {
    assert.deepEqual(shortestRoute(parseVersion("3.7.0"), parseVersion("3.9.0")), ["3.8", "3.9"]);
    assert.equal(classifyMinorHop("3.7", "3.9"), undefined);
  });
});

describe("unknown versions", () => {
  const cases: [string, string][] = [
    ["1.5.0", "older than 2.1"],
    ["2.0.0", "older than 2.1"],
    ["2.9.0", "is not a Kong release (2.x ended with 2.8)"],
    ["3.11.0", "newer than 3.10"],
    ["4.0.0", "newer than 3.10"],
  ];
  for (const [version, why] of cases) {
    test(`${version}: ${why}`, () => {
      const v = parseVersion(version);
      assertRefused(
        () => assertKnownVersion(v, "target.version"),
        "version",
        `target.version ${version}`,
        why,
        "2.1 … 2.8, 3.0 … 3.10",
      );
      assertRefused(() => checkHop(parseVersion("3.4.0"), v), "version", why);
      assertRefused(() => checkHop(v, parseVersion("3.4.0")), "version", why);
      assertRefused(() => shortestRoute(v, parseVersion("3.10.0")), "version", why);
      assertRefused(() => shortestRoute(parseVersion("2.1.0"), v), "version", why);
    });
  }
});
