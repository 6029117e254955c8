/**
 * Every step's time limit. A step that exceeds it fails like any failing step (its programs are
 * killed first, then the usual automatic rollback applies), so no step can hang an update forever.
 * Defaults follow from the `timeouts` settings the step's own programs already use; each step can
 * be given its own limit with `timeouts.stepSeconds.<step>`.
 */
import type { LimitedStep } from "../../contract/steps";
import { StepSpec } from "../../contract/spec";

export { LIMITED_STEPS } from "../../contract/steps";
export type { LimitedStep } from "../../contract/steps";

/** The default backup/restore limit when the spec predates `timeouts.backupSeconds`. */
export const DEFAULT_BACKUP_SECONDS = 3600;

/** Seconds `step` may take. */
export function stepLimitSeconds(spec: StepSpec, step: LimitedStep): number {
  const t = spec.timeouts;
  const own = t.stepSeconds?.[step];
  if (own !== undefined) {
    return own;
  }
  const db = t.dbTimeoutSeconds;
  const lock = t.lockTimeoutSeconds;
  const backup = t.backupSeconds ?? DEFAULT_BACKUP_SECONDS;
  const hosts = spec.runtime?.kind === "hosts";
  switch (step) {
    case "settings":
      return db + 300;
    case "preflight":
      return db + 600;
    case "stop":
      return t.quitSeconds + 120;
    case "backup":
      return backup + 60;
    case "restore":
      // The restore itself, and a rollback's automatic restore of the newer database on failure.
      return 2 * backup + 60;
    case "migrations-up":
      return 3 * (db + lock) + 1800;
    case "migrations-finish":
      return 2 * db + lock + 1800;
    case "start":
      // A rollback's start may reinstall the old version on a host first.
      return t.startSeconds + 120 + (hosts ? 900 : 0);
    case "verify":
      return 300;
  }
}

/** The setting that sets `step`'s limit, for messages. */
export function limitSetting(spec: StepSpec, step: LimitedStep): string {
  if (spec.timeouts.stepSeconds?.[step] !== undefined) {
    return `kong-gateway:timeouts.stepSeconds.${step}`;
  }
  switch (step) {
    case "stop":
      return "kong-gateway:timeouts.quitSeconds";
    case "backup":
    case "restore":
      return "kong-gateway:timeouts.backupSeconds";
    case "start":
      return "kong-gateway:timeouts.startSeconds";
    case "verify":
      return `kong-gateway:timeouts.stepSeconds.${step}`;
    default:
      return "kong-gateway:timeouts.dbTimeoutSeconds";
  }
}
