/**
 * Pending migrations left by an earlier upgrade whose `finish` never ran (Kong/kong#6211,
 * Kong/charts#92), on a real PostgreSQL with the Kong stand-in: preflight of the next upgrade
 * refuses before anything stops, names the pending migrations, says why Kong refuses (`up` would
 * fail), and gives the fix: `kong migrations finish` with the version that ran `up`, after a
 * backup. Following that fix lets the next preflight pass.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StepSpec } from "../../components/contract/spec";
import * as steps from "../../components/runner/steps/chain";
import type { PostgresServer } from "../support/postgres";
import { oneNodeSpec, stepWorld, stopStepWorld, type SpecBase } from "../support/runner";

describe("pending migrations from an unfinished upgrade", { timeout: 120_000 }, () => {
  let pg: PostgresServer;
  let base: SpecBase;
  let port = 0;
  let bins: Record<string, string> = {};
  const spec = (kind: StepSpec["kind"], to: string, from?: string): StepSpec =>
    oneNodeSpec(base, kind, to, { kongBin: bins[to]!, port }, from ? { from } : {});

  before(async () => {
    ({ pg, bins, port, base } = await stepWorld("pending", ["3.6.0", "3.7.0", "3.8.0"]));
    // 3.6.0 installed, then 3.7.0's `up` ran (ai-proxy 001_360_to_370 has a teardown, so it is
    // left pending) and its `finish` never did: the state of Kong/kong#6211.
    await steps.migrationsUp(spec("install", "3.6.0"));
    await steps.migrationsUp(spec("upgrade", "3.7.0", "3.6.0"));
  });

  after(() => stopStepWorld(pg));

  it("preflight refuses before anything stops, names the pending migrations and gives the fix", async () => {
    const message = await steps.preflight(spec("upgrade", "3.8.0", "3.7.0")).then(
      () => "passed",
      (e: Error) => e.message,
    );
    assert.match(message, /^preflight refused the change 3\.7\.0 → 3\.8\.0; nothing was stopped/);
    assert.match(
      message,
      /the database has migrations left pending by an earlier upgrade whose 'kong migrations finish' never ran \(ai-proxy: 001_360_to_370; opentelemetry: 001_331_to_332\)/,
    );
    assert.match(message, /Kong refuses 'up' until they are finished \(Kong\/kong#6211\)/);
    assert.match(
      message,
      /fix: back up the database, then run 'kong migrations finish' with Kong 3\.7\.0 and KONG_PLUGINS=bundled/,
    );
  });

  it("after the fix it gives, preflight passes", async () => {
    await steps.migrationsFinish(spec("upgrade", "3.7.0", "3.6.0"));
    const facts = await steps.preflight(spec("upgrade", "3.8.0", "3.7.0"));
    // 3.8 brings no migrations of its own (KONG.md §4): once finished, nothing is left to do.
    assert.equal(facts.migrationState, "up-to-date");
  });
});
