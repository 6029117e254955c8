/**
 * The runner's side of the timeline (components/runner/steps/timeline.ts): what lands in
 * `<stateDir>/reports/`, what it prints, and that a picture never fails the step.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { readReports, reportsDir, writeTimeline } from "../../components/runner/steps/timeline";
import { oneNodeSpec, specBase } from "../support/runner";
import { sampleReport } from "./fixtures";

function spec(stateDir: string) {
  const db = { host: "127.0.0.1", port: 1, database: "kong", user: "kong" };
  return oneNodeSpec(
    specBase(db as never, stateDir),
    "upgrade",
    "3.6.0",
    {
      kongBin: "/bin/false",
      port: 1,
    },
    { from: "3.5.0" },
  );
}

describe("writeTimeline", () => {
  let stderr: string[];
  const write = process.stderr.write.bind(process.stderr);
  beforeEach(() => {
    stderr = [];
    process.stderr.write = ((chunk: string) => (stderr.push(String(chunk)), true)) as never;
  });
  afterEach(() => {
    process.stderr.write = write;
  });

  it("writes <from>-to-<to>-<time>.svg beside the report and prints its path", () => {
    const dir = mkdtempSync(join(tmpdir(), "kong-gw-tl-"));
    const path = writeTimeline(spec(dir), sampleReport());
    assert.equal(path, join(dir, "reports", "3.5.0-to-3.6.0-20240601T020009Z.svg"));
    assert.ok(existsSync(path!));
    assert.deepEqual(
      JSON.parse(readFileSync(path!.replace(/\.svg$/, ".json"), "utf8")),
      sampleReport(),
    );
    assert.deepEqual(stderr, [`[kong-gateway] timeline: ${path}\n`]);
    const svg = readFileSync(path!, "utf8");
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /class="estimate"/, "the planner's estimate is drawn");
    assert.match(svg, />2s · est\. 15s</, "defaults on a first upgrade");
  });

  it("earlier upgrades' reports in the directory become the measured estimate", () => {
    const dir = mkdtempSync(join(tmpdir(), "kong-gw-tl-"));
    writeTimeline(spec(dir), sampleReport());
    const later = sampleReport({
      steps: sampleReport().steps.map((s) => ({
        ...s,
        startedAt: s.startedAt.replace("T02", "T03"),
        finishedAt: s.finishedAt.replace("T02", "T03"),
      })),
    });
    const path = writeTimeline(spec(dir), later)!;
    assert.equal(readReports(reportsDir({ stateDir: dir })).length, 2);
    // preflight measured 2 s in the earlier run: expected 2 s now (not the 15 s default).
    assert.match(readFileSync(path, "utf8"), />2s · est\. 2s</);
  });

  it("never throws: a reports path it cannot create is reported on stderr", () => {
    const dir = mkdtempSync(join(tmpdir(), "kong-gw-tl-"));
    writeFileSync(join(dir, "reports"), "a file where the directory should be");
    assert.equal(writeTimeline(spec(dir), sampleReport()), undefined);
    assert.match(stderr.join(""), /\[kong-gateway\] no timeline written: /);
  });
});
