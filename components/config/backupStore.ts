/**
 * Whether the backup an upgrade takes can be read again by whichever machine runs the stack next
 * (issue #16). Pure: the program asks before anything is created, so preview already refuses.
 */
import type { ResolvedConfig } from "./config";

/** What `backup.store` means for a change: a refusal, a note for preview, or nothing to say. */
export type StorePolicy =
  | { readonly kind: "refuse"; readonly message: string }
  | { readonly kind: "note"; readonly message: string }
  | { readonly kind: "ok" };

/**
 * The `local` store keeps the only copy in `backup.dir` on this machine. That is acceptable for
 * the local stack (database.mode local: the database itself lives in this machine's state
 * directory, so no other machine can run the stack anyway), with a note; with a shared database
 * any machine may run the next `up`, and a rollback from there would find no backup. The `command`
 * store (object storage) and the `host` store (a host of the `hosts` runtime, which any machine
 * holding the stack's SSH key reaches) can be read from anywhere. On the docker runtime the dump
 * is written by a one-shot container into a bind mount of `backup.dir` on this machine (never a
 * path inside the container), so the same rule as `local` applies; `host` is refused there by
 * the settings (config.ts), pointing to `command`.
 */
export function backupStorePolicy(
  cfg: ResolvedConfig,
  planKind: "noop" | "install" | "upgrade" | "rollback",
): StorePolicy {
  if (planKind !== "upgrade" || cfg.backup.store !== "local") {
    return { kind: "ok" };
  }
  if (cfg.database.mode === "local") {
    return {
      kind: "note",
      message: `kong-gateway:backup.store is local: the upgrade's backup stays on this machine (${cfg.backup.dir}); a rollback can only run here. Set backup.store to command (or host, on the hosts runtime) to keep backups where any machine can read them (README: "Running from CI")`,
    };
  }
  return {
    kind: "refuse",
    message: `kong-gateway:backup.store local keeps the upgrade's only backup in ${cfg.backup.dir} on this machine, but database.mode ${cfg.database.mode} lets any machine run this stack, and a rollback from another one could not read it. Set kong-gateway:backup.store to command with put/get/list/delete templates for your object storage${cfg.runtime === "hosts" ? ", or to host to keep backups on one of the hosts (backup.host, default the migration host)" : ""} (README: "Running from CI"); nothing was created or stopped`,
  };
}
