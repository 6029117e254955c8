/** planChange: the four kinds of change and every refusal. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BackupRecord, planChange } from "../../components/plan";
import { assertRefused, request } from "./helpers";

const backup = (id: string, from: string, to: string, takenAt: string): BackupRecord => ({
  id,
  fromVersion: from,
  toVersion: to,
  path: `/backups/${id}`,
  takenAt,
});
const names = (p: { steps: { name: string }[] }) => p.steps.map((s) => s.name);
const down = (p: { steps: { gatewayDown: boolean }[] }) => p.steps.map((s) => s.gatewayDown);

describe("planChange: kinds of change", () => {
  test("fresh install: the steps the chain runs (bootstrap in migrations-up), no downtime", () => {
    const p = planChange(request(undefined, "kong:3.10.0"));
    assert.equal(p.kind, "install");
    assert.equal(p.from, undefined);
    assert.equal(p.to, "3.10.0");
    assert.deepEqual(names(p), [
      "preflight",
      "stop",
      "backup",
      "migrations-up",
      "migrations-finish",
      "start",
      "verify",
    ]);
    assert.deepEqual(down(p), [false, false, false, false, false, false, false]);
    assert.deepEqual(
      p.steps.map((s) => s.runsOn),
      [
        "migration-job",
        "deployed-nodes",
        "database",
        "migration-job",
        "migration-job",
        "target-nodes",
        "target-nodes",
      ],
    );
    assert.equal(p.steps[3]!.command, "KONG_PLUGINS=bundled kong migrations bootstrap");
    assert.equal(p.downtime.highSeconds, 0);
    assert.deepEqual(p.downtime.steps, []);
    assert.equal(p.backup, undefined);
    assert.equal(p.migrations.pendingAfterUp.length, 0);
    assert.ok(p.duration.highSeconds > 0);
    assert.deepEqual(p.warnings, []);
  });

  test("upgrade: the eight steps in order, gateway down from stop to start", () => {
    const p = planChange(request("3.5.0", "3.6.1", { databaseBytes: 50 * 1024 * 1024 }));
    assert.equal(p.kind, "upgrade");
    assert.equal(p.hop, "minor");
    assert.deepEqual(names(p), [
      "preflight",
      "stop",
      "backup",
      "migrations-up",
      "migrations-finish",
      "start",
      "verify",
      "decommission",
    ]);
    assert.deepEqual(down(p), [false, true, true, true, true, true, false, false]);
    assert.deepEqual(
      p.steps.map((s) => `${s.runsOn}:${s.version}:${s.nodes}`),
      [
        "migration-job:3.5.0:0",
        "deployed-nodes:3.5.0:2",
        "database:3.5.0:0",
        "migration-job:3.6.1:0",
        "migration-job:3.6.1:0",
        "target-nodes:3.6.1:2",
        "target-nodes:3.6.1:2",
        "deployed-nodes:3.5.0:2",
      ],
    );
    assert.deepEqual(p.downtime.steps, [
      "stop",
      "backup",
      "migrations-up",
      "migrations-finish",
      "start",
    ]);
    const sum = (k: "lowSeconds" | "expectedSeconds" | "highSeconds") =>
      p.steps.filter((s) => s.gatewayDown).reduce((t, s) => t + s.estimate[k], 0);
    assert.equal(p.downtime.lowSeconds, sum("lowSeconds"));
    assert.equal(p.downtime.expectedSeconds, sum("expectedSeconds"));
    assert.equal(p.downtime.highSeconds, sum("highSeconds"));
    assert.ok(
      p.downtime.lowSeconds <= p.downtime.expectedSeconds &&
        p.downtime.expectedSeconds <= p.downtime.highSeconds,
    );
    assert.equal(p.downtime.source, "defaults");
    assert.deepEqual(p.backup, {
      dir: ".state/backups",
      path: ".state/backups/kong-3.5.0-to-3.6.1-<timestamp>.dump",
    });
    assert.match(
      p.warnings[0] as string,
      /^going back restores the backup: once migrations-finish has run, 3\.\d\.\d cannot run on this database again; .* which will not have anything written after it was taken \(a rollback by version keeps those writes in a backup of its own, to re-apply by hand\)$/,
    );
    assert.match(p.warnings[1] as string, /destructive teardowns \(opentelemetry 001_331_to_332\)/);
    assert.equal(p.newPluginMigrations, false);
    assert.ok(p.steps.every((s) => !/kong migrations \w+ -f/.test(s.command ?? "")));
  });

  test("LTS and patch hops are named", () => {
    assert.equal(planChange(request("2.8.4", "3.4.3")).hop, "lts");
    assert.equal(planChange(request("3.4.3", "3.10.0")).hop, "lts");
    assert.equal(planChange(request("3.6.0", "3.6.1")).hop, "patch");
  });

  test("same version: nothing to do", () => {
    const p = planChange(
      request("3.6.1", "kong:3.6.1", {
        maintenanceWindows: ["Sat 02:00-04:00 UTC"],
        now: new Date(0),
      }),
    );
    assert.equal(p.kind, "noop");
    assert.deepEqual(p.steps, []);
    assert.equal(p.downtime.highSeconds, 0);
    assert.equal(p.window, undefined, "no window check when there is nothing to do");
    assert.deepEqual(p.warnings, []);
  });

  test("same version with a newly enabled plugin: a warning, not a plan", () => {
    const p = planChange({
      deployed: { version: "3.6.1", nodes: 2, plugins: [] },
      target: { version: "3.6.1", nodes: 2, plugins: ["session"] },
    });
    assert.equal(p.kind, "noop");
    assert.equal(p.newPluginMigrations, false);
    assert.match(p.warnings.join("\n"), /plugins session are newly enabled at the same version/);
  });

  test("rollback: restores the newest backup taken by the upgrade that left the version", () => {
    const backups = [
      backup("old", "3.5.0", "3.6.1", "2024-05-01T02:00:00Z"),
      backup("new", "3.5.0", "3.6.1", "2024-06-01T02:00:00Z"),
      backup("other", "3.4.0", "3.5.0", "2024-06-02T02:00:00Z"),
    ];
    const p = planChange({
      ...request("3.6.1", "3.5.0", { backups }),
      target: { version: "3.5.0", nodes: 1, plugins: "bundled" },
    });
    assert.equal(p.kind, "rollback");
    assert.deepEqual(names(p), ["preflight", "stop", "backup", "restore", "start", "verify"]);
    assert.deepEqual(down(p), [false, true, true, true, true, false]);
    assert.deepEqual(
      p.steps.map((s) => `${s.runsOn}:${s.version}`),
      [
        "database:3.5.0",
        "deployed-nodes:3.6.1",
        "database:3.6.1",
        "database:3.5.0",
        "target-nodes:3.5.0",
        "target-nodes:3.5.0",
      ],
    );
    assert.equal(p.rollbackBackup?.id, "new");
    assert.equal(p.steps[0]?.command, "sha256sum /backups/new");
    assert.match(
      p.steps[2]?.command ?? "",
      /^pg_dump -Fc -f \S+\/kong-3\.6\.1-to-3\.5\.0-<timestamp>\.dump /,
    );
    assert.match(p.steps[3]?.command ?? "", /pg_restore --clean --if-exists .* \/backups\/new$/);
    assert.match(
      p.warnings[0] as string,
      /^the restored database is the one of 2024-06-01T02:00:00Z \(backup new\): anything written through 3\.6\.1 since then will not be in it; .* so those writes are kept there, not lost$/,
    );
    assert.match(p.warnings.join("\n"), /smaller than the deployed one \(nodes 1 < 2\); accepted/);
    assert.deepEqual(p.migrations.up, []);
  });
});

describe("planChange: refusals", () => {
  test("a skipped path: code path, the route, one pulumi up each", () => {
    const e = assertRefused(
      () => planChange(request("3.2.1", "3.6.0")),
      "path",
      "target.version: 3.2.1 → 3.6.0 is not a guaranteed upgrade path; upgrade through 3.3 → 3.4 → 3.5 → 3.6, one pulumi up each",
    );
    assert.deepEqual(e.route, ["3.3", "3.4", "3.5", "3.6"]);
    assert.ok(e instanceof Error);
    assert.equal(e.name, "PlanError");
  });
  test("2.x to 3.2: no route at all", () => {
    const e = assertRefused(
      () => planChange(request("2.8.0", "3.2.0")),
      "path",
      "target 3.4 or later",
    );
    assert.deepEqual(e.route, []);
  });
  test("a downgrade without the matching backup explains and tells how to restore", () => {
    for (const backups of [
      [],
      [backup("b", "3.4.0", "3.6.1", "2024-01-01T00:00:00Z")],
      [backup("b", "3.5.0.1", "3.6.1", "2024-01-01T00:00:00Z")],
    ]) {
      const e = assertRefused(
        () => planChange(request("3.6.1", "3.5.0", { backups })),
        "downgrade",
        "version 3.6.1 → 3.5.0 is a downgrade",
        "no backup taken by the upgrade 3.5.0 → 3.6.1",
        "Kong migrations cannot be reversed",
        "pg_restore --clean --if-exists",
      );
      assert.equal(e.route, undefined);
      assert.ok(
        e.message.includes(
          backups.length === 0 ? "the backup catalog is empty" : "recorded backups: b (",
        ),
      );
    }
  });
  test("a downgrade with no backup catalog at all is refused the same way", () => {
    assertRefused(
      () => planChange(request("3.10.0", "3.9.0")),
      "downgrade",
      "the backup catalog is empty",
    );
  });
  test("a smaller cluster is refused unless allowed", () => {
    const smaller = {
      ...request("3.5.0", "3.6.0"),
      target: { version: "3.6.0", nodes: 1, plugins: "bundled" as const },
    };
    assertRefused(() => planChange(smaller), "capacity", "nodes 1 < 2");
    const p = planChange({ ...smaller, allowSmallerCluster: true });
    assert.match(p.warnings.join("\n"), /accepted because allowSmallerCluster is set/);
  });
  test("versions: malformed and unknown, naming the setting", () => {
    assertRefused(() => planChange(request("3.5.0", "kong:latest")), "version", `"kong:latest"`);
    assertRefused(
      () => planChange(request("3.5.0", "3.11.0")),
      "version",
      "target.version 3.11.0 is newer than 3.10",
    );
    assertRefused(
      () => planChange(request("1.5.0", "2.1.0")),
      "version",
      "deployed.version 1.5.0 is older than 2.1",
    );
  });
  test("malformed inputs are refused with the field named", () => {
    const cases: [Parameters<typeof planChange>[0], string][] = [
      [request("3.5.0", "3.6.0", { databaseBytes: -1 }), "databaseBytes -1 is not a database size"],
      [request("3.5.0", "3.6.0", { databaseBytes: Number.NaN }), "databaseBytes NaN"],
      [
        request("3.5.0", "3.6.0", { history: [{ steps: [{ name: "stop", seconds: -2 }] }] }),
        "history[0].steps[0].seconds -2 (stop)",
      ],
      [
        request("3.5.0", "3.6.0", { history: [{ steps: [], databaseBytes: -5 }] }),
        "history[0].databaseBytes -5",
      ],
      [
        request("3.5.0", "3.6.0", { backups: [backup("b", "3.5.0", "3.6.0", "yesterday")] }),
        `backups[0].takenAt "yesterday"`,
      ],
      [
        request("3.5.0", "3.6.0", {
          backups: [{ ...backup("b", "3.5.0", "3.6.0", "2024-01-01T00:00:00Z"), path: " " }],
        }),
        'backups[0] ("b") has an empty id or path',
      ],
      [
        {
          ...request("3.5.0", "3.6.0"),
          deployed: { version: "3.5.0", nodes: 0, plugins: "bundled" },
        },
        "deployed.nodes 0",
      ],
    ];
    for (const [req, message] of cases) {
      assertRefused(() => planChange(req), "input", message);
    }
    assertRefused(
      () =>
        planChange(
          request("3.5.0", "3.6.0", {
            backups: [backup("b", "x", "3.6.0", "2024-01-01T00:00:00Z")],
          }),
        ),
      "version",
      `"x"`,
    );
  });
  test("windows: a malformed spec is refused even when there is nothing to do; windows need now", () => {
    assertRefused(
      () =>
        planChange(
          request("3.6.1", "3.6.1", { maintenanceWindows: ["Sat 2-4"], now: new Date(0) }),
        ),
      "window",
      `"Sat 2-4"`,
    );
    assertRefused(
      () => planChange(request("3.5.0", "3.6.0", { maintenanceWindows: ["Sat 02:00-04:00 UTC"] })),
      "window",
      "now is not",
    );
  });
});
