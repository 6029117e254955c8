/**
 * Work a step's time limit cut short cannot act any more (components/runner/infra/exec.ts
 * `cancellable`): before, the timed-out step's body went on in the background and could stop the
 * node the automatic rollback had just started again (seen as a flaky "admin port refused" after
 * "started Kong 3.6.0 again" in test/steps/reconfigure.test.ts). Real programs, no mocks.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { cancellable, execFile, killAll } from "../../components/runner/infra/exec";
import { sleep } from "../../components/runner/infra/http";
import { eventually } from "../support/eventually";

describe("cancelling a step's work", () => {
  const dir = mkdtempSync(join(tmpdir(), "kong-gw-cancel-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses every program, pause and signal the cut-short work tries next; other work runs on", async () => {
    const started = join(dir, "started");
    const late = join(dir, "late");
    const run = cancellable(async () => {
      // A program that signals it runs, then blocks until the time limit kills it.
      await execFile("/bin/sh", ["-c", `touch "$1" && exec sleep 600`, "sh", started]);
      // What a step does after its program returns: must not happen once cancelled.
      await execFile("/bin/touch", [late]);
      return "finished";
    });
    const outcome = run.done.then(
      (v) => v,
      (e: Error) => e.message,
    );
    await eventually(
      async () => existsSync(started),
      (yes) => yes,
    );
    run.cancel('step "stop" ran out of time');
    assert.equal(killAll(), 1, "the running program is stopped");
    assert.equal(await outcome, 'cancelled: step "stop" ran out of time');
    assert.equal(existsSync(late), false, "nothing ran after the cancellation");
    // Work outside the cancelled scope (the automatic rollback) is not affected.
    const other = await execFile("/bin/touch", [join(dir, "rollback")]);
    assert.equal(other.code, 0);
    await sleep(1);
  });

  it("ends a poll loop of cancelled work at its next pause", async () => {
    let polls = 0;
    const run = cancellable(async () => {
      for (;;) {
        polls++;
        await sleep(5);
      }
    });
    await eventually(
      async () => polls,
      (n) => n >= 3,
    );
    run.cancel("time limit");
    // The rejection comes from the loop's own pause: the loop is over.
    await assert.rejects(run.done, /cancelled: time limit/);
  });
});
