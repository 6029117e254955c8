/**
 * Pid files the runner trusts only while they name their node (components/runner/infra/machine.ts
 * PID_SCRIPT): pids wrap, so a node's pid file left behind can name an unrelated process, which
 * must then be neither reported running nor killed. Real processes on this machine; the same check
 * over SSH is in sshMachine.test.ts.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { localMachine } from "../../components/runner/infra/machine";
import { localRuntime } from "../../components/runner/runtimes/local";
import { liveProcess, LiveProcess } from "../support/liveProcess";
import { oneNodeSpec, specBase } from "../support/runner";

describe("a node's pid file on this machine", { timeout: 60_000 }, () => {
  let dir: string;
  let prefix: string;
  let pidFile: string;
  let unrelated: LiveProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "kong-gw-pidfile-"));
    prefix = join(dir, "nodes", "install-3.6.0-g1", "node-0");
    pidFile = join(prefix, "pids", "nginx.pid");
    mkdirSync(join(prefix, "pids"), { recursive: true });
    unrelated = await liveProcess();
  });

  after(async () => {
    await unrelated.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("names the node while its process is the prefix's: found, then killed", async () => {
    const node = await liveProcess(prefix);
    try {
      writeFileSync(pidFile, `${node.pid}\n`);
      assert.equal(await localMachine.alivePid(pidFile, prefix), node.pid);
      assert.equal(await localMachine.alivePid(pidFile, `${prefix}//`), node.pid);
      assert.equal(await localMachine.kill(pidFile, prefix), node.pid);
      assert.ok(await node.gone(), "the node was killed");
    } finally {
      await node.stop();
    }
  });

  it("naming an unrelated live process: not running, not killed, the stale file removed", async () => {
    for (const act of ["alivePid", "kill"] as const) {
      writeFileSync(pidFile, `${unrelated.pid}\n`);
      assert.equal(await localMachine[act](pidFile, prefix), undefined, act);
      assert.equal(existsSync(pidFile), false, `${act} removed the stale pid file`);
    }
    // The node runtime's stop (quit, stop, then kill what the pid file names) passes it by too.
    writeFileSync(pidFile, `${unrelated.pid}\n`);
    const spec = oneNodeSpec(
      specBase({ host: "127.0.0.1", port: 1, database: "kong", user: "kong", password: "" }, dir),
      "install",
      "3.6.0",
      { kongBin: "/nonexistent/kong", port: 1 },
    );
    const rec = { ...spec.nodes[0]!, cluster: spec.cluster, generation: 1, settings: {} };
    const rt = localRuntime(spec);
    assert.equal(await rt.running(rec), false);
    assert.deepEqual(await rt.stop(rec, 1), { stopped: false });
    // A later kill of a node (here: the real one's) has come and gone: so would have this one's.
    const node = await liveProcess(prefix);
    writeFileSync(pidFile, `${node.pid}\n`);
    await localMachine.kill(pidFile, prefix);
    assert.ok(await node.gone(), "the node was killed");
    assert.equal(unrelated.alive(), true, "the unrelated process still runs");
  });

  it("holding no pid, or a gone one: not running", async () => {
    writeFileSync(pidFile, "");
    assert.equal(await localMachine.alivePid(pidFile, prefix), undefined);
    const gone = await liveProcess(prefix);
    await gone.stop();
    writeFileSync(pidFile, `${gone.pid}\n`);
    assert.equal(await localMachine.alivePid(pidFile, prefix), undefined);
    assert.equal(existsSync(pidFile), false);
    assert.equal(await localMachine.alivePid(join(dir, "missing.pid"), prefix), undefined);
  });
});
