/**
 * The step runner: what every command resource of a KongGateway executes.
 *
 *   node --import tsx components/steps/run.ts <step> [node-id]
 *
 * It reads the step spec from KONG_GW_SPEC and the database password from KONG_PG_PASSWORD, does
 * the step (each one safe to re-run), appends it to the journal, and prints one machine-readable
 * line `KONG_GW_STEP {...}` (and, after `verify`, `KONG_GW_REPORT {...}`) that the program turns
 * into stack outputs. Progress goes to stderr, so `pulumi up` shows it live.
 */
import { targetNodes } from "./cluster";
import { attemptBackup, record } from "./journal";
import { readManifest } from "./restore";
import { buildReport, exportedCatalog } from "./report";
import { automaticRollback, ROLLBACK_ON } from "./rollback";
import { runtimeFor } from "./runtime";
import { parseSpec, RunnerCommand, SPEC_ENV, StepName, StepSpec } from "./spec";
import * as steps from "./steps";

type Work = (spec: StepSpec) => Promise<Record<string, unknown>>;

async function runStep(spec: StepSpec, name: StepName, work: Work): Promise<number> {
  const startedAt = new Date();
  process.stderr.write(
    `[kong-gateway] ${name}: ${spec.kind} ${spec.from ?? "(new)"} → ${spec.to}\n`,
  );
  try {
    const details = await work(spec);
    const finishedAt = new Date();
    const entry = {
      step: name,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      ok: true,
      details,
    };
    record(spec, entry);
    process.stdout.write(`KONG_GW_STEP ${JSON.stringify(entry)}\n`);
    return 0;
  } catch (e) {
    const err = e as Error;
    const finishedAt = new Date();
    record(spec, {
      step: name,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      ok: false,
      details: { error: err.message },
    });
    let message = `kong-gateway: step "${name}" of ${spec.kind} ${spec.from ?? "(new)"} → ${spec.to} failed: ${err.message}`;
    // An install has nothing to go back to; upgrades and rollbacks by version do.
    if (spec.kind !== "install" && spec.automaticRollback && ROLLBACK_ON.includes(name)) {
      process.stderr.write(`[kong-gateway] ${name} failed; rolling back automatically...\n`);
      message = await automaticRollback(spec, name, err);
    }
    process.stderr.write(`${message}\n`);
    return 1;
  }
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] as RunnerCommand | undefined;
  const spec = parseSpec(process.env[SPEC_ENV]);
  switch (command) {
    case "preflight":
      return runStep(spec, "preflight", steps.preflight);
    case "stop":
      return runStep(spec, "stop", steps.stop);
    case "backup":
      return runStep(spec, "backup", steps.backup);
    case "migrations-up":
      return runStep(spec, "migrations-up", steps.migrationsUp);
    case "migrations-finish":
      return runStep(spec, "migrations-finish", steps.migrationsFinish);
    case "restore":
      return runStep(spec, "restore", steps.restore);
    case "node-start": {
      const id = argv[1] ?? "";
      return runStep(spec, "start", (s) => steps.nodeStart(s, id));
    }
    case "verify": {
      const code = await runStep(spec, "verify", (s) => steps.verify(s, backupTables(s)));
      if (code === 0) {
        const report = {
          lastUpgrade: buildReport(spec, "succeeded"),
          backups: exportedCatalog(spec),
        };
        process.stdout.write(`KONG_GW_REPORT ${JSON.stringify(report)}\n`);
      }
      return code;
    }
    case "node-delete": {
      // Decommissioning: the node resource left the program. Stop it if it still runs, then
      // remove its prefix. Never touches another node's prefix.
      const rec = targetNodes(spec).find((n) => n.id === argv[1]);
      if (rec) {
        await runtimeFor(spec).remove(rec, spec.timeouts.quitSeconds);
      }
      return 0;
    }
    default:
      process.stderr.write(
        `usage: run.ts <${["preflight", "stop", "backup", "migrations-up", "migrations-finish", "restore", "verify", "node-start <id>", "node-delete <id>"].join("|")}>\n`,
      );
      return 2;
  }
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
