import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  formatRange,
  PLAN_SUMMARY_SCHEMA,
  planChange,
  planSummary,
  renderPlanMarkdown,
} from "../../components/plan";
import { request } from "./helpers";

const backup = {
  id: "b-3.5",
  fromVersion: "3.5.0",
  toVersion: "3.6.0",
  path: "/b/kong-3.5.0-to-3.6.0.dump",
  takenAt: "2024-06-01T02:00:00Z",
};

describe("planSummary (the stack's upgradePlan output)", () => {
  test("an upgrade: versions, strategy, downtime, backup, steps, on flat fields", () => {
    const plan = planChange(request("3.5.0", "3.6.0", { backupDir: "/srv/b" }));
    const s = planSummary(plan);
    assert.deepEqual(s, {
      schema: PLAN_SUMMARY_SCHEMA,
      kind: "upgrade",
      from: "3.5.0",
      to: "3.6.0",
      hop: "minor",
      strategy: "in-place",
      // What `prepared` would cost (a minor hop on one node: `rolling` is not allowed).
      alternatives: `prepared ${formatRange(planChange({ ...request("3.5.0", "3.6.0", { backupDir: "/srv/b" }), strategy: "prepared" }).downtime)}`,
      downtime: formatRange(plan.downtime),
      downtimeExpectedSeconds: plan.downtime.expectedSeconds,
      backup: "/srv/b/kong-3.5.0-to-3.6.0-<timestamp>.dump",
      steps:
        "preflight → stop → backup → migrations-up → migrations-finish → start → verify → decommission",
      warnings: plan.warnings.length,
    });
    // One line per field in a preview's diff: nothing nested.
    for (const [k, v] of Object.entries(s)) {
      assert.ok(typeof v !== "object", `${k} is flat`);
    }
  });
  test("prepared and rolling: their own steps and downtime; rolling refused on a minor hop without allowMixedVersions", () => {
    const base = request("3.5.0", "3.6.0", { backupDir: "/srv/b" });
    const prepared = planSummary(planChange({ ...base, strategy: "prepared" }));
    assert.equal(prepared.strategy, "prepared");
    assert.equal(
      prepared.steps,
      "preflight → backup → migrations-up → stop → start → verify → migrations-finish → decommission",
    );
    assert.equal(prepared.alternatives, undefined);
    const two = {
      ...base,
      deployed: { ...base.deployed!, nodes: 2 },
      target: { ...base.target, nodes: 2 },
    };
    assert.throws(
      () => planChange({ ...two, strategy: "rolling" }),
      /rolling on a minor hop 3\.5\.0 → 3\.6\.0 .*set kong-gateway:allowMixedVersions true/,
    );
    const rolling = planChange({ ...two, strategy: "rolling", allowMixedVersions: true });
    assert.equal(planSummary(rolling).downtime, "none");
    assert.ok(
      rolling.warnings.some((w) => /Kong recommends mixed versions only between patch/.test(w)),
    );
    assert.ok(
      prepared.downtimeExpectedSeconds < planSummary(planChange(base)).downtimeExpectedSeconds,
      "prepared is down for less than in-place",
    );
    assert.match(
      planSummary(planChange({ ...two, allowMixedVersions: true })).alternatives ?? "",
      /^prepared .*; rolling none$/,
    );
  });
  test("an install: no from, no downtime, no backup", () => {
    const s = planSummary(planChange(request(undefined, "3.6.0")));
    assert.equal(s.kind, "install");
    assert.equal(s.from, undefined);
    assert.equal(s.downtime, "none");
    assert.equal(s.downtimeExpectedSeconds, 0);
    assert.equal(s.backup, undefined);
    assert.equal(
      s.steps,
      "preflight → stop → backup → migrations-up → migrations-finish → start → verify",
    );
  });
  test("a rollback names the backup it restores", () => {
    const s = planSummary(planChange(request("3.6.0", "3.5.0", { backups: [backup] })));
    assert.equal(s.kind, "rollback");
    assert.equal(s.restores, "b-3.5");
    assert.match(s.steps, /restore/);
  });
  test("a no-op has no summary", () => {
    assert.throws(() => planSummary(planChange(request("3.6.0", "3.6.0"))), /no-op/);
  });
  test("survives JSON unchanged (no undefined fields)", () => {
    const s = planSummary(planChange(request(undefined, "3.6.0")));
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
    assert.ok(!Object.values(s).includes(undefined));
  });
});

describe("renderPlanMarkdown", () => {
  test("a heading, the facts, one table row per step in order, the warnings", () => {
    const plan = planChange(request("3.5.0", "3.6.0"));
    const md = renderPlanMarkdown(plan);
    const lines = md.split("\n");
    assert.equal(lines[0], "### Kong 3.5.0 → 3.6.0: in-place upgrade (adjacent minor)");
    assert.ok(lines.includes("- **Strategy:** in-place"));
    assert.ok(lines.some((l) => l.startsWith(`- **Downtime:** ${formatRange(plan.downtime)}`)));
    const rows = lines.filter((l) => /^\| \d+ \|/.test(l));
    assert.deepEqual(
      rows.map((r) => r.split(" | ")[1]),
      plan.steps.map((s) => s.name),
    );
    const stop = rows[1]!.split(" | ");
    assert.equal(stop[2], "2 × 3.5.0 nodes");
    assert.equal(stop[3], "**down**");
    // Every row has as many cells as the header.
    const cells = (l: string) => l.replace(/\\\|/g, "").split("|").length;
    for (const r of rows) {
      assert.equal(cells(r), cells(lines.find((l) => l.startsWith("| # |"))!), r);
    }
    assert.ok(lines.includes("**Warnings**"));
  });
  test("text cannot break the table or vanish as HTML", () => {
    const plan = planChange(request("3.5.0", "3.6.0"));
    const odd = {
      ...plan,
      warnings: ["a | b\nc <timestamp> & d"],
      steps: plan.steps.map((s) => ({ ...s, command: "a | b `c`" })),
    };
    const md = renderPlanMarkdown(odd);
    assert.ok(md.includes("- a \\| b<br>c &lt;timestamp&gt; &amp; d"));
    assert.ok(md.includes("| `a \\| b 'c'` |"));
    // Inside code spans `<` stays as it is (GFM shows entities there literally).
    assert.ok(md.includes("- **Backup:** `.state/backups/kong-3.5.0-to-3.6.0-<timestamp>.dump`"));
  });
  test("a no-op says so", () => {
    assert.equal(
      renderPlanMarkdown(planChange(request("3.6.0", "3.6.0"))),
      "### Kong 3.6.0: no change (the deployed version is the target)\n",
    );
  });
});
