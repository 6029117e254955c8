/** The --db-timeout rule (components/plan/dbTimeout.ts): 60 s + 60 s per started GiB, or the setting if larger. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { migrationDbTimeout } from "../../components/plan";

const GIB = 2 ** 30;

describe("migrationDbTimeout", () => {
  test("sized to the database as last measured", () => {
    assert.equal(migrationDbTimeout(60), 60, "unmeasured: the setting");
    assert.equal(migrationDbTimeout(60, 8 * 2 ** 20), 120, "8 MiB starts the first GiB");
    assert.equal(migrationDbTimeout(60, GIB), 120);
    assert.equal(migrationDbTimeout(60, 10 * GIB + 1), 720);
    assert.equal(migrationDbTimeout(3600, 10 * GIB), 3600, "a larger setting wins");
  });
  test("never below the setting, never below 60 s, growing with the database", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 86400 }), fc.nat(), fc.nat(), (s, a, b) => {
        const [small, large] = a <= b ? [a, b] : [b, a];
        const t = migrationDbTimeout(s, small);
        return t >= s && t >= 60 && migrationDbTimeout(s, large) >= t;
      }),
    );
  });
});
