import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  formatDuration,
  PLAN_SCHEMA,
  planChange,
  planToJson,
  renderPlan,
} from "../../components/plan";
import { request } from "./helpers";

/** Asserts that the parts appear in `text` in this order. */
function inOrder(text: string, parts: string[]): void {
  let at = -1;
  for (const part of parts) {
    const next = text.indexOf(part, at + 1);
    assert.ok(next > at, `${JSON.stringify(part)} missing or out of order in:\n${text}`);
    at = next;
  }
}

describe("renderPlan", () => {
  test("an upgrade: steps, nodes, migrations, downtime and its source, backup, warnings", () => {
    const text = renderPlan(planChange(request("3.5.0", "3.6.1")));
    inOrder(text, [
      "Kong 3.5.0 → 3.6.1: in-place upgrade (adjacent minor)",
      "Steps:",
      "1. preflight",
      "gateway up",
      "2. stop",
      "2 × 3.5.0 nodes",
      "gateway DOWN",
      "3. backup",
      "database",
      "gateway DOWN",
      "4. migrations-up",
      "migration job 3.6.1",
      "$ KONG_PLUGINS=bundled kong migrations up",
      "5. migrations-finish",
      "6. start",
      "2 × 3.6.1 nodes",
      "gateway DOWN",
      "7. verify",
      "gateway up",
      "8. decommission",
      "Nodes stopped: 2 × 3.5.0",
      "Nodes started: 2 × 3.6.1",
      "Migrations run by 'kong migrations up' (5):",
      "  core: 022_350_to_360",
      "  acme: 003_350_to_360",
      "Pending after up, completed by 'kong migrations finish' (teardowns):",
      "  opentelemetry: 001_331_to_332",
      "Estimated downtime (stop → backup → migrations-up → migrations-finish → start):",
      "numbers: defaults",
      "Estimated total:",
      "Backup: .state/backups/kong-3.5.0-to-3.6.1-<timestamp>.dump",
      "Warnings:",
      "! going back restores the backup: once migrations-finish has run,",
    ]);
    assert.ok(text.endsWith("\n"));
  });
  test("says which numbers it used", () => {
    const one = [{ steps: [{ name: "stop", seconds: 4 }] }];
    assert.match(
      renderPlan(planChange(request("3.5.0", "3.6.0", { history: one }))),
      /numbers: measured in 1 earlier upgrade \(defaults for backup, migrations-up, migrations-finish, start\)/,
    );
    const all = ["stop", "backup", "migrations-up", "migrations-finish", "start"].map((name) => ({
      name,
      seconds: 5,
    }));
    const two = [{ steps: all }, { steps: all }];
    const text = renderPlan(planChange(request("3.5.0", "3.6.0", { history: two })));
    assert.match(text, /numbers: measured in 2 earlier upgrades\n/);
    assert.match(text, /\[measured ×2\]/);
  });
  test("prepared, before any prepared upgrade ran: priced from the install's start", () => {
    const install = {
      kind: "install" as const,
      steps: [{ name: "start", seconds: 1.9 }],
      installSpanSeconds: 4,
      installStartSpanSeconds: 1.1,
    };
    const inPlace = { steps: [{ name: "stop", seconds: 1 }], downtimeSeconds: 4.5 };
    const plan = planChange({
      ...request("3.5.0", "3.6.0", { history: [install, inPlace] }),
      strategy: "prepared",
    });
    assert.match(
      renderPlan(plan),
      /^Kong 3\.5\.0 → 3\.6\.0: prepared upgrade \(adjacent minor\)\n[^]*Estimated downtime \(stop → start\): 1\.3s expected .*; numbers: measured by this stack's install \(its hand-over into start → first ready node, plus the stop's tail\)/,
      "the in-place upgrade's 4.5 s outage does not stand for prepared",
    );
  });
  test("newly enabled plugins' migrations are listed under plain up, never -f", () => {
    const p = planChange({
      deployed: { version: "3.5.0", nodes: 1, plugins: [] },
      target: { version: "3.6.0", nodes: 1, plugins: ["acme"] },
    });
    assert.match(
      renderPlan(p),
      /Migrations run by 'kong migrations up' \(5\):\n {2}core: 022_350_to_360\n {2}acme: 000_base_acme,/,
    );
  });
  test("a hop without migrations says so", () => {
    assert.match(
      renderPlan(planChange(request("3.7.0", "3.8.0"))),
      /Migrations: none new for 'kong migrations up'/,
    );
  });
  test("an install: the chain's steps, bootstrap in migrations-up, and no downtime", () => {
    const text = renderPlan(planChange(request(undefined, "3.4.3")));
    inOrder(text, [
      "Kong 3.4.3: fresh install",
      "1. preflight",
      "2. stop",
      "3. backup",
      "4. migrations-up",
      "$ KONG_PLUGINS=bundled kong migrations bootstrap",
      "5. migrations-finish",
      "6. start",
      "7. verify",
      "Nodes started: 2 × 3.4.3",
      "Migrations run by 'kong migrations bootstrap'",
      "Estimated downtime: none (no gateway is serving yet)",
    ]);
    assert.doesNotMatch(text, /Nodes stopped|Backup:|Warnings:/);
  });
  test("a rollback: the backup restored and no migrations", () => {
    const backups = [
      {
        id: "b1",
        fromVersion: "3.5.0",
        toVersion: "3.6.1",
        path: "/b/1",
        takenAt: "2024-06-01T02:00:00Z",
      },
    ];
    const text = renderPlan(planChange(request("3.6.1", "3.5.0", { backups })));
    inOrder(text, [
      "Kong 3.6.1 → 3.5.0: rollback by restore",
      "1. preflight",
      "the backup /b/1 is there and matches its checksum",
      "$ sha256sum /b/1",
      "2. stop",
      "3. backup",
      "dump the database as Kong 3.6.1 left it to .state/backups/kong-3.6.1-to-3.5.0-<timestamp>.dump",
      "4. restore",
      "5. start",
      "6. verify",
      "Nodes stopped: 2 × 3.6.1",
      "Nodes started: 2 × 3.5.0",
      "Migrations: none (a rollback restores the database as it was before the upgrade)",
      "Estimated downtime (stop → backup → restore → start)",
      "Backup: .state/backups/kong-3.6.1-to-3.5.0-<timestamp>.dump (pg_dump -Fc, checksummed and read back before restoring)",
      "Restoring backup b1: /b/1, taken 2024-06-01T02:00:00Z before 3.5.0 → 3.6.1",
      "! the restored database is the one of 2024-06-01T02:00:00Z (backup b1): anything written through 3.6.1 since then will not be in it; the rollback first dumps the database as 3.6.1 left it to .state/backups/kong-3.6.1-to-3.5.0-<timestamp>.dump, so those writes are kept there, not lost",
    ]);
  });
  test("nothing to do", () => {
    assert.equal(
      renderPlan(planChange(request("3.6.1", "3.6.1"))),
      "Kong 3.6.1: no change (the deployed version is the target)\n",
    );
    const warned = renderPlan(
      planChange({
        deployed: { version: "3.6.1", nodes: 1, plugins: [] },
        target: { version: "3.6.1", nodes: 1, plugins: ["acl"] },
      }),
    );
    assert.match(warned, /\n {2}! plugins acl are newly enabled at the same version/);
  });
  test("maintenance windows: open and fitting, too long, closed", () => {
    const w = { maintenanceWindows: ["Sat 02:00-04:00 UTC"] };
    const render = (now: string) =>
      renderPlan(planChange(request("3.5.0", "3.6.0", { ...w, now: new Date(now) })));
    assert.match(
      render("2024-06-01T02:00:00Z"),
      /Maintenance window \(Sat 02:00-04:00 UTC\): open until 2024-06-01T04:00:00.000Z; downtime ends by .*: fits/,
    );
    assert.match(render("2024-06-01T03:59:00Z"), /: DOES NOT FIT/);
    assert.match(render("2024-06-02T00:00:00Z"), /closed now; next opens 2024-06-08T02:00:00.000Z/);
  });
});

describe("formatDuration", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [-5, "0s"],
    [0.4, "0.4s"],
    [2.63, "2.6s"],
    [9.96, "10.0s"],
    [59, "59s"],
    [60, "1m 00s"],
    [185, "3m 05s"],
    [3599, "59m 59s"],
    [3600, "1h 00m"],
    [3725, "1h 02m"],
    [90000, "25h 00m"],
  ];
  for (const [seconds, text] of cases) {
    test(`${seconds} → ${text}`, () => assert.equal(formatDuration(seconds), text));
  }
});

describe("planToJson", () => {
  test("plain data with a schema tag, unchanged by a JSON round trip", () => {
    const p = planChange(
      request("3.5.0", "3.6.1", {
        maintenanceWindows: ["daily 00:00-24:00 UTC"],
        now: new Date("2024-06-01T00:00:00Z"),
      }),
    );
    const json = planToJson(p);
    assert.equal(json.schema, PLAN_SCHEMA);
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
    assert.equal(json.kind, "upgrade");
    assert.equal(json.steps.length, 8);
    assert.equal(json.window?.fits, true);
    assert.deepEqual({ ...json, schema: undefined }, { ...p, schema: undefined });
  });
  test("absent optional fields are left out", () => {
    const json = planToJson(planChange(request(undefined, "3.6.1")));
    assert.equal("from" in json, false);
    assert.equal("backup" in json, false);
    assert.equal("window" in json, false);
  });
});
