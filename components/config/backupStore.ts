/**
 * `backup.store`: its settings resolved and checked ({@link backupStore}), and whether the backup
 * an upgrade takes can be read again by whichever machine runs the stack next (issue #16,
 * {@link backupStorePolicy}). Pure: the program asks before anything is created, so preview
 * already refuses.
 */
import type { BackupArgs, BackupCommandArgs, HostsRuntimeArgs } from "./args";
import type { ResolvedBackupStore, ResolvedConfig } from "./resolved";
import { fail } from "./validate";

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
 * the settings ({@link backupStore}), pointing to `command`.
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

/**
 * `backup.store` and what it needs: for `command`, its four templates, each with the placeholders
 * it needs; for `host`, a host of the `hosts` runtime and an absolute directory there.
 */
export function backupStore(
  b: BackupArgs | undefined,
  runtime: string,
  hosts: Required<HostsRuntimeArgs> | undefined,
): ResolvedBackupStore {
  const store = b?.store ?? "local";
  if (store !== "local" && store !== "command" && store !== "host") {
    fail("backup.store", store, "is not a backup store", 'use "local", "host" or "command"');
  }
  for (const key of ["host", "hostDir"] as const) {
    if (b?.[key] !== undefined && store !== "host") {
      fail(
        `backup.${key}`,
        b[key],
        `is only used with backup.store host, and backup.store is ${store}`,
        `remove it, or set kong-gateway:backup.store to host`,
      );
    }
  }
  if (store === "local") {
    return { store };
  }
  if (store === "host") {
    return hostStore(b ?? {}, runtime, hosts);
  }
  const c = (b?.command ?? {}) as Partial<BackupCommandArgs>;
  const needs: Record<keyof BackupCommandArgs, string[]> = {
    put: ["{file}", "{name}"],
    get: ["{file}", "{name}"],
    list: [],
    delete: ["{name}"],
  };
  for (const [key, placeholders] of Object.entries(needs) as [
    keyof BackupCommandArgs,
    string[],
  ][]) {
    const t = typeof c[key] === "string" ? c[key] : "";
    if (t.trim() === "") {
      fail(
        `backup.command.${key}`,
        c[key] ?? "(unset)",
        "is required with backup.store command",
        `set it, e.g. pulumi config set --path kong-gateway:backup.command.${key} '${exampleTemplate(key)}'`,
      );
    }
    const missing = placeholders.filter((p) => !t.includes(p));
    if (missing.length > 0) {
      fail(
        `backup.command.${key}`,
        t,
        `has no ${missing.join(" or ")} placeholder`,
        `use a template such as '${exampleTemplate(key)}'`,
      );
    }
  }
  return { store, command: c as BackupCommandArgs };
}

/** `backup.store: host`: the host (default: the migration host) and the directory on it. */
function hostStore(
  b: BackupArgs,
  runtime: string,
  hosts: Required<HostsRuntimeArgs> | undefined,
): ResolvedBackupStore {
  if (!hosts) {
    return fail(
      "backup.store",
      "host",
      `keeps backups on a host of the hosts runtime, but kong-gateway:runtime is ${runtime}${runtime === "docker" ? " (a one-shot container has no disk that outlives it)" : ""}`,
      `set kong-gateway:backup.store to command with put/get/list/delete templates for your object storage (README: "Running from CI")`,
    );
  }
  const host = b.host ?? hosts.migrationHost;
  if (!hosts.addresses.includes(host)) {
    fail(
      "backup.host",
      host,
      `is not one of kong-gateway:hosts.addresses (${hosts.addresses.join(", ")}), so the runner has no SSH access to it`,
      `name one of them, e.g. 'pulumi config set --path kong-gateway:backup.host ${hosts.migrationHost}', or leave it unset for the migration host`,
    );
  }
  const hostDir = (b.hostDir ?? `${hosts.prefix}/backups`).replaceAll("{host}", host);
  if (!hostDir.startsWith("/") || /[\0\n]/.test(hostDir)) {
    fail(
      "backup.hostDir",
      b.hostDir,
      `is not an absolute path on ${host}`,
      'use e.g. "/var/backups/kong-gateway"',
    );
  }
  return { store: "host", host, hostDir };
}

function exampleTemplate(key: keyof BackupCommandArgs): string {
  return {
    put: "aws s3 cp {file} s3://my-bucket/kong/{name}",
    get: "aws s3 cp s3://my-bucket/kong/{name} {file}",
    list: "aws s3 ls s3://my-bucket/kong/",
    delete: "aws s3 rm s3://my-bucket/kong/{name}",
  }[key];
}
