/**
 * The engine's side of the fault matrix (test/support/faultsEngine.ts): a real `pulumi up` with
 * a fault armed through the runner's test-only hook (components/runner/infra/testFault.ts) in
 * the workspace's environment, which the engine passes on to every step the command provider
 * starts; killing that `pulumi up`'s process group while a step is held; and the README's
 * recovery ("Recovering from an interrupted run").
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LocalWorkspace } from "@pulumi/pulumi/automation";
import type { StepSpec } from "../../components/contract/spec";
import { TEST_FAULT_DIR_ENV, TEST_FAULT_ENV } from "../../components/runner/infra/testFault";
import { cli, CliRun, spawnCli } from "./e2e";
import { enginePlugins, groupMembers, pausedRunner, processGroup, waitFor } from "./faultsEvidence";
import type { KongStack } from "./kongStack";

/** The fault of one `pulumi up`: `step` of the chain of `kind` fails, or pauses at its start. */
export interface Arm {
  readonly kind: StepSpec["kind"];
  readonly step: string;
  readonly pause: boolean;
}

/** What one faulted `pulumi up` left: its exit, output, and the evidence the fault landed. */
export interface Faulted {
  readonly status: number | null;
  readonly output: string;
  readonly evidence: string;
}

/** The last lines of a command's output, for an assertion's message. */
export function tail(output: string, lines = 60): string {
  return output.split("\n").slice(-lines).join("\n");
}

/** The project's pulumi on the stack (test/support/e2e.ts `cli`), timed with FAULTS_DEBUG. */
export function pulumi(ks: KongStack, args: string[]): { status: number | null; output: string } {
  const t0 = Date.now();
  const r = cli(ks, args);
  if (process.env.FAULTS_DEBUG) {
    process.stderr.write(`  pulumi ${args.join(" ")}: ${Date.now() - t0} ms\n`);
  }
  return r;
}

/** `pulumi up`, which must succeed; what it printed. */
export function mustUp(ks: KongStack): string {
  const r = pulumi(ks, ["up", "--yes", "--skip-preview"]);
  assert.equal(r.status, 0, `pulumi up failed:\n${tail(r.output)}`);
  return r.output;
}

/**
 * Runs `pulumi up` with `arm`'s fault. For a pause, `act` runs while the step is held (given
 * its runner's pid) and returns the evidence; the step is then released. The marker and release
 * files go in a directory under `scratch`.
 */
export async function faultedUp(
  ks: KongStack,
  scratch: string,
  arm: Arm,
  act: (runner: number, up: CliRun, faultDir: string) => Promise<string>,
): Promise<Faulted> {
  const ws = ks.stack.workspace as LocalWorkspace;
  const faultDir = mkdtempSync(join(scratch, "fault-"));
  const { kind, step, pause } = arm;
  ws.envVars[TEST_FAULT_ENV] = `${kind}:${step}:${pause ? "pause" : "fail"}`;
  ws.envVars[TEST_FAULT_DIR_ENV] = faultDir;
  let up: CliRun | undefined;
  const t0 = Date.now();
  try {
    up = spawnCli(ks, ["up", "--yes", "--skip-preview"]);
    let evidence = "the step failed on purpose (test fault)";
    if (pause) {
      const run = up;
      const runner = await pausedRunner(faultDir, step, () =>
        run.exited() ? "pulumi up ended first" : undefined,
      );
      evidence = await act(runner, run, faultDir);
      writeFileSync(join(faultDir, `${step}.release`), "");
    }
    const r = await up.done;
    if (process.env.FAULTS_DEBUG) {
      process.stderr.write(`  faulted pulumi up: ${Date.now() - t0} ms\n`);
    }
    return { status: r.status, output: r.output, evidence };
  } catch (e) {
    // A cell that went wrong leaves no `pulumi up` and no paused runner behind.
    if (up && !up.exited()) {
      process.kill(-up.child.pid!, "SIGKILL");
    }
    writeFileSync(join(faultDir, `${step}.release`), "");
    if (up?.exited()) {
      (e as Error).message += `\npulumi up printed:\n${tail((await up.done).output)}`;
    }
    throw e;
  } finally {
    delete ws.envVars[TEST_FAULT_ENV];
    delete ws.envVars[TEST_FAULT_DIR_ENV];
    if (up?.exited()) {
      rmSync(faultDir, { recursive: true, force: true });
    }
  }
}

/**
 * Kills the `pulumi up` process group while `runner` is paused in its step; checks every process
 * of that group died and the step outlived it (in a group of its own, holding its step lock
 * unless `lockless`: decommissioning takes none); then kills the step's group and the engine's
 * plugins that outlived the group too (their environment holds `faultDir`), as a lost machine
 * would. Returns the evidence.
 */
export async function killUp(
  stateDir: string,
  faultDir: string,
  runner: number,
  up: CliRun,
  lockless: boolean,
): Promise<string> {
  const group = processGroup(runner);
  assert.ok(group !== undefined, "the step's runner runs");
  assert.notEqual(group, up.child.pid, "the step runs in a process group of its own");
  process.kill(-up.child.pid!, "SIGKILL");
  await up.done;
  await waitFor(
    () => (groupMembers(up.child.pid!).length === 0 ? true : undefined),
    "every process of the pulumi up group to die",
    10,
  );
  assert.equal(processGroup(runner), group, "the step outlived the pulumi up process group");
  const lock = lockHeldBy(stateDir, runner);
  assert.ok(lockless || lock, `the step's runner ${runner} holds its step lock`);
  process.kill(-group, "SIGKILL");
  const plugins = enginePlugins(faultDir);
  for (const pid of plugins) {
    process.kill(pid, "SIGKILL");
  }
  await waitFor(
    () => ([runner, ...plugins].every((p) => processGroup(p) === undefined) ? true : undefined),
    "the step's runner and the engine's plugins to die",
    10,
  );
  return (
    `pulumi up's group ${up.child.pid} killed and gone; the step's runner (pid ${runner}, ` +
    `group ${group}) outlived it${lock ? `, holding ${lock}` : ""}, as did ${plugins.length} ` +
    `engine plugins (own groups); then all were killed (lost machine)`
  );
}

/** The step lock (components/runner/infra/stepLock.ts) `pid` holds, if any. */
function lockHeldBy(stateDir: string, pid: number): string | undefined {
  const dir = join(stateDir, "locks");
  const files = existsSync(dir) ? readdirSync(dir) : [];
  return files.find((f) => {
    try {
      return (JSON.parse(readFileSync(join(dir, f), "utf8")) as { pid: number }).pid === pid;
    } catch {
      return false;
    }
  });
}

/**
 * The README's recovery after a killed `pulumi up` ("Recovering from an interrupted run"):
 * `pulumi cancel` (the killed run's lock is there first), then `refresh
 * --clear-pending-creates`. The `pulumi up` that follows is the caller's.
 */
export function recover(ks: KongStack): void {
  const locked = pulumi(ks, ["refresh", "--yes", "--skip-preview"]);
  assert.match(locked.output, /currently locked/, "the killed run left its lock");
  const cancel = pulumi(ks, ["cancel", "--yes"]);
  assert.equal(cancel.status, 0, tail(cancel.output));
  const refresh = pulumi(ks, ["refresh", "--clear-pending-creates", "--yes", "--skip-preview"]);
  assert.equal(refresh.status, 0, tail(refresh.output));
}
