/**
 * The step runner: what every command resource of a KongGateway executes.
 *
 *   node --import tsx components/runner/run.ts <step> [node-id]
 *
 * It reads the step spec from KONG_GW_SPEC and the database password from KONG_PG_PASSWORD, does
 * the step (each one safe to re-run), appends it to the journal, and prints one machine-readable
 * line `KONG_GW_STEP {...}` (and, after `verify`, `KONG_GW_REPORT {...}`) that the program turns
 * into stack outputs. Progress goes to stderr, so `pulumi up` shows it live.
 */
import { targetNodes } from "./steps/cluster";
import { cancellable, killAll } from "./infra/exec";
import { HOST_KEYS_ENV, parseHostKeyJob, recordHostKeys } from "./steps/hostKeys";
import {
  attemptBackup,
  entries,
  JournalEntry,
  journalPath,
  record,
  storedAttempt,
} from "../state/journal";
import { migrationState } from "./infra/kong";
import { closeEarly, connectEarly } from "./infra/db";
import { localClient } from "./infra/pgclient";
import { clearAttempt, putAttempt } from "./infra/store";
import { LimitedStep, limitSetting, stepLimitSeconds } from "./infra/limits";
import { chainCompleted, checkSettings } from "./steps/settings";
import { Worker } from "node:worker_threads";
import { readManifest } from "./steps/restore";
import { buildReport, exportedCatalog, prunedBackups } from "./steps/report";
import { automaticRollback } from "./steps/rollback";
import { outageRun, reportingStep, rollsBackOnFailure, runnerSteps } from "../contract/steps";
import { encodeReport } from "../contract/report";
import { runtimeFor } from "./runtimes/runtime";
import { parseSpec, SPEC_ENV, StepName, StepSpec, strategyOf } from "../contract/spec";
import * as steps from "./steps/chain";
import { writeTimeline } from "./steps/timeline";
import { testFault } from "./infra/testFault";
import { withStepLock } from "./infra/stepLock";

type Work = (spec: StepSpec) => Promise<Record<string, unknown>>;

/**
 * Runs `work` within its time limit. An async step that runs out of time has its programs killed
 * and fails like any other step (the automatic rollback applies). A step that blocks the event
 * loop itself cannot be interrupted that way: a watchdog thread then records the failure in the
 * journal and kills this process 30 s after the limit, so even that ends.
 */
async function withinLimit(
  spec: StepSpec,
  name: LimitedStep,
  work: Work,
): Promise<Record<string, unknown>> {
  const limit = stepLimitSeconds(spec, name);
  const watchdog = hardWatchdog(spec, name, limit + 30);
  let timer: NodeJS.Timeout | undefined;
  const run = cancellable(() => work(spec));
  // The work goes on in the background once cut short; what it does then is refused (cancelled).
  run.done.catch(() => undefined);
  try {
    return await Promise.race([
      run.done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          run.cancel(`step "${name}" ran out of time`);
          const killed = killAll();
          reject(
            new Error(
              `step "${name}" exceeded its time limit of ${limit}s (${limitSetting(spec, name)}); ${killed} program(s) it ran were stopped`,
            ),
          );
        }, limit * 1000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    void watchdog.terminate();
  }
}

function hardWatchdog(spec: StepSpec, name: string, seconds: number): Worker {
  const entry = JSON.stringify({
    step: name,
    startedAt: new Date().toISOString(),
    ok: false,
    details: { error: `step "${name}" was blocked past its time limit; the runner was killed` },
  });
  const w = new Worker(
    `const { workerData: d } = require("node:worker_threads");
     const fs = require("node:fs");
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, d.ms);
     try { fs.appendFileSync(d.journal, d.entry + "\\n", { mode: 0o600 }); } catch {}
     process.stderr.write("kong-gateway: step " + JSON.stringify(d.name) + " was blocked past its time limit; killing the step runner\\n");
     process.kill(d.pid, "SIGKILL");`,
    {
      eval: true,
      workerData: { ms: seconds * 1000, journal: journalPath(spec), entry, name, pid: process.pid },
    },
  );
  w.on("error", (e) => process.stderr.write(`[kong-gateway] watchdog: ${e.message}\n`));
  w.unref();
  return w;
}

/** How {@link runStep} runs a step. */
interface StepOptions {
  /** Roll the change back when the step fails (where the table says so). @default true */
  readonly rollback?: boolean;
  /** `start`: the node it starts. */
  readonly node?: string;
  /** A step of the outage's run: done already in this attempt means nothing to do. */
  readonly once?: boolean;
  /** When the step began, if before this call (a backup made durable while `up` ran). */
  readonly startedAt?: Date;
}

async function runStep(
  spec: StepSpec,
  name: StepName | "settings",
  work: Work,
  opts: StepOptions = {},
): Promise<number> {
  // The same step of an interrupted run may still be running, orphaned (infra/stepLock.ts).
  const key = `${spec.cluster}-${name}${opts.node ? `-${opts.node}` : ""}`;
  const limit = stepLimitSeconds(spec, name as LimitedStep);
  return withStepLock(spec.stateDir, key, limit, () => {
    // Done already (by the outage's run, or an interrupted one) in this attempt. Read under the
    // lock, so an orphaned run's work is seen once it ends.
    const done = opts.once ? doneEntry(spec, name as StepName, opts.node) : undefined;
    if (done) {
      process.stdout.write(`KONG_GW_STEP ${JSON.stringify(done)}\n`);
      return Promise.resolve(0);
    }
    return runStepUnlocked(spec, name, work, opts);
  });
}

/** This attempt's latest entry of `step` (of node `node`, for `start`) when it succeeded. */
function doneEntry(spec: StepSpec, step: StepName, node?: string): JournalEntry | undefined {
  const last = entries(spec)
    .filter((e) => e.step === step && (node === undefined || e.details?.node === node))
    .at(-1);
  return last?.ok ? last : undefined;
}

/**
 * The outage's steps back to back in this process (contract/steps.ts `outageRun`), each journaled
 * and reported as its own; the first failure ends the run (its automatic rollback has run). The
 * migration state is read once before the first node stops, outside the outage. `in-place`: `up`
 * starts once the dump is written and checksummed (X still runs on the database after `up`,
 * KONG.md §5); its read-back, test restore (`backup.verify: restore`) and copy to the store run
 * meanwhile, and `finish` waits for them (as does a rollback that would restore it): the
 * backup's journal entry is written again, spanning the whole backup, once it is durable (a
 * failure there is the backup's: X is restarted on the database as `up` left it, no restore).
 */
async function runOutage(spec: StepSpec, run: readonly StepName[]): Promise<number> {
  const ctx: steps.RunContext = {
    defer: run.includes("backup") && run.includes("migrations-finish"),
    startsNext: run.includes("stop") && run[run.indexOf("stop") + 1] === "start",
  };
  try {
    return await outageSteps(spec, run, ctx);
  } finally {
    // Still here when the backup was skipped (a fresh database) or never reached.
    closeEarly(ctx.early);
  }
}

/** {@link runOutage}'s steps, with its context. */
async function outageSteps(
  spec: StepSpec,
  run: readonly StepName[],
  ctx: steps.RunContext,
): Promise<number> {
  if (run.includes("backup") && !doneEntry(spec, "backup")) {
    // Off the outage's clock: the backup's connection (opened and authenticated) and the
    // pg_dump version it checks (asked once per process).
    ctx.early = connectEarly(spec.database);
    void localClient("pg_dump");
  }
  if (run.includes("migrations-up") && !doneEntry(spec, "migrations-up")) {
    const { state } = await migrationState(runtimeFor(spec), spec.timeouts.dbTimeoutSeconds);
    ctx.state = state === "error" ? undefined : state;
  }
  // A step that returned before its work was whole (the backup's read-back and store copy; X's
  // nodes finishing their requests after `stop`), journaled again, whole, once `pending` settles
  // (at most once); a failure then rolls back unless `rollback` is false.
  const journalWhole = (
    step: "backup" | "stop",
    pending: Promise<steps.StepDetails> | undefined,
    rollback: boolean,
  ): Promise<number> => {
    const first = doneEntry(spec, step);
    if (!pending || !first) {
      return Promise.resolve(0);
    }
    return runStep(spec, step, () => pending, { rollback, startedAt: new Date(first.startedAt) });
  };
  const durable = (rollback: boolean): Promise<number> => {
    const first = doneEntry(spec, "backup");
    if (!ctx.durable && ctx.defer && first?.details) {
      // An interrupted run's backup, journaled before it was durable: made durable now.
      steps.resumeBackup(spec, ctx, first.details);
    }
    const pending = ctx.durable;
    ctx.durable = undefined;
    return journalWhole("backup", pending, rollback);
  };
  const drained = (rollback: boolean): Promise<number> => {
    const pending = ctx.draining;
    ctx.draining = undefined;
    return journalWhole("stop", pending, rollback);
  };
  for (const step of run) {
    if (step === "migrations-finish" && (await durable(true)) !== 0) {
      return 1;
    }
    const ids = step === "start" ? spec.nodes.map((n) => n.id) : [undefined];
    for (const id of ids) {
      const code =
        id !== undefined
          ? await runStep(
              spec,
              "start",
              async (s) => {
                try {
                  return await steps.nodeStart(s, id);
                } catch (e) {
                  // Its rollback restarts X: only once X's nodes are gone.
                  await drained(false);
                  throw e;
                }
              },
              { node: id, once: true },
            )
          : await runStep(
              spec,
              step,
              async (s) => {
                try {
                  return await work(step, s, ctx);
                } catch (e) {
                  // Its rollback restores the backup: only once its journal entry says it is whole.
                  await durable(false);
                  throw e;
                }
              },
              { once: true },
            );
      if (code !== 0) {
        return code;
      }
    }
  }
  return drained(true);
}

async function runStepUnlocked(
  spec: StepSpec,
  name: StepName | "settings",
  work: Work,
  opts: StepOptions,
): Promise<number> {
  const startedAt = opts.startedAt ?? new Date();
  process.stderr.write(
    `[kong-gateway] ${name}: ${spec.kind} ${spec.from ?? "(new)"} → ${spec.to}\n`,
  );
  // The settings check is not a step of the chain: it is not journaled (nor reported).
  const journal = (e: JournalEntry) => (name === "settings" ? undefined : record(spec, e));
  const step = name as StepName;
  try {
    const details = await withinLimit(spec, name as LimitedStep, async (s) => {
      // Inert unless a test arms it (infra/testFault.ts).
      await testFault(s, step);
      return work(s);
    });
    const finishedAt = new Date();
    const entry = {
      step,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      ok: true,
      details,
    };
    journal(entry);
    process.stdout.write(`KONG_GW_STEP ${JSON.stringify(entry)}\n`);
    return 0;
  } catch (e) {
    const err = e as Error;
    const finishedAt = new Date();
    journal({
      step,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      ok: false,
      details: { error: err.message },
    });
    let message = `kong-gateway: step "${name}" of ${spec.kind} ${spec.from ?? "(new)"} → ${spec.to} failed: ${err.message}`;
    // An install has nothing to go back to; upgrades and rollbacks by version do. A settings
    // change on a running cluster is not a chain: its node puts its own old settings back.
    if (
      opts.rollback !== false &&
      spec.kind !== "install" &&
      spec.automaticRollback &&
      name !== "settings" &&
      rollsBackOnFailure(step)
    ) {
      process.stderr.write(`[kong-gateway] ${name} failed; rolling back automatically...\n`);
      message = await automaticRollback(spec, step, err);
    }
    process.stderr.write(`${message}\n`);
    return 1;
  }
}

/**
 * What each chain step of the step table (components/contract/steps.ts) does in this process.
 * Typed by the table: a chain step without work here, or work for a step the table does not
 * have, does not compile.
 */
const WORK: Record<
  Exclude<StepName, "start" | "decommission" | "rollback">,
  (spec: StepSpec, ctx: steps.RunContext) => Promise<Record<string, unknown>>
> = {
  preflight: steps.preflight,
  stop: steps.stop,
  backup: steps.backup,
  "migrations-up": steps.migrationsUp,
  "migrations-finish": steps.migrationsFinish,
  restore: steps.restore,
  verify: (s) => steps.verify(s, backupTables(s)),
};

/** The work of chain step `step`, with what this process knows (a step run alone: nothing). */
function work(
  step: StepName,
  spec: StepSpec,
  ctx: steps.RunContext = {},
): Promise<Record<string, unknown>> {
  if (!(step in WORK)) {
    throw new Error(`step "${step}" is not run by the step runner's chain commands`);
  }
  return WORK[step as keyof typeof WORK](spec, ctx);
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? "";
  if (command === "host-keys") {
    // Runs before any chain exists (the hosts' installs): it has a job of its own, no spec.
    process.stdout.write(await recordHostKeys(parseHostKeyJob(process.env[HOST_KEYS_ENV])));
    return 0;
  }
  const spec = parseSpec(process.env[SPEC_ENV]);
  if (command === "settings") {
    return runStep(spec, "settings", (s) => checkSettings(s, runtimeFor(s)));
  }
  // The steps of the outage run in the process of its first step (contract/steps.ts).
  const run = outageRun(spec.kind, strategyOf(spec), spec.runtime?.kind !== "docker");
  if (command === "node-start") {
    const id = argv[1] ?? "";
    const completed = chainCompleted(spec);
    return runStep(spec, "start", (s) => steps.nodeStart(s, id), {
      rollback: !completed,
      node: id,
      // A settings change on a running cluster restarts the node: only the chain's start is once.
      once: !completed && run.includes("start"),
    });
  }
  if (command === "node-delete") {
    // Decommissioning: the node resource left the program. Stop it if it still runs, then
    // remove its prefix. Never touches another node's prefix.
    await testFault(spec, "decommission");
    const rec = targetNodes(spec).find((n) => n.id === argv[1]);
    if (rec) {
      await runtimeFor(spec).remove(rec, spec.timeouts.quitSeconds);
    }
    return 0;
  }
  if (!(runnerSteps() as string[]).includes(command)) {
    const usage = [
      "settings",
      ...runnerSteps(),
      "node-start <id>",
      "node-delete <id>",
      "host-keys",
    ];
    process.stderr.write(`usage: run.ts <${usage.join("|")}>\n`);
    return 2;
  }
  const step = command as StepName;
  const code =
    run[0] === step
      ? await runOutage(spec, run)
      : await runStep(spec, step, (s) => work(step, s), { once: run.includes(step) });
  if (code === 0 && step === "preflight") {
    // From here on the change may stop nodes: a machine that did not run it must know (#16).
    await putAttempt(spec.backup, storedAttempt(spec, "started"));
  }
  // The chain's last step reports the change (verify, or `finish` when it comes after verify).
  if (code === 0 && step === reportingStep(spec.kind, strategyOf(spec))) {
    const report = {
      lastUpgrade: buildReport(spec, "succeeded"),
      backups: exportedCatalog(spec),
      pruned: prunedBackups(spec),
    };
    writeTimeline(spec, report.lastUpgrade);
    await clearAttempt(spec.backup, spec.cluster).catch((e: Error) =>
      process.stderr.write(
        `[kong-gateway] the change succeeded, but its attempt record stays in the backup store (${e.message}); the next change elsewhere starts over from preflight\n`,
      ),
    );
    process.stdout.write(`${encodeReport(report)}\n`);
  }
  return code;
}

/**
 * Row counts the database must still hold, for the "nothing lost" check: an upgrade's, those its
 * backup recorded; a rollback's, those of the backup it restored (its own backup holds the newer
 * version's writes, which the restore deliberately leaves out).
 */
function backupTables(spec: StepSpec): Record<string, number> | undefined {
  const id = spec.kind === "rollback" ? spec.restoreBackupId : attemptBackup(spec)?.id;
  return id ? readManifest(spec.backup.dir, id).tables : undefined;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`kong-gateway step runner: ${err.message}\n`);
    process.exit(1);
  },
);
