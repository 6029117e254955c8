/**
 * The foundation's proof that the engine built here works offline: the real CLI, the Node.js
 * language host and the command plugin, on a file backend, through the Automation API.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { scratchProject, stackFor } from "../support/engine";
import type { Stack } from "@pulumi/pulumi/automation";

const program = `
import * as command from "@pulumi/command";
const out = process.env.ENGINE_TEST_OUT!;
const first = new command.local.Command("first", {
  create: \`echo first >> \${out}/log; date +%s%N > \${out}/first\`,
  delete: \`echo delete-first >> \${out}/log\`,
});
const second = new command.local.Command("second", {
  create: \`test -f \${out}/first && echo second >> \${out}/log\`,
  delete: \`echo delete-second >> \${out}/log\`,
}, { dependsOn: [first] });
export const secondStdout = second.stdout;
`;

describe("the Pulumi engine built from Go modules", { timeout: 300_000 }, () => {
  let stack: Stack;
  let out: string;

  before(async () => {
    const p = scratchProject("engine-test", program);
    out = join(p.dir, "..");
    stack = await stackFor(p.dir, p.backend, "engine", { ENGINE_TEST_OUT: out });
  });

  after(async () => {
    await stack?.workspace.removeStack("engine", { force: true }).catch(() => undefined);
  });

  it("previews without running anything", async () => {
    const res = await stack.preview();
    assert.equal(res.changeSummary.create, 3, "stack + two commands planned");
    assert.equal(existsSync(join(out, "log")), false, "preview must not run commands");
  });

  it("runs both commands in dependency order on up", async () => {
    const res = await stack.up();
    assert.equal(res.summary.result, "succeeded");
    assert.deepEqual(readFileSync(join(out, "log"), "utf8").trim().split("\n"), [
      "first",
      "second",
    ]);
  });

  it("reports no changes on a second up", async () => {
    const res = await stack.up();
    assert.deepEqual(res.summary.resourceChanges, { same: 3 });
    assert.deepEqual(readFileSync(join(out, "log"), "utf8").trim().split("\n"), [
      "first",
      "second",
    ]);
  });

  it("runs the delete commands on destroy, dependents first", async () => {
    await stack.destroy();
    assert.deepEqual(readFileSync(join(out, "log"), "utf8").trim().split("\n"), [
      "first",
      "second",
      "delete-second",
      "delete-first",
    ]);
  });
});
