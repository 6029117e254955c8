import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertWithinWindow, evaluateWindows, parseWindow } from "../../components/plan";
import { assertRefused } from "./helpers";

// 2024-06-01 is a Saturday.
const at = (iso: string) => new Date(iso);
const check = (specs: string[], now: string, span = 0) =>
  evaluateWindows(specs.map(parseWindow), at(now), span);

describe("parseWindow", () => {
  const valid: [string, number[], number, number, number][] = [
    ["Sat 02:00-04:00 UTC", [6], 120, 120, 0],
    ["daily 01:00-03:00 UTC", [0, 1, 2, 3, 4, 5, 6], 60, 120, 0],
    ["Mon-Fri 22:00-23:30 UTC+01:00", [1, 2, 3, 4, 5], 1320, 90, 60],
    ["Fri-Mon 23:00-01:00 +0530", [0, 1, 5, 6], 1380, 120, 330],
    ["sat,sun 00:00-24:00 GMT", [0, 6], 0, 1440, 0],
    ["Saturday 2:00-4:00 Z", [6], 120, 120, 0],
    ["  Wed  10:15-10:45  UTC-5 ", [3], 615, 30, -300],
    ["Mon-Wed,Fri 09:00-10:00 utc", [1, 2, 3, 5], 540, 60, 0],
  ];
  for (const [spec, days, start, duration, offset] of valid) {
    test(`accepts ${JSON.stringify(spec)}`, () => {
      assert.deepEqual(parseWindow(spec), {
        spec,
        days,
        startMinute: start,
        durationMinutes: duration,
        offsetMinutes: offset,
      });
    });
  }
  const invalid: [string, string][] = [
    ["Sat 02:00-04:00", "does not have the three parts"],
    ["Sat 2am-4am UTC", `has "2am-4am" where the times`],
    ["Sat 25:00-26:00 UTC", "is not a time of day"],
    ["Sat 02:60-04:00 UTC", "is not a time of day"],
    ["Sat 02:00-04:60 UTC", "is not a time of day"],
    ["Sat 22:00-24:30 UTC", "is not a time of day"],
    ["Sat 02:00-02:00 UTC", "opens and closes at the same time; for a whole day write 00:00-24:00"],
    ["Sat 02:00-04:00 Europe/Berlin", `named zone "Europe/Berlin"`],
    ["Sat 02:00-04:00 CET", `has "CET" where the zone`],
    ["Sat 02:00-04:00 UTC+15", "beyond ±14:00"],
    ["Sat 02:00-04:00 UTC+01:75", "beyond ±14:00"],
    ["Caturday 02:00-04:00 UTC", `has "caturday" where a day`],
    ["Mon-Wed-Fri 02:00-04:00 UTC", "more than two ends"],
  ];
  for (const [spec, why] of invalid) {
    test(`refuses ${JSON.stringify(spec)} with an example`, () => {
      assertRefused(
        () => parseWindow(spec),
        "window",
        JSON.stringify(spec),
        why,
        `"Sat 02:00-04:00 UTC"`,
      );
    });
  }
});

describe("evaluateWindows", () => {
  test("inside a window with time to spare", () => {
    const c = check(["Sat 02:00-04:00 UTC"], "2024-06-01T02:30:00Z", 600);
    assert.deepEqual(c, {
      windows: ["Sat 02:00-04:00 UTC"],
      now: "2024-06-01T02:30:00.000Z",
      spanSeconds: 600,
      downtimeEndsBy: "2024-06-01T02:40:00.000Z",
      mayStartNow: true,
      fits: true,
      closesAt: "2024-06-01T04:00:00.000Z",
    });
    assert.doesNotThrow(() => assertWithinWindow(c));
  });
  test("inside, but the high estimate runs past the close", () => {
    const c = check(["Sat 02:00-04:00 UTC"], "2024-06-01T02:30:00Z", 100 * 60);
    assert.equal(c.mayStartNow, true);
    assert.equal(c.fits, false);
    assertRefused(
      () => assertWithinWindow(c),
      "window",
      "until 2024-06-01T04:10:00.000Z (high estimate)",
      "closes at 2024-06-01T04:00:00.000Z",
    );
  });
  test("ending exactly at the close fits; starting exactly at the close does not", () => {
    assert.equal(check(["Sat 02:00-04:00 UTC"], "2024-06-01T03:00:00Z", 3600).fits, true);
    const c = check(["Sat 02:00-04:00 UTC"], "2024-06-01T04:00:00Z");
    assert.equal(c.mayStartNow, false);
    assert.equal(c.nextOpensAt, "2024-06-08T02:00:00.000Z");
  });
  test("outside every window: the next opening is named", () => {
    const c = check(["Sat 02:00-04:00 UTC", "Wed 01:00-02:00 UTC"], "2024-05-31T12:00:00Z");
    assert.equal(c.mayStartNow, false);
    assert.equal(c.fits, false);
    assert.equal(c.nextOpensAt, "2024-06-01T02:00:00.000Z");
    assertRefused(
      () => assertWithinWindow(c),
      "window",
      "2024-05-31T12:00:00.000Z is outside every window",
      "after 2024-06-01T02:00:00.000Z",
    );
  });
  test("a window that crosses midnight counts from the day it opens", () => {
    const c = check(["Fri 23:00-01:00 UTC"], "2024-06-01T00:30:00Z");
    assert.equal(c.mayStartNow, true);
    assert.equal(c.closesAt, "2024-06-01T01:00:00.000Z");
  });
  test("offsets move the window in UTC, days included", () => {
    const plus = ["Sat 02:00-04:00 UTC+02:00"];
    assert.equal(check(plus, "2024-06-01T01:00:00Z").closesAt, "2024-06-01T02:00:00.000Z");
    assert.equal(check(plus, "2024-06-01T00:30:00Z").mayStartNow, true, "Sat 02:30 local");
    assert.equal(check(plus, "2024-05-31T23:30:00Z").mayStartNow, false, "Sat 01:30 local");
    assert.equal(check(plus, "2024-05-31T23:30:00Z").nextOpensAt, "2024-06-01T00:00:00.000Z");
    const minus = ["Fri 22:00-23:00 UTC-05:00"];
    assert.equal(check(minus, "2024-06-01T03:30:00Z").mayStartNow, true, "Fri 22:30 local");
    assert.equal(check(minus, "2024-06-01T04:30:00Z").mayStartNow, false);
  });
  test("windows that touch or overlap merge", () => {
    const touching = check(
      ["daily 22:00-24:00 UTC", "daily 00:00-02:00 UTC"],
      "2024-06-01T23:00:00Z",
      3 * 3600,
    );
    assert.equal(touching.closesAt, "2024-06-02T02:00:00.000Z");
    assert.equal(touching.fits, true);
    const overlapping = check(
      ["Sat 02:00-04:00 UTC", "Sat 03:00-05:00 UTC"],
      "2024-06-01T02:30:00Z",
    );
    assert.equal(overlapping.closesAt, "2024-06-01T05:00:00.000Z");
  });
});
