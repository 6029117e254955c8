/**
 * `npm run conformance` itself, as a user runs it: against the stand-in 3.6.1 from 3.5.0 every
 * row is ok and the exit code is 0; against a `kong` that differs from Kong in one exit code (a
 * wrapper script around the stand-in) that row is printed as FAIL, with the difference under the
 * table, and the exit code is 1; bad arguments exit 2 with the usage.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { before, test } from "node:test";
import { installKong } from "../kong-sim/helpers";

const ROOT = resolve(__dirname, "../..");

let k36: string;
let k35: string;

before(async () => {
  [k36, k35] = await Promise.all([installKong("3.6.1"), installKong("3.5.0")]);
});

/** `npm run -s conformance -- <args>`: exit code and output. */
function conformance(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      "npm",
      ["run", "-s", "conformance", "--", ...args],
      { cwd: ROOT, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** The table's rows: name → status (ok, FAIL, skip) and the whole line. */
function tableRows(stdout: string): Map<string, { status: string; line: string }> {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => /^row\s+expected\s+seen\s+ok$/.test(l));
  assert.ok(start >= 0, `no table in:\n${stdout}`);
  const rows = new Map<string, { status: string; line: string }>();
  for (const line of lines.slice(start + 2)) {
    if (line.trim() === "") {
      break;
    }
    const m = /^(.+?\S) {2,}.*\s(ok|FAIL|skip)$/.exec(line);
    assert.ok(m, `unreadable table line: ${line}`);
    rows.set(m[1]!, { status: m[2]!, line });
  }
  return rows;
}

/** 127.0.0.1:8007 may be in use on a shared machine; the kit then skips that one row. */
const onlyPortSkip = (name: string, r: { status: string; line: string }) =>
  r.status === "ok" || (r.status === "skip" && /127\.0\.0\.1:8007 is in use/.test(r.line))
    ? []
    : [`${name}: ${r.line}`];

test("against the stand-in 3.6.1 from 3.5.0: every row ok, exit 0", async () => {
  const r = await conformance(["--kong", k36, "--from-kong", k35]);
  const rows = tableRows(r.stdout);
  assert.deepEqual(
    [...rows].flatMap(([name, row]) => onlyPortSkip(name, row)),
    [],
    r.stdout,
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(rows.size >= 45, `${rows.size} rows`);
  for (const name of [
    "not bootstrapped · list",
    "new migrations · up, lock released while it waits",
    "node · GET /status/ready",
    "upgrade · list (pending)",
    "upgrade · finish",
  ]) {
    assert.equal(rows.get(name)?.status, "ok", name);
  }
  assert.match(r.stdout, /^ {2}kong: {6}3\.6\.1 {2}\(binary /m);
  assert.match(r.stdout, /^ {2}from-kong: 3\.5\.0 {2}\(binary /m);
  assert.match(r.stdout, /\n\d+ ok, 0 FAIL, [01] skipped; 3 rows do not apply to Kong 3\.6\.1\n/);
  assert.doesNotMatch(r.stdout, /Rows that differ/);
});

test("a kong whose `migrations list` exits 2 instead of 3 fails that row, exit 1", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kong-conformance-fake-"));
  const fake = join(dir, "kong");
  writeFileSync(
    fake,
    `#!/bin/sh
# The stand-in, except that 'kong migrations list' on a database that needs bootstrapping exits 2.
if [ "$1" = migrations ] && [ "$2" = list ]; then
  "${k36}" "$@"
  rc=$?
  if [ $rc -eq 3 ]; then exit 2; fi
  exit $rc
fi
exec "${k36}" "$@"
`,
  );
  chmodSync(fake, 0o755);
  const r = await conformance(["--kong", fake]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const rows = tableRows(r.stdout);
  assert.equal(rows.get("not bootstrapped · list")?.status, "FAIL");
  assert.match(
    rows.get("not bootstrapped · list")!.line,
    /exit 3 · stdout "Database needs.*exit 2 · /,
  );
  // `up` confirms the state with `list` afterwards, which now says 2: it fails too, and says why.
  assert.equal(rows.get("not bootstrapped · up")?.status, "FAIL");
  assert.equal(rows.get("up to date · list")?.status, "ok");
  assert.equal(rows.get("new migrations · list")?.status, "ok");
  assert.equal(rows.get("upgrade · list")?.status, "skip");
  assert.match(rows.get("upgrade · list")!.line, /skipped: needs --from-kong/);
  assert.deepEqual(
    [...rows].filter(([, row]) => row.status === "FAIL").map(([name]) => name),
    ["not bootstrapped · list", "not bootstrapped · up"],
  );
  assert.match(
    r.stdout,
    /\* not bootstrapped · list\n.*\n.*\n {2}- exit code: expected 3, seen 2\n/,
  );
  assert.match(r.stdout, /open an issue with this table and the output of 'kong version -a'/);
});

test("bad arguments: exit 2 and the usage; a kong that does not run: exit 2 and why", async () => {
  const none = await conformance([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /give exactly one of --kong <binary> and --image <image>/);
  assert.match(none.stderr, /usage: npm run conformance -- \(--kong <kong binary> \| --image/);
  const missing = await conformance(["--kong", "/nonexistent/kong"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /\/nonexistent\/kong: 'kong version' exited -1/);
  const unknown = await conformance(["--kong", k36, "--frobnicate", "x"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown argument '--frobnicate'/);
});
