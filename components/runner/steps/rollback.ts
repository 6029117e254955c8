/**
 * Automatic rollback: when a step after the first old node stopped fails, put everything back as
 * it was before the change — stop whatever the new version started, restore this attempt's
 * backup (if the database may have changed), start the old nodes again and check they serve —
 * then tell the user what failed, what was restored and what to do next.
 */
import { BackupManifest } from "../../state/catalog";
import { previousCluster, targetNodes } from "./cluster";
import { abortAttempt, attemptBackup, record, storedAttempt } from "../../state/journal";
import { putAttempt } from "../infra/store";
import { httpJson } from "../infra/http";
import { readManifest, restoreBackup } from "./restore";
import { runtimeFor } from "../runtimes/runtime";
import { restoreOnFailure } from "../../contract/steps";
import { StepName, StepSpec, strategyOf } from "../../contract/spec";

/** Runs the rollback and returns the message the failed update ends with. */
export async function automaticRollback(
  spec: StepSpec,
  failed: StepName,
  cause: Error,
): Promise<string> {
  const startedAt = new Date();
  const done: string[] = [];
  const problems: string[] = [];
  const rt = runtimeFor(spec);
  const y = targetNodes(spec);
  await Promise.all(
    y.map((n) => rt.stop(n, 5).catch((e: Error) => problems.push(`stop ${n.id}: ${e.message}`))),
  );
  done.push(`stopped the Kong ${spec.to} nodes (${y.map((n) => n.id).join(", ")})`);

  let manifest: BackupManifest | undefined;
  // Never restore under a node that may still be writing: a Y node that would not stop ends it.
  if (problems.length === 0 && restoreOnFailure(spec.kind, strategyOf(spec), failed)) {
    const b = attemptBackup(spec);
    if (!b) {
      problems.push("no backup of this attempt was found, so the database could not be restored");
    } else {
      const restoreStarted = new Date();
      try {
        manifest = readManifest(spec.backup.dir, b.id);
        const r = await restoreBackup(spec.database, manifest, spec);
        done.push(
          `restored backup ${manifest.id} (sha256 ${manifest.sha256.slice(0, 12)}…, ${r.tables} tables, ${r.rows} rows, identical to the backup)`,
        );
        record(spec, {
          step: "restore",
          startedAt: restoreStarted.toISOString(),
          finishedAt: new Date().toISOString(),
          seconds: (Date.now() - restoreStarted.getTime()) / 1000,
          ok: true,
          details: {
            restored: {
              id: manifest.id,
              path: manifest.path,
              sha256: manifest.sha256,
              bytes: manifest.bytes,
            },
          },
        });
      } catch (e) {
        problems.push(`restore failed: ${(e as Error).message}`);
      }
    }
  }

  if (problems.length === 0 && !restoreOnFailure(spec.kind, strategyOf(spec), failed)) {
    if (strategyOf(spec) !== "in-place" && spec.kind === "upgrade") {
      done.push(
        `kept the database as it is: 'kong migrations finish' had not run, so Kong ${spec.from} still runs on it and nothing written since the backup is lost (strategy ${strategyOf(spec)})`,
      );
    }
  }
  const x = problems.length === 0 ? await previousCluster(spec, rt, spec.from) : [];
  if (problems.length === 0) {
    for (const n of x) {
      try {
        await rt.start(n, spec.timeouts.startSeconds);
        const root = await httpJson(`${n.adminUrl}/`);
        if (root?.version !== n.version) {
          problems.push(
            `${n.id} answers version ${String(root?.version)} after restart, expected ${n.version}`,
          );
        }
      } catch (e) {
        problems.push(`restart of ${n.id} (${n.version}) failed: ${(e as Error).message}`);
      }
    }
    if (x.length > 0) {
      done.push(
        `started Kong ${spec.from} again on ${x.map((n) => n.id).join(", ")} and verified it serves`,
      );
    }
  }
  const next = abortAttempt(spec);
  // Another machine's next run must start over too (it does not have this machine's counter).
  await putAttempt(spec.backup, storedAttempt(spec, "aborted")).catch((e: Error) =>
    problems.push(`recording the aborted attempt in the backup store failed: ${e.message}`),
  );
  const finishedAt = new Date();
  record(spec, {
    step: "rollback",
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    ok: problems.length === 0,
    details: { failed, done, problems },
  });

  const change = spec.kind === "rollback" ? "rollback" : "upgrade";
  const head = `kong-gateway: the ${change} ${spec.from} → ${spec.to} failed in step "${failed}": ${cause.message}`;
  const kept =
    spec.kind === "rollback"
      ? `The database is as Kong ${spec.from} left it; nothing written through it was lost.`
      : "Nothing written before the upgrade was lost.";
  if (problems.length > 0) {
    return `${head}\nAutomatic rollback did NOT complete:\n  - ${problems.join("\n  - ")}\nDone so far:\n  - ${done.join("\n  - ") || "nothing"}\nThe backups are in ${spec.backup.dir}; restore by hand (README: "Recovering by hand") before running pulumi up again.`;
  }
  return `${head}\nAutomatic rollback completed:\n  - ${done.join("\n  - ")}\n${kept} Next: fix the cause above, then run 'pulumi up' again (the ${change} restarts from preflight as attempt ${next}), or set kong-gateway:version back to ${spec.from} to stay there.`;
}
