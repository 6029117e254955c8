/**
 * The backup stores that outlive the Pulumi machine (issue #16). `command`: the user's own storage
 * CLI (S3, GCS, Azure, a mounted directory), driven by the `put`/`get`/`list`/`delete` templates of
 * `kong-gateway:backup.command`. `host`: a directory on a host of the `hosts` runtime, reached with
 * the same `ssh` client, key and pinned host keys as the nodes; what is put there is read back
 * there (`sha256sum` on the host) before the migrations may run. In both, `backup.dir` is only a
 * cache: every dump and its manifest are put to the store right after they are taken, and fetched
 * from it by a machine that does not have them. A dump is checked against its sha256 before `put`
 * and after `get`, so a damaged copy stops a rollback in preflight, before any node stops. The
 * templates get `{file}` and `{name}` only (shell-quoted) and run with the runner's clean
 * environment: no secret is ever in their argv or environment.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BackupSpec } from "../../contract/spec";
import { BackupManifest } from "../../state/catalog";
import { attemptObject, parseStoredAttempt, StoredAttempt } from "../../state/journal";
import { execFile, tail } from "./exec";
import { sha256File } from "./checksum";
import { shq } from "./machine";
import { privateKeyFile, sshArgs } from "./ssh";

/** The templates of a `command` store. */
export type StoreCommands = NonNullable<BackupSpec["command"]>;

/** One store's four operations; each throws with the store's own complaint. */
interface Store {
  readonly kind: "command" | "host";
  /** Where object `name` is, for the catalog and for people. */
  location(name: string): string;
  put(file: string, name: string): Promise<void>;
  get(name: string, file: string): Promise<void>;
  /** Object names (other words on a line are ignored by the caller). */
  list(): Promise<string>;
  delete(name: string): Promise<void>;
  /** The sha256 of the object as the store itself reads it back, when the store can tell. */
  storedSha256?(name: string): Promise<string>;
}

const quote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;

/** Runs a shell script; on a non-zero exit throws `<what> (exit n) for <subject>: <output>`. */
async function sh(script: string, what: string, subject: string): Promise<string> {
  const r = await execFile("sh", ["-c", script], { timeoutSeconds: 3600 });
  if (r.code !== 0) {
    throw new Error(
      `${what} (exit ${r.code}) for ${subject}: ${tail(r.stderr) || tail(r.stdout) || "no output"}`,
    );
  }
  return r.stdout;
}

/** The `command` store: one template per operation, placeholders filled in, shell-quoted. */
function commandStore(cmd: StoreCommands): Store {
  const run = (which: keyof StoreCommands, vars: { file?: string; name?: string }) =>
    sh(
      cmd[which]
        .replaceAll("{file}", quote(vars.file ?? ""))
        .replaceAll("{name}", quote(vars.name ?? "")),
      `kong-gateway:backup.command.${which} failed`,
      vars.name ?? "the store",
    );
  return {
    kind: "command",
    location: (name) => name,
    put: async (file, name) => void (await run("put", { file, name })),
    get: async (name, file) => void (await run("get", { file, name })),
    list: () => run("list", {}),
    delete: async (name) => void (await run("delete", { name })),
  };
}

/**
 * The `host` store: `dir` on `address`, over `ssh` (the runtime's user, port, bastion, pinned
 * host keys and the key from `KONG_GW_SSH_KEY`). The dump travels on ssh's stdin/stdout, never
 * through a shell variable; a put lands as `<name>.partial` and is renamed once complete.
 */
function hostStore(h: NonNullable<BackupSpec["host"]>): Store {
  const ssh = () =>
    ["ssh", ...sshArgs(h.ssh, h.address, privateKeyFile(h.stateDir))].map(shq).join(" ");
  const path = (name: string) => `${h.dir}/${name}`;
  const remote = (script: string, redirect: string, what: string, subject: string) =>
    sh(`${ssh()} ${shq(script)}${redirect}`, `backup store on host ${h.address}: ${what}`, subject);
  return {
    kind: "host",
    location: (name) => `${h.address}:${path(name)}`,
    put: async (file, name) => {
      const p = shq(path(name));
      await remote(
        `umask 077 && mkdir -p ${shq(h.dir)} && cat > ${p}.partial && mv -f ${p}.partial ${p}`,
        ` < ${shq(file)}`,
        "put failed",
        path(name),
      );
    },
    get: async (name, file) => {
      await remote(`cat ${shq(path(name))}`, ` > ${shq(file)}`, "get failed", path(name));
    },
    list: () => remote(`[ ! -d ${shq(h.dir)} ] || ls -1 ${shq(h.dir)}`, "", "list failed", h.dir),
    delete: async (name) => {
      await remote(`rm -f -- ${shq(path(name))}`, "", "delete failed", path(name));
    },
    storedSha256: async (name) => {
      const out = await remote(`sha256sum ${shq(path(name))}`, "", "read-back failed", path(name));
      return out.trim().split(/\s+/)[0] ?? "";
    },
  };
}

/** The store of `spec`; undefined for the `local` store (`dir` is the only copy). */
function storeOf(spec: BackupSpec): Store | undefined {
  if (spec.command) {
    return commandStore(spec.command);
  }
  return spec.host ? hostStore(spec.host) : undefined;
}

/** Whether `spec` keeps backups in a store beyond `dir` (which is then a cache). */
export const hasStore = (spec: BackupSpec): boolean => storeOf(spec) !== undefined;

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
  const store = storeOf(spec);
  if (!store) {
    return m;
  }
  const sum = await sha256File(m.path);
  if (sum !== m.sha256) {
    throw new Error(
      `backup ${m.id} changed before it was stored (sha256 ${sum}, expected ${m.sha256}); nothing was put to the store`,
    );
  }
  const stored: BackupManifest = {
    ...m,
    store: store.kind,
    location: store.location(dumpName(m.id)),
  };
  writeFileSync(manifestFile, JSON.stringify(stored, null, 2) + "\n", { mode: 0o600 });
  await store.put(m.path, dumpName(m.id));
  const back = await store.storedSha256?.(dumpName(m.id));
  if (back !== undefined && back !== m.sha256) {
    throw new Error(
      `backup ${m.id} read back from ${stored.location} has sha256 ${back}, expected ${m.sha256}; the store did not keep what was put (nothing was stopped by this check: fix the store and run pulumi up again)`,
    );
  }
  await store.put(manifestFile, manifestName(m.id));
  return stored;
}

/**
 * Makes backup `id` present in `spec.dir` (dump and manifest), fetching both from the store when
 * this machine does not have them (a fresh clone, a new CI runner). The fetched dump must match the
 * manifest's sha256 and, when the stack's catalog names one (`restoreSha256`), that one too; a
 * mismatch throws and leaves nothing behind. Without a store this does nothing.
 */
export async function fetchBackup(spec: BackupSpec, id: string): Promise<void> {
  const store = storeOf(spec);
  const dump = join(spec.dir, dumpName(id));
  const manifest = join(spec.dir, manifestName(id));
  if (!store || (existsSync(dump) && existsSync(manifest))) {
    return;
  }
  mkdirSync(spec.dir, { recursive: true, mode: 0o700 });
  const tmpDump = `${dump}.partial`;
  const tmpManifest = `${manifest}.partial`;
  try {
    await store.get(manifestName(id), tmpManifest);
    const m = JSON.parse(readFileSync(tmpManifest, "utf8")) as BackupManifest;
    if (m.id !== id || typeof m.sha256 !== "string") {
      throw new Error(
        `the manifest ${manifestName(id)} in the store does not describe backup ${id}`,
      );
    }
    // A command store's location is the object's name; a host store's is `<host>:<path>`.
    await store.get(m.store === "command" && m.location ? m.location : dumpName(id), tmpDump);
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
  const store = storeOf(spec);
  if (!store) {
    return [];
  }
  const out = await store.list();
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
    await store.delete(dumpName(id));
    await store.delete(manifestName(id));
    pruned.push(id);
  }
  return pruned;
}

/**
 * Records `a` in the store as `<cluster>-attempt.json` (state/journal.ts StoredAttempt), so a
 * machine that did not run it knows it; nothing without a store.
 */
export async function putAttempt(spec: BackupSpec, a: StoredAttempt): Promise<void> {
  const store = storeOf(spec);
  if (!store) {
    return;
  }
  mkdirSync(spec.dir, { recursive: true, mode: 0o700 });
  const file = join(spec.dir, `${attemptObject(a.cluster)}.partial`);
  writeFileSync(file, JSON.stringify(a, null, 2) + "\n", { mode: 0o600 });
  try {
    await store.put(file, attemptObject(a.cluster));
  } finally {
    rmSync(file, { force: true });
  }
}

/** Removes `cluster`'s attempt record from the store (its change has finished). */
export async function clearAttempt(spec: BackupSpec, cluster: string): Promise<void> {
  await storeOf(spec)?.delete(attemptObject(cluster));
}

/**
 * `cluster`'s attempt record in the store, if `list` names one. Read by the program at preview
 * (index.ts), before anything runs; `tmpDir` holds the fetched copy for a moment.
 */
export async function readAttempt(
  spec: BackupSpec,
  cluster: string,
  tmpDir: string,
): Promise<StoredAttempt | undefined> {
  const store = storeOf(spec);
  if (!store) {
    return undefined;
  }
  const name = attemptObject(cluster);
  const listed = (await store.list()).split(/\s+/).some((w) => w.split("/").at(-1) === name);
  if (!listed) {
    return undefined;
  }
  mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  const file = join(tmpDir, `${name}.${process.pid}`);
  try {
    await store.get(name, file);
    return parseStoredAttempt(readFileSync(file, "utf8"), cluster);
  } finally {
    rmSync(file, { force: true });
  }
}
