/** planChange beyond the kinds of change: plugins, editions, sizes, history, windows. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { planChange, PlanError } from "../../components/plan";
import { request } from "./helpers";

describe("planChange: details", () => {
  test("newly enabled plugins: plain up and finish (never -f), and a warning saying why", () => {
    const p = planChange({
      deployed: { version: "3.5.0", nodes: 2, plugins: ["key-auth"] },
      target: { version: "3.6.0", nodes: 2, plugins: ["key-auth", "rate-limiting", "my-plugin"] },
    });
    assert.equal(p.newPluginMigrations, true);
    const cmd = (n: string) => p.steps.find((s) => s.name === n)?.command;
    assert.equal(
      cmd("migrations-up"),
      "KONG_PLUGINS=key-auth,rate-limiting,my-plugin kong migrations up",
    );
    assert.equal(
      cmd("migrations-finish"),
      "KONG_PLUGINS=key-auth,rate-limiting,my-plugin kong migrations finish",
    );
    const w = p.warnings.join("\n");
    assert.match(
      w,
      /plugins rate-limiting are newly enabled: their migrations run in the same plain 'kong migrations up' and 'finish' \(Kong's state\.lua treats a loaded plugin without schema_meta rows as new\).*no -f, which would also re-run every migration already executed \(Kong\/kong#12978\)/,
    );
    assert.ok(
      p.steps.every((s) => !/kong migrations \w+ -f/.test(s.command ?? "")),
      "no step runs -f",
    );
    assert.match(
      w,
      /plugins my-plugin are newly listed but not in the planner's migration catalog/,
    );
  });
  test("backup.verify restore: preview says what the test restore may add to an in-place outage", () => {
    const mib = 1024 * 1024;
    const restoreOf = (r: ReturnType<typeof planChange>) =>
      r.warnings.filter((w) => w.startsWith('backup.verify is "restore"'));
    const p = planChange(
      request("3.5.0", "3.6.0", { databaseBytes: 400 * mib, backupVerify: "restore" }),
    );
    const [w] = restoreOf(p);
    assert.match(
      w ?? "",
      /test restore of the dump into a scratch database \(about [\d.]+ s, [\d.]+–[\d.]+ s for 400 MiB, from defaults\) runs beside 'kong migrations up', and migrations-finish waits for it: it may add about [\d.]+ s \(up to [\d.]+ s\) to the outage; backup.verify: list leaves it out/,
    );
    // A rollback measured a restore: that measurement stands for the test restore.
    const measured = planChange(
      request("3.5.0", "3.6.0", {
        databaseBytes: 10 * mib,
        backupVerify: "restore",
        history: [{ steps: [{ name: "restore", seconds: 3 }], databaseBytes: 10 * mib }],
      }),
    );
    assert.match(
      restoreOf(measured)[0] ?? "",
      /about 3 s, 3–5 s for 10 MiB, as rollbacks measured\) runs beside 'kong migrations up', and migrations-finish waits for it: 'up' is expected to take longer, so it should add nothing/,
    );
    for (const quiet of [
      request("3.5.0", "3.6.0", { databaseBytes: 400 * mib }),
      request("3.5.0", "3.6.0", { databaseBytes: 400 * mib, backupVerify: "list" }),
      request("3.6.0", "3.6.1", { backupVerify: "restore", strategy: "prepared" }),
    ]) {
      assert.deepEqual(restoreOf(planChange(quiet)), [], "no test restore inside the outage");
    }
  });
  test("a hop with nothing to migrate still runs up and finish (3.7 → 3.8)", () => {
    const p = planChange(request("3.7.1", "3.8.0", { databaseBytes: 0 }));
    assert.deepEqual(p.migrations.up, []);
    assert.match(p.steps[3]?.description ?? "", /no new migrations expected/);
    assert.match(p.steps[4]?.description ?? "", /no pending teardowns expected/);
    assert.equal(p.steps[3]?.scalesWithDatabase, false);
  });
  test("Enterprise targets and edition changes are flagged", () => {
    assert.match(
      planChange(request("3.4.3.12", "3.4.3.13")).warnings.join("\n"),
      /3\.4\.3\.13 is Kong Enterprise/,
    );
    assert.match(
      planChange(request("3.4.3", "3.4.3.1")).warnings.join("\n"),
      /open-source Kong to Kong Enterprise/,
    );
    assert.match(
      planChange(request("3.4.3.12", "3.5.0")).warnings.join("\n"),
      /Kong Enterprise to open-source Kong/,
    );
    assert.doesNotMatch(planChange(request("3.4.3", "3.5.0")).warnings.join("\n"), /edition/);
  });
  test("2.x before 2.8: the catalog is inferred, and says so", () => {
    assert.match(
      planChange(request("2.4.0", "2.5.0")).warnings.join("\n"),
      /inferred from the names in the 2\.8 catalog/,
    );
    assert.doesNotMatch(planChange(request("2.7.0", "2.8.0")).warnings.join("\n"), /inferred/);
  });
  test("database size: assumed when unknown, --db-timeout advice when large", () => {
    assert.match(
      planChange(request("3.5.0", "3.6.0")).warnings.join("\n"),
      /database size unknown: estimates assume 100 MiB/,
    );
    const big = planChange(request("3.5.0", "3.6.0", { databaseBytes: 5 * 1024 ** 3 }));
    assert.match(
      big.warnings.join("\n"),
      /the database is 5120 MiB: migrations get --db-timeout 360 s at least \(60 s \+ 60 s per GiB/,
    );
    assert.equal(big.databaseBytes, 5 * 1024 ** 3);
    assert.equal(big.databaseBytesAssumed, false);
  });
  test("measured history is used and counted", () => {
    const history = [
      {
        steps: [
          { name: "stop", seconds: 3 },
          { name: "start", seconds: 9 },
        ],
        databaseBytes: 1e8,
      },
      { steps: [{ name: "stop", seconds: 5 }], databaseBytes: 1e8 },
    ];
    const p = planChange(request("3.5.0", "3.6.0", { history, databaseBytes: 1e8 }));
    assert.equal(p.downtime.source, "measured");
    assert.equal(p.downtime.runs, 2);
    assert.deepEqual(p.downtime.defaultedSteps, ["backup", "migrations-up", "migrations-finish"]);
    assert.equal(p.steps.find((s) => s.name === "stop")?.estimate.source, "measured");
  });
  test("maintenance window: inside and fitting, inside but too long, outside", () => {
    const windows = { maintenanceWindows: ["Sat 02:00-04:00 UTC"] };
    const ok = planChange(
      request("3.5.0", "3.6.0", {
        ...windows,
        now: new Date("2024-06-01T02:00:00Z"),
        databaseBytes: 0,
      }),
    );
    const span = ok.steps.slice(0, 6).reduce((t, s) => t + s.estimate.highSeconds, 0);
    assert.equal(ok.window?.spanSeconds, span, "preflight through start, high estimates");
    assert.equal(ok.window?.fits, true);
    assert.ok(!ok.warnings.some((w) => w.includes("window")));
    const late = planChange(
      request("3.5.0", "3.6.0", { ...windows, now: new Date("2024-06-01T03:58:00Z") }),
    );
    assert.equal(late.window?.fits, false);
    assert.match(
      late.warnings.join("\n"),
      /after the maintenance window closes at 2024-06-01T04:00:00.000Z/,
    );
    const closed = planChange(
      request("3.5.0", "3.6.0", { ...windows, now: new Date("2024-06-03T12:00:00Z") }),
    );
    assert.equal(closed.window?.mayStartNow, false);
    assert.match(
      closed.warnings.join("\n"),
      /outside every maintenance window .* next opens at 2024-06-08T02:00:00.000Z/,
    );
    const install = planChange(
      request(undefined, "3.6.0", { ...windows, now: new Date("2024-06-01T03:59:00Z") }),
    );
    assert.equal(install.window?.spanSeconds, 0, "an install takes nothing down");
  });
  test("backupDir is used without a trailing slash", () => {
    assert.equal(
      planChange(request("3.5.0", "3.6.0", { backupDir: "/var/backups/kong/" })).backup?.path,
      "/var/backups/kong/kong-3.5.0-to-3.6.0-<timestamp>.dump",
    );
  });
  test("deterministic: the same request gives the same plan", () => {
    const req = request("3.4.3", "3.10.0", {
      maintenanceWindows: ["daily 00:00-24:00 UTC"],
      now: new Date("2024-06-01T00:00:00Z"),
    });
    assert.deepEqual(planChange(req), planChange(req));
  });
  test("refusals are PlanErrors, which are Errors", () => {
    assert.throws(() => planChange(request("3.2.1", "3.6.0")), PlanError);
    assert.throws(() => planChange(request("3.2.1", "3.6.0")), Error);
  });
});
