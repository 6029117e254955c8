/**
 * The outage's steps in one runner process (contract/steps.ts `outageRun`): which steps run
 * together, and, through the runner processes the command resources start against a real
 * PostgreSQL, that the first one runs them all in the step table's order while the later ones
 * find theirs done and return at once without doing anything again.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  chainOrder,
  gatewayDownDuring,
  outageRun,
  STRATEGIES,
} from "../../components/contract/steps";
import { entries } from "../../components/state/journal";
import { StepSpec } from "../../components/contract/spec";
import type { PostgresServer } from "../support/postgres";
import {
  chain,
  oneNodeSpec,
  runner,
  runnerChain,
  stepWorld,
  stopStepWorld,
  type SpecBase,
} from "../support/runner";

describe("outageRun: the steps one runner process runs back to back", () => {
  it("in-place: stop, backup, up, finish and the node starts; prepared: stop and start", () => {
    assert.deepEqual(outageRun("upgrade", "in-place", true), [
      "stop",
      "backup",
      "migrations-up",
      "migrations-finish",
      "start",
    ]);
    assert.deepEqual(outageRun("upgrade", "prepared", true), ["stop", "start"]);
    assert.deepEqual(outageRun("upgrade", "rolling", true), []);
  });

  it("one step per process where Pulumi creates the nodes (docker); an install as in-place, a rollback alone", () => {
    assert.deepEqual(outageRun("upgrade", "in-place", false), []);
    assert.deepEqual(outageRun("upgrade", "prepared", false), []);
    for (const strategy of STRATEGIES) {
      assert.deepEqual(
        outageRun("install", strategy, true),
        outageRun("upgrade", "in-place", true),
      );
    }
    assert.deepEqual(outageRun("rollback", "in-place", true), []);
  });

  it("is always a stretch of the chain's own order, every step of it down", () => {
    for (const strategy of STRATEGIES) {
      for (const starts of [true, false]) {
        const run = outageRun("upgrade", strategy, starts);
        const order = chainOrder("upgrade", strategy);
        const at = order.indexOf(run[0]!);
        assert.deepEqual(run, run.length ? order.slice(at, at + run.length) : []);
        assert.ok(run.every((s) => gatewayDownDuring(s, strategy)));
      }
    }
  });
});

describe("the in-place outage through the step runner", { timeout: 300_000 }, () => {
  let pg: PostgresServer;
  let dir: string;
  let base: SpecBase;
  let password = "";
  let port = 0;
  let bins: Record<string, string> = {};
  const spec = (kind: StepSpec["kind"], to: string, from?: string, generation = 1): StepSpec =>
    oneNodeSpec(
      base,
      kind,
      to,
      { kongBin: bins[to]!, port },
      { generation, ...(from ? { from } : {}) },
    );
  const version = async () =>
    ((await (await fetch(`http://127.0.0.1:${port + 1}/`)).json()) as { version: string }).version;
  const dumps = () => readdirSync(join(dir, "backups")).filter((f) => f.endsWith(".dump"));

  before(async () => {
    ({ pg, dir, bins, port, password, base } = await stepWorld("outage", ["3.5.0", "3.6.0"]));
  });

  after(() => stopStepWorld(pg, [spec("install", "3.5.0"), spec("upgrade", "3.6.0", "3.5.0", 2)]));

  it("finish waits for the backup's store copy: when it fails, X is back with no restore and nothing finished", async () => {
    await chain(spec("install", "3.5.0"), password, runnerChain("install", 1));
    const s = {
      ...spec("upgrade", "3.6.0", "3.5.0"),
      backup: {
        ...base.backup,
        // Takes the attempt record (preflight), refuses the dump.
        command: {
          put: `case {name} in *.dump) exit 3;; esac; cp {file} ${dir}/{name}`,
          get: `cp ${dir}/{name} {file}`,
          list: `ls ${dir}`,
          delete: `rm -f ${dir}/{name}`,
        },
      },
    };
    await chain(s, password, ["preflight"]);
    const stop = await runner(s, password, "stop");
    assert.equal(stop.code, 1, stop.stderr);
    assert.match(stop.stderr, /failed in step "backup": kong-gateway:backup.command.put failed/);
    assert.match(stop.stderr, /Automatic rollback completed/);
    assert.doesNotMatch(stop.stderr, /restored backup/);
    assert.deepEqual(
      entries(s).map((e) => `${e.step}${e.ok ? "" : " failed"}`),
      ["preflight", "stop", "backup", "migrations-up", "backup failed", "rollback"],
      "up ran while the copy was under way; finish never ran",
    );
    assert.equal(await version(), "3.5.0", "X serves again");
  });

  it("the stop runs the whole outage in order; the later steps return their journal entry", async () => {
    const s = spec("upgrade", "3.6.0", "3.5.0", 2);
    await chain(s, password, ["preflight"]);
    const before = dumps().length;
    const stop = await runner(s, password, "stop");
    assert.equal(stop.code, 0, stop.stderr);
    const reported = [...stop.stdout.matchAll(/^KONG_GW_STEP (.*)$/gm)].map(
      (m) => (JSON.parse(m[1]!) as { step: string }).step,
    );
    assert.deepEqual(reported, [
      "stop",
      "backup",
      "migrations-up",
      "backup",
      "migrations-finish",
      "start",
    ]);
    assert.equal(await version(), "3.6.0", "Y serves when the stop's process ends");
    assert.equal(dumps().length, before + 1);

    // The resources after the stop: each finds its step done and does nothing again.
    const rest = runnerChain("upgrade", 1).slice(2);
    const out = await chain(s, password, rest);
    assert.equal(dumps().length, before + 1, "no second backup");
    assert.deepEqual(
      entries(s).map((e) => e.step),
      [
        "preflight",
        "stop",
        "backup",
        "migrations-up",
        "backup",
        "migrations-finish",
        "start",
        "verify",
      ],
      "the backup journaled again once durable; after the stop, only verify ran",
    );
    const backupLine = /^KONG_GW_STEP (.*)$/m.exec(out[0]!.stdout)![1]!;
    assert.deepEqual(
      JSON.parse(backupLine),
      entries(s)[4],
      "the backup resource reports the run's",
    );
    assert.match(out.at(-1)!.stdout, /KONG_GW_REPORT /);
  });
});
