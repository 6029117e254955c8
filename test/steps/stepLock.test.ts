/**
 * One run of a step at a time (components/runner/infra/stepLock.ts): the step an interrupted
 * `pulumi up` left running, orphaned, is waited for by the recovery's run of the same step.
 * Real processes: the holder is a separate node process, as the orphaned runner would be.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { withStepLock } from "../../components/runner/infra/stepLock";
import { eventually } from "../support/eventually";

const LOCK = join(__dirname, "../../components/runner/infra/stepLock.ts");

/** A process that holds `key` until `release` exists, then writes `done` and exits. */
function holder(dir: string, key: string) {
  const script = `
    const { withStepLock } = require(${JSON.stringify(LOCK)});
    const { existsSync, writeFileSync } = require("node:fs");
    withStepLock(${JSON.stringify(dir)}, ${JSON.stringify(key)}, 30, async () => {
      writeFileSync(${JSON.stringify(join(dir, "held"))}, "");
      while (!existsSync(${JSON.stringify(join(dir, "release"))})) await new Promise((r) => setTimeout(r, 20));
      writeFileSync(${JSON.stringify(join(dir, "done"))}, String(Date.now()));
    });`;
  const child = spawn(process.execPath, ["--import", "tsx", "-e", script], { stdio: "inherit" });
  return { child, exited: new Promise((r) => child.on("exit", r)) };
}

/**
 * A fresh state directory and a {@link holder} of `key` in it, once it holds the lock; `release`
 * lets it go and waits for it to exit.
 */
async function held(key: string) {
  const dir = mkdtempSync(join(tmpdir(), "kong-gw-steplock-"));
  const first = holder(dir, key);
  const holds = await eventually(
    async () => existsSync(join(dir, "held")),
    (h) => h,
  );
  assert.ok(holds, `a holder of ${key} took the lock`);
  const release = async () => {
    writeFileSync(join(dir, "release"), "");
    await first.exited;
  };
  return { dir, first, release };
}

describe("step lock: one run of a step at a time", { timeout: 60_000 }, () => {
  it("a second run of the same step waits for the first (still running, orphaned) to end", async () => {
    const { dir, release } = await held("kong-backup");
    let startedAt = 0;
    const second = withStepLock(dir, "kong-backup", 30, async () => {
      startedAt = Date.now();
    });
    // The second waits on the live holder: it runs only after the holder let go.
    assert.equal(startedAt, 0);
    const releasing = release();
    await second;
    await releasing;
    const done = Number(readFileSync(join(dir, "done"), "utf8"));
    assert.ok(startedAt >= done, `second started ${startedAt}, first ended ${done}`);
  });

  it("other steps and other nodes' starts are not held up", async () => {
    const { dir, release } = await held("kong-start-node-1");
    let ran = 0;
    await withStepLock(dir, "kong-start-node-2", 1, async () => ran++);
    await withStepLock(dir, "kong-backup", 1, async () => ran++);
    assert.equal(ran, 2);
    await release();
  });

  it("a lock whose owner is gone, or whose pid now runs another program, is taken over", async () => {
    const { dir, first } = await held("kong-backup");
    first.child.kill("SIGKILL");
    await first.exited;
    let ran = false;
    await withStepLock(dir, "kong-backup", 1, async () => (ran = true));
    assert.ok(ran, "the dead owner's lock was taken over");
    // This test's own pid with another command line: a reused pid, not the owner.
    writeFileSync(
      join(dir, "locks", "kong-backup.lock"),
      JSON.stringify({ pid: process.pid, cmdline: "node run.js backup" }),
    );
    await withStepLock(dir, "kong-backup", 1, async () => (ran = false));
    assert.equal(ran, false);
  });

  it("refuses after the wait, naming the process and what to do", async () => {
    const { dir, first, release } = await held("kong-migrations-up");
    await assert.rejects(
      withStepLock(dir, "kong-migrations-up", 0.3, async () => undefined),
      new RegExp(
        `kong-migrations-up is still running in process ${first.child.pid} .*'kill ${first.child.pid}', then run pulumi up again`,
      ),
    );
    await release();
  });
});
