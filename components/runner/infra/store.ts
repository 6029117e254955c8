/**
 * The `command` backup store (issue #16): the user's own storage CLI (S3, GCS, Azure, a mounted
 * directory), driven by the `put`/`get`/`list`/`delete` templates of `kong-gateway:backup.command`.
 * `backup.dir` is then only a cache: every dump and its manifest are put to the store right after
 * they are taken, and fetched from it by a machine that does not have them. A dump is checked
 * against its sha256 before `put` and after `get`, so a damaged copy stops a rollback in preflight,
 * before any node stops. The templates get `{file}` and `{name}` only (shell-quoted) and run with
 * the runner's clean environment: no secret is ever in their argv or environment.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BackupSpec } from "../../contract/spec";
import { BackupManifest } from "../../state/catalog";
import { execFile, tail } from "./exec";
import { sha256File } from "./checksum";

/** The templates of a `command` store. */
export type StoreCommands = NonNullable<BackupSpec["command"]>;

const quote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;

/** Runs one template with its placeholders filled in, shell-quoted; throws on a non-zero exit. */
async function run(
  which: keyof StoreCommands,
  cmd: StoreCommands,
  vars: { file?: string; name?: string },
): Promise<string> {
  const text = cmd[which]
    .replaceAll("{file}", quote(vars.file ?? ""))
    .replaceAll("{name}", quote(vars.name ?? ""));
  const r = await execFile("sh", ["-c", text], { timeoutSeconds: 3600 });
  if (r.code !== 0) {
    throw new Error(
      `kong-gateway:backup.command.${which} failed (exit ${r.code}) for ${vars.name ?? "the store"}: ${tail(r.stderr) || tail(r.stdout) || "no output"}`,
    );
  }
  return r.stdout;
}

/** Object names of a backup in the store. */
export const dumpName = (id: string): string => `${id}.dump`;
const manifestName = (id: string): string => `${id}.json`;

/**
 * Puts a backup just taken (its dump, then its manifest) to the store, after checking the dump
 * still has the sha256 the manifest records. Returns the manifest as stored (with its location).
 */
export async function putBackup(
  spec: BackupSpec,
  m: BackupManifest,
  manifestFile: string,
): Promise<BackupManifest> {
  const cmd = spec.command;
  if (!cmd) {
    return m;
  }
  const sum = await sha256File(m.path);
  if (sum !== m.sha256) {
    throw new Error(
      `backup ${m.id} changed before it was stored (sha256 ${sum}, expected ${m.sha256}); nothing was put to the store`,
    );
  }
  const stored: BackupManifest = { ...m, store: "command", location: dumpName(m.id) };
  writeFileSync(manifestFile, JSON.stringify(stored, null, 2) + "\n", { mode: 0o600 });
  await run("put", cmd, { file: m.path, name: dumpName(m.id) });
  await run("put", cmd, { file: manifestFile, name: manifestName(m.id) });
  return stored;
}

/**
 * Makes backup `id` present in `spec.dir` (dump and manifest), fetching both from the store when
 * this machine does not have them (a fresh clone, a new CI runner). The fetched dump must match the
 * manifest's sha256 and, when the stack's catalog names one (`restoreSha256`), that one too; a
 * mismatch throws and leaves nothing behind. Without a store this does nothing.
 */
export async function fetchBackup(spec: BackupSpec, id: string): Promise<void> {
  const cmd = spec.command;
  const dump = join(spec.dir, dumpName(id));
  const manifest = join(spec.dir, manifestName(id));
  if (!cmd || (existsSync(dump) && existsSync(manifest))) {
    return;
  }
  mkdirSync(spec.dir, { recursive: true, mode: 0o700 });
  const tmpDump = `${dump}.partial`;
  const tmpManifest = `${manifest}.partial`;
  try {
    await run("get", cmd, { file: tmpManifest, name: manifestName(id) });
    const m = JSON.parse(readFileSync(tmpManifest, "utf8")) as BackupManifest;
    if (m.id !== id || typeof m.sha256 !== "string") {
      throw new Error(
        `the manifest ${manifestName(id)} in the store does not describe backup ${id}`,
      );
    }
    await run("get", cmd, { file: tmpDump, name: m.location ?? dumpName(id) });
    const sum = await sha256File(tmpDump);
    for (const [who, want] of [
      ["its manifest", m.sha256],
      ["the stack's backup catalog", spec.restoreSha256],
    ] as const) {
      if (want !== undefined && sum !== want) {
        throw new Error(
          `backup ${id} fetched from the store has sha256 ${sum}, but ${who} records ${want}; refusing to use a damaged or different backup (nothing was stopped)`,
        );
      }
    }
    renameSync(tmpDump, dump);
    writeFileSync(manifest, JSON.stringify({ ...m, path: dump }, null, 2) + "\n", { mode: 0o600 });
  } finally {
    rmSync(tmpDump, { force: true });
    rmSync(tmpManifest, { force: true });
  }
}

/** A backup id's time stamp (`…-20260102T030405Z`), for ordering what `list` prints. */
const STAMP = /-(\d{8}T\d{6}Z)$/;

/**
 * Retention in the store: keeps the newest `spec.retention` backups of `cluster` the store lists,
 * and every id in `keep` (the one just taken, the one a rollback restores). Returns the deleted ids.
 */
export async function pruneStore(
  spec: BackupSpec,
  cluster: string,
  keep: readonly string[],
): Promise<string[]> {
  const cmd = spec.command;
  if (!cmd) {
    return [];
  }
  const out = await run("list", cmd, {});
  const ids = new Set<string>();
  for (const word of out.split(/\s+/)) {
    const base = word.split("/").at(-1) ?? "";
    if (base.startsWith(`${cluster}-`) && base.endsWith(".dump")) {
      const id = base.slice(0, -".dump".length);
      const rest = id.slice(cluster.length + 1);
      if (STAMP.test(id) && /^\d[\d.]*-to-\d[\d.]*-/.test(rest)) {
        ids.add(id);
      }
    }
  }
  const sorted = [...ids].sort((a, b) => STAMP.exec(a)![1]!.localeCompare(STAMP.exec(b)![1]!));
  const excess = sorted.slice(0, Math.max(0, sorted.length - Math.max(1, spec.retention)));
  const pruned: string[] = [];
  for (const id of excess.filter((i) => !keep.includes(i))) {
    await run("delete", cmd, { name: dumpName(id) });
    await run("delete", cmd, { name: manifestName(id) });
    pruned.push(id);
  }
  return pruned;
}
