/**
 * The one error type the planner throws. Callers branch on `code` (the CLI maps `path` and
 * `downgrade` to exit 2, the Pulumi component wraps any of them in a `ResourceError`), so codes
 * are API; the message is for people and always says what to do instead.
 */

/**
 * Why a request was refused:
 * - `version`: not a Kong version, or one the planner has no facts for;
 * - `path`: the target is not one guaranteed hop away (`route` holds the way there);
 * - `downgrade`: a lower version without a backup to restore;
 * - `capacity`: the new cluster is smaller than the one it replaces;
 * - `window`: a maintenance window spec is malformed, or the change may not start now;
 * - `input`: any other malformed field of the request (negative sizes, bad history, ...).
 */
export type PlanErrorCode =
  "version" | "path" | "downgrade" | "capacity" | "window" | "strategy" | "input";

/**
 * A refusal. It extends `Error` so pure code stays testable without the Pulumi runtime
 * (STYLE.md: pure validators throw `Error`).
 */
export class PlanError extends Error {
  /** Machine-readable reason; see {@link PlanErrorCode}. */
  readonly code: PlanErrorCode;
  /**
   * For `path` refusals: the minor versions to go through, one `pulumi up` each (`["3.3", "3.4"]`);
   * empty when no guaranteed route reaches the target at all.
   */
  readonly route?: string[];

  constructor(code: PlanErrorCode, message: string, route?: readonly string[]) {
    super(message);
    this.name = "PlanError";
    this.code = code;
    if (route !== undefined) {
      this.route = [...route];
    }
  }
}
