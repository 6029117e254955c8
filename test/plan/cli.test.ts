/**
 * `npm run plan` end to end: the real script in a child process, checked on exit codes, stdout
 * and stderr, as a person preparing a change request would see them.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The repository root; overridable because the coverage run executes compiled copies elsewhere. */
const ROOT = process.env.KONG_PLAN_ROOT ?? resolve(__dirname, "../..");
const SCRIPT = join(ROOT, "scripts/plan.ts");

interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI as `npm run plan` does (tsx), collecting its output. */
function plan(...args: string[]): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, ...args], { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", fail);
    child.on("close", (status) => done({ status, stdout, stderr }));
  });
}

function file(name: string, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "kong-plan-"));
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

describe("npm run plan", { concurrency: true }, () => {
  test("an allowed hop: exit 0 and the plan", async () => {
    const r = await plan(
      "--from",
      "3.5.0",
      "--to",
      "kong:3.6.1",
      "--nodes",
      "3",
      "--db-bytes",
      "104857600",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Kong 3\.5\.0 → 3\.6\.1: in-place upgrade \(adjacent minor\)/);
    assert.match(r.stdout, /Nodes stopped: 3 × 3\.5\.0/);
    assert.match(r.stdout, /opentelemetry: 001_331_to_332/);
    assert.match(r.stdout, /Estimated downtime .*; numbers: defaults/);
    assert.equal(r.stderr, "");
  });
  test("a skipped path: exit 2 with the message and the route", async () => {
    const r = await plan("--from", "3.2.1", "--to", "3.6.0");
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /3\.2\.1 → 3\.6\.0 is not a guaranteed upgrade path; upgrade through 3\.3 → 3\.4 → 3\.5 → 3\.6, one pulumi up each/,
    );
    assert.match(r.stderr, /\nsuggested route: 3\.3 → 3\.4 → 3\.5 → 3\.6\n/);
    assert.equal(r.stdout, "");
  });
  test("a skipped path with --json: the error as JSON too", async () => {
    const r = await plan("--from", "2.6.0", "--to", "3.4.0", "--json");
    assert.equal(r.status, 2);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; route: string[] } };
    assert.equal(error.code, "path");
    assert.deepEqual(error.route, ["2.7", "2.8", "3.4"]);
  });
  test("a route-less target: exit 2 without a route line", async () => {
    const r = await plan("--from", "2.8.0", "--to", "3.1.0");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /target 3\.4 or later/);
    assert.doesNotMatch(r.stderr, /suggested route/);
  });
  test("a downgrade without a backup: exit 2 with how to restore", async () => {
    const r = await plan("--from", "3.6.1", "--to", "3.5.0");
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /is a downgrade.*Kong migrations cannot be reversed.*pg_restore --clean --if-exists/s,
    );
  });
  test("a downgrade with the backup catalog: exit 0 and a rollback plan", async () => {
    const backups = file("backups.json", [
      {
        id: "b1",
        fromVersion: "3.5.0",
        toVersion: "3.6.1",
        path: "/b/1",
        takenAt: "2024-06-01T02:00:00Z",
      },
    ]);
    const r = await plan("--from", "3.6.1", "--to", "3.5.0", "--backups", backups);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /rollback by restore/);
    assert.match(r.stdout, /Restoring backup b1: \/b\/1/);
  });
  test("--json prints the exported form", async () => {
    const r = await plan("--to", "3.10.0", "--json", "--plugins", "key-auth,acl");
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout) as {
      schema: string;
      kind: string;
      steps: { name: string }[];
      migrations: { up: unknown[] };
    };
    assert.equal(json.schema, "kong-gateway/upgrade-plan@1");
    assert.equal(json.kind, "install");
    assert.deepEqual(
      json.steps.map((s) => s.name),
      ["preflight", "stop", "backup", "migrations-up", "migrations-finish", "start", "verify"],
    );
    assert.equal(json.migrations.up.length, 24 + 4 + 4);
  });
  test("--markdown prints the plan as a table for a change request", async () => {
    const r = await plan("--from", "3.5.0", "--to", "3.6.0", "--nodes", "2", "--markdown");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^### Kong 3\.5\.0 → 3\.6\.0: in-place upgrade \(adjacent minor\)\n/);
    assert.match(
      r.stdout,
      /\n\| # \| step \| runs on \| gateway \| estimate \| source \| command \|\n/,
    );
    assert.match(
      r.stdout,
      /\n\| 2 \| stop \| 2 × 3\.5\.0 nodes \| \*\*down\*\* \| .* \| default \| `kong quit` \|\n/,
    );
    assert.match(
      r.stdout,
      /- \*\*Backup:\*\* `\.state\/backups\/kong-3\.5\.0-to-3\.6\.0-<timestamp>\.dump`/,
    );
    assert.equal(r.stderr, "");
  });
  test("--json and --markdown together: bad input", async () => {
    const r = await plan("--to", "3.6.0", "--json", "--markdown");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--json and --markdown exclude each other/);
  });
  test("plugins, history and windows flow through", async () => {
    const history = file("history.json", [
      { steps: [{ name: "stop", seconds: 7 }], databaseBytes: 1000 },
    ]);
    const r = await plan(
      "--from",
      "3.5.0",
      "--to",
      "3.6.0",
      "--from-plugins",
      "key-auth",
      "--plugins",
      "key-auth,rate-limiting",
      "--history",
      history,
      "--window",
      "Sat 02:00-04:00 UTC",
      "--window",
      "Sun 02:00-04:00 UTC",
      "--now",
      "2024-06-03T12:00:00Z",
      "--backup-dir",
      "/srv/backups",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /KONG_PLUGINS=\S+ kong migrations up\n/);
    assert.doesNotMatch(r.stdout, /kong migrations (up|finish) -f/);
    assert.match(r.stdout, /measured in 1 earlier upgrade/);
    assert.match(r.stdout, /closed now; next opens 2024-06-08T02:00:00.000Z/);
    assert.match(r.stdout, /Backup: \/srv\/backups\/kong-3\.5\.0-to-3\.6\.0/);
  });
  test("--help: usage, exit 0", async () => {
    const r = await plan("--help");
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^usage: npm run plan -- --to <version>/);
  });
  const bad: [string, string[], RegExp][] = [
    ["no --to", ["--from", "3.5.0"], /--to is required/],
    ["a malformed version", ["--to", "kong:latest"], /version "kong:latest"/],
    ["an unknown version", ["--to", "3.11.0"], /newer than 3\.10/],
    ["an unknown flag", ["--to", "3.6.0", "--frm", "3.5.0"], /Unknown option '--frm'/],
    ["a positional argument", ["--to", "3.6.0", "3.5.0"], /positional/i],
    [
      "a bad node count",
      ["--to", "3.6.0", "--nodes", "0"],
      /--nodes "0" is not a whole number ≥ 1/,
    ],
    ["bad database bytes", ["--to", "3.6.0", "--db-bytes", "5GB"], /--db-bytes "5GB"/],
    [
      "a bad window",
      ["--from", "3.5.0", "--to", "3.6.0", "--window", "weekends"],
      /maintenance window "weekends"/,
    ],
    ["a bad --now", ["--to", "3.6.0", "--now", "soon"], /--now "soon" is not an ISO time/],
    [
      "a bad plugin name",
      ["--to", "3.6.0", "--plugins", "Key Auth"],
      /plugins contains "Key Auth"/,
    ],
    [
      "an unreadable file",
      ["--to", "3.6.0", "--history", "/nonexistent/h.json"],
      /--history \/nonexistent\/h\.json: ENOENT/,
    ],
    [
      "a file that is not an array",
      ["--to", "3.6.0", "--backups", file("b.json", { id: 1 })],
      /must hold a JSON array/,
    ],
    [
      "a file that is not JSON",
      ["--to", "3.6.0", "--history", file("h.json", "{nope")],
      /--history .*h\.json: /,
    ],
  ];
  for (const [name, args, message] of bad) {
    test(`bad input (${name}): exit 1 with the message and the usage`, async () => {
      const r = await plan(...args);
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /usage: npm run plan/);
    });
  }
});
