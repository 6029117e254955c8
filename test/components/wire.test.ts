/**
 * The seam between the program and the runner: the spec and the report are checked field by
 * field where they are read, and the spec's text does not depend on the order it was built in.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeReport, encodeReport } from "../../components/contract/report";
import { encodeSpec, parseSpec, StepSpec } from "../../components/contract/spec";

const spec: StepSpec = {
  cluster: "kong",
  stateDir: "/s",
  kind: "upgrade",
  from: "3.5.0",
  to: "3.6.0",
  generation: 1,
  nodes: [
    {
      id: "node-0",
      version: "3.6.0",
      kongBin: "/k",
      prefix: "/p",
      proxyListen: "127.0.0.1:1",
      adminListen: "127.0.0.1:2",
      statusListen: "127.0.0.1:3",
      proxyUrl: "http://127.0.0.1:1",
      adminUrl: "http://127.0.0.1:2",
      statusUrl: "http://127.0.0.1:3",
    },
  ],
  plugins: "bundled",
  database: { host: "h", port: 5432, database: "kong", user: "kong", schema: "", ssl: "off" },
  backup: { dir: "/b", verify: "list", retention: 5, minFreeBytes: 0 },
  automaticRollback: true,
  maintenanceWindows: [],
  allowSmallerCluster: false,
  probe: { path: "/", expectStatus: [] },
  timeouts: { quitSeconds: 10, startSeconds: 60, dbTimeoutSeconds: 60, lockTimeoutSeconds: 60 },
};

describe("the spec on the wire", () => {
  it("round-trips", () => {
    assert.deepEqual(parseSpec(encodeSpec(spec)), spec);
  });

  it("is the same text whatever order its keys were set in", () => {
    const reordered = Object.fromEntries(Object.entries(spec).reverse()) as unknown as StepSpec;
    const backup = { minFreeBytes: 0, retention: 5, verify: "list", dir: "/b" } as const;
    assert.equal(encodeSpec({ ...reordered, backup }), encodeSpec(spec));
  });

  it("names every wrong field when the runner reads it", () => {
    const bad = { ...spec, kind: "sideways", generation: 0, nodes: [{ id: "" }] };
    assert.throws(
      () => parseSpec(JSON.stringify(bad)),
      /KONG_GW_SPEC is not a step spec: .*kind: .*generation: .*nodes\.0\.id: /,
    );
    assert.throws(() => parseSpec("{"), /KONG_GW_SPEC is not JSON/);
    assert.throws(() => parseSpec(undefined), /KONG_GW_SPEC is not set/);
  });
});

describe("the report on the wire", () => {
  const report = {
    lastUpgrade: {
      kind: "upgrade" as const,
      from: "3.5.0",
      to: "3.6.0",
      generation: 1,
      outcome: "succeeded" as const,
      steps: [{ name: "stop", startedAt: "a", finishedAt: "b", seconds: 1 }],
      downtimeSeconds: 1,
    },
    backups: [],
  };

  it("round-trips through the verify step's output line", () => {
    assert.deepEqual(decodeReport(`noise\n${encodeReport(report)}\nmore`), report);
    assert.deepEqual(decodeReport("no report here"), { lastUpgrade: undefined, backups: [] });
  });

  it("refuses a malformed report, naming the field", () => {
    assert.throws(
      () => decodeReport('KONG_GW_REPORT {"lastUpgrade":{"kind":"upgrade"},"backups":[]}'),
      /the verify step's report is malformed: lastUpgrade\.to: /,
    );
  });
});
