/**
 * Every conformance row (rows.ts) against the stand-in (test/kong-sim) on a real PostgreSQL: the
 * stand-in must pass the kit it is the model for. Two runs cover the version-bound rows that the
 * CLI test (3.6.1 from 3.5.0, cli.test.ts) cannot: 3.0.1 from 2.8.4 (an upgrade that leaves
 * migrations pending; no /status/ready, status_listen off) and 2.8.4 alone (no `migrations
 * status`; the two-version rows say they need --from-kong). Plus the kit's pure parts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { installKong } from "../kong-sim/helpers";
import { compare, describeExpect, oneLine } from "./contract";
import { ownDatabase, parsePgUrl, type KitDatabase } from "./database";
import { applies, parseKongVersion, runKit, type KitKong, type Result } from "./kit";
import { SCENARIOS } from "./rows";
import { renderTable } from "./table";
import { binaryTarget, imageExecArgv, imageRunArgv } from "./target";

let db: KitDatabase;

before(async () => {
  db = await ownDatabase();
});

after(async () => {
  await db?.close();
});

async function standIn(version: string): Promise<KitKong> {
  return {
    target: binaryTarget(await installKong(version)),
    version: parseKongVersion(version) ?? assert.fail(version),
  };
}

/** Rows that did not pass, except skips for one of `allowed` reasons. */
function problems(results: readonly Result[], allowed: readonly RegExp[]): string[] {
  return results
    .filter(
      (r) => r.status === "FAIL" || (r.status === "skip" && !allowed.some((a) => a.test(r.seen))),
    )
    .map((r) => `${r.row}: ${r.status}: ${r.seen}\n    ${r.details.join("\n    ")}`);
}

/** Port 8007 may be taken by another process on a shared machine: the kit skips that row then. */
const PORT_8007 = /^skipped: 127\.0\.0\.1:8007 is in use/;

describe("the stand-in passes every row", () => {
  test("3.0.1 from 2.8.4: all ok, nothing skipped", async () => {
    const { results, notApplicable } = await runKit(
      await standIn("3.0.1"),
      await standIn("2.8.4"),
      db,
      SCENARIOS,
    );
    assert.deepEqual(problems(results, [PORT_8007]), [], renderTable(results));
    assert.ok(results.some((r) => r.row === "upgrade · finish" && r.status === "ok"));
    assert.ok(results.some((r) => r.row === "node · GET /status/ready before 3.3"));
    assert.equal(notApplicable, 3, "status before 3.0, /status/ready, status_listen 3.6+");
  });
  test("2.8.4 alone: all ok; the upgrade rows say they need --from-kong", async () => {
    const { results } = await runKit(await standIn("2.8.4"), undefined, db, SCENARIOS);
    assert.deepEqual(problems(results, [PORT_8007, /^skipped: needs --from-kong$/]), []);
    const skipped = results.filter((r) => r.seen === "skipped: needs --from-kong");
    assert.ok(skipped.length >= 5);
    assert.ok(skipped.every((r) => r.row.startsWith("upgrade · ")));
    assert.ok(results.some((r) => r.row === "up to date · status before 3.0" && r.status === "ok"));
    assert.ok(!results.some((r) => r.row === "up to date · status"), "status is 3.0+");
  });
});

describe("the kit's own logic", () => {
  test("every row runs on at least one of the versions CI checks (2.8.4, 3.0.1, 3.6.1)", () => {
    const versions = ["2.8.4", "3.0.1", "3.6.1"].map((v) => parseKongVersion(v)!);
    for (const s of SCENARIOS) {
      for (const r of s.rows) {
        assert.ok(
          versions.some((v) => applies(r, v)),
          `${s.name} · ${r.name} runs nowhere`,
        );
      }
    }
  });
  test("row names are unique", () => {
    const names = SCENARIOS.flatMap((s) => s.rows.map((r) => `${s.name} · ${r.name}`));
    assert.equal(new Set(names).size, names.length);
  });
  test("versions: `kong version` output, Enterprise included; gating by since/before", () => {
    assert.deepEqual(parseKongVersion("3.6.1\n")?.parts, [3, 6, 1]);
    assert.equal(parseKongVersion("Kong Enterprise 3.4.3.12\n")?.text, "3.4.3.12");
    assert.equal(parseKongVersion("Error: boom\n"), undefined);
    const v = (t: string) => parseKongVersion(t)!;
    assert.equal(applies({ since: [3, 3] }, v("3.3.0")), true);
    assert.equal(applies({ since: [3, 3] }, v("3.2.9")), false);
    assert.equal(applies({ before: [3, 6] }, v("3.6.0")), false);
    assert.equal(applies({ before: [3, 6] }, v("3.5.9")), true);
    assert.equal(applies({ since: [3, 0] }, v("10.0.0")), true);
  });
  test("a run is compared stream by stream, and described for the table", () => {
    const expect = { code: 3, stdout: "x\n", stderr: "" };
    assert.deepEqual(compare({ code: 3, stdout: "x\n", stderr: "" }, expect), {
      ok: true,
      differences: [],
    });
    const bad = compare({ code: 2, stdout: "x\n", stderr: "" }, expect);
    assert.equal(bad.ok, false);
    assert.deepEqual(bad.differences, ["exit code: expected 3, seen 2"]);
    assert.equal(describeExpect(expect), 'exit 3 · stdout "x⏎" · stderr empty');
    assert.equal(oneLine("a".repeat(100), 10), `"${"a".repeat(9)}…"`);
  });
  test("--pg takes a URL; the password may come from PGPASSWORD", () => {
    assert.deepEqual(parsePgUrl("postgres://kong:s3cr%40t@db.test:6432/kong_tmp"), {
      host: "db.test",
      port: 6432,
      user: "kong",
      password: "s3cr@t",
      database: "kong_tmp",
    });
    assert.throws(() => parsePgUrl("db.test:5432"), /must start with postgres:\/\//);
    assert.throws(() => parsePgUrl("not a url"), /not a connection URL/);
    assert.throws(() => parsePgUrl("postgres://db.test/"), /needs a user, a host and a database/);
  });
  test("--image: the container's argv, and each command's (settings by name only)", () => {
    assert.deepEqual(imageRunArgv("kong:3.6.1", "c1"), [
      "run",
      "-d",
      "-i",
      "--name",
      "c1",
      "--network",
      "host",
      "--entrypoint",
      "/bin/sh",
      "--label",
      "kong-gateway.conformance=1",
      "kong:3.6.1",
    ]);
    assert.deepEqual(
      imageExecArgv("c1", ["migrations", "list"], ["KONG_PG_HOST", "KONG_PG_PASSWORD"]),
      ["exec", "-e", "KONG_PG_HOST", "-e", "KONG_PG_PASSWORD", "c1", "kong", "migrations", "list"],
    );
  });
});
