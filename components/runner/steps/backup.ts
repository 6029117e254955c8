/**
 * Backups (KONG.md §6): `pg_dump` of the Kong database in custom format, checksummed, verified
 * with `pg_restore --list` (and, with `verify: restore`, a full test restore into a scratch
 * database compared table by table), described by a manifest next to it, kept under a retention
 * count that never deletes the backup of the latest upgrade. Directory 0700, files 0600.
 * Every client program runs where pgclient.ts says (this machine, or a one-shot container on the
 * docker runtime); without a client spec that is this machine, as it always was.
 */
import {
  chmodSync,
  mkdirSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import {
  databaseFacts,
  type EarlyConnection,
  libpqArgs,
  libpqEnv,
  openBackupView,
  tableCounts,
  withClient,
  type WriteMark,
} from "../infra/db";
import { execFile, ExecResult, tail } from "../infra/exec";
import { ClientVersion, localClient, pgCommand, PgClientSpec, PgCommand } from "../infra/pgclient";
import { BackupSpec, DatabaseSpec } from "../../contract/spec";
import { BackupManifest, catalog } from "../../state/catalog";
import { sha256File } from "../infra/checksum";
import { hasStore, pruneStore, putBackup } from "../infra/store";

export { sha256File };

/** Checks the backup volume has room for a dump of `dbBytes` plus the configured reserve. */
export function checkRoom(
  spec: BackupSpec,
  dbBytes: number,
): { free: number; needed: number; ok: boolean } {
  mkdirSync(spec.dir, { recursive: true, mode: 0o700 });
  const fs = statfsSync(spec.dir);
  const free = Number(fs.bavail) * Number(fs.bsize);
  const needed = Math.ceil(dbBytes * 1.2) + spec.minFreeBytes;
  return { free, needed, ok: free >= needed };
}

/** The client spec of a caller that gave none: this machine's programs. */
function localClientSpec(db: DatabaseSpec, spec: BackupSpec, cluster: string): PgClientSpec {
  return { cluster, database: db, backup: spec };
}

/**
 * Takes, checksums and verifies a backup; writes its manifest; applies retention. `client` (the
 * step spec) says where pg_dump/pg_restore run; absent: on this machine.
 */
export async function takeBackup(
  db: DatabaseSpec,
  spec: BackupSpec,
  meta: {
    cluster: string;
    from: string;
    to: string;
    keep?: readonly string[];
    /** Return once the dump is read back; the rest (see `durable`) goes on meanwhile. */
    later?: boolean;
    /** A connection opened before the outage, for the backup's view (db.ts connectEarly). */
    early?: EarlyConnection;
  },
  client: PgClientSpec = localClientSpec(db, spec, meta.cluster),
): Promise<
  BackupManifest & {
    pruned: string[];
    /** With `later`: the test restore (if configured), the store copy and retention. */
    durable?: Promise<BackupManifest & { pruned: string[] }>;
    /** Where the configuration stood in the dump (see chain.ts backupIfWritten). */
    writeMark?: WriteMark;
    /**
     * Seconds from the start until the dump was written and read back (its checksum; without
     * `later`, its table of contents too): what an in-place outage waits for before `up`.
     */
    dumpSeconds: number;
  }
> {
  const began = performance.now();
  mkdirSync(spec.dir, { recursive: true, mode: 0o700 });
  chmodSync(spec.dir, 0o700);
  const takenAt = new Date();
  const stamp = takenAt
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const id = `${meta.cluster}-${meta.from}-to-${meta.to}-${stamp}`;
  const path = join(spec.dir, `${id}.dump`);
  const tmp = `${path}.partial`;
  // One view of the database (steps/../infra/db.ts openBackupView): pg_dump imports its
  // snapshot, and the row counts and write mark are read in it while the dump runs.
  const view = await openBackupView(db, meta.early);
  const serverMajor = Math.floor(view.serverVersionNum / 10000);
  let run: [ExecResult, Record<string, number>, WriteMark | undefined, ClientVersion];
  let closing: Promise<void> = Promise.resolve();
  let cmd: PgCommand;
  try {
    cmd = await pgCommand(
      client,
      "pg_dump",
      [
        ...libpqArgs(db),
        "-Fc",
        // zlib's fastest level: an in-place outage waits for the dump, and level 1 against the
        // default 6 saves ~10 % of a small dump's time and more of a large one's CPU, for a
        // slightly larger file any pg_restore reads.
        "-Z",
        "1",
        "--no-owner",
        "--no-privileges",
        ...(view.snapshot ? ["--snapshot", view.snapshot] : []),
        "-f",
        tmp,
        ...(db.schema ? ["-n", db.schema] : []),
      ],
      serverMajor,
    );
    rmSync(tmp, { force: true });
    run = await Promise.all([
      execFile(cmd.file, cmd.args, { env: libpqEnv(db), timeoutSeconds: 3600 }),
      view.counts(),
      view.mark(),
      localClient("pg_dump"),
    ]);
  } finally {
    // Not waited for: its COMMIT only ends the view (the dump has its data), and `up` goes on.
    closing = view.close().catch(() => undefined);
  }
  const [r, tables, writeMark, dump] = run;
  if (cmd.via === "local" && dump.major < serverMajor) {
    rmSync(tmp, { force: true });
    throw new Error(
      `pg_dump ${dump.major} is older than the PostgreSQL ${serverMajor} server; install a client at least as new (e.g. postgresql-client-${serverMajor})`,
    );
  }
  if (r.code !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`pg_dump failed (exit ${r.code}): ${tail(r.stderr)}`);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  // The read-back: the checksum and pg_restore's table of contents, both from the file, at once
  // (with `later`, the table of contents is read with the rest, in finishBackup).
  const [sha256] = await Promise.all([
    sha256File(path),
    meta.later ? undefined : verifyList(path, client, serverMajor),
  ]);
  const dumpSeconds = (performance.now() - began) / 1000;
  if (spec.verify === "restore" && !meta.later) {
    await verifyByRestore(db, path, tables, client, serverMajor);
  }
  const manifest: BackupManifest = {
    id,
    cluster: meta.cluster,
    fromVersion: meta.from,
    toVersion: meta.to,
    takenAt: takenAt.toISOString(),
    path,
    bytes: statSync(path).size,
    sha256,
    tables,
    verifiedBy: spec.verify,
    pgDump: cmd.via === "local" ? dump.text : `pg_dump of ${cmd.image ?? "a container"}`,
  };
  const manifestFile = join(spec.dir, `${id}.json`);
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + "\n", { mode: 0o600 });
  const taken = { dumpSeconds, ...(writeMark ? { writeMark } : {}) };
  if (!meta.later) {
    await closing;
    return { ...(await makeDurable(spec, manifest, manifestFile, meta)), ...taken };
  }
  const durable = Promise.all([
    finishBackup(db, spec, manifest, meta, client, serverMajor),
    closing,
  ]).then(([d]) => d);
  return { ...manifest, pruned: [], durable, ...taken };
}

/**
 * The rest of a backup taken with `later` (or of one an interrupted run left checksummed but not
 * durable): `pg_restore --list`, its test restore when `verify: restore`, the store copy,
 * retention. On failure its manifest goes, so the catalog does not list it (as a backup that
 * failed earlier is not).
 */
export async function finishBackup(
  db: DatabaseSpec,
  spec: BackupSpec,
  manifest: BackupManifest,
  meta: { cluster: string; keep?: readonly string[] },
  client: PgClientSpec = localClientSpec(db, spec, meta.cluster),
  serverMajor?: number,
): Promise<BackupManifest & { pruned: string[] }> {
  const manifestFile = join(spec.dir, `${manifest.id}.json`);
  try {
    const major = serverMajor ?? Math.floor((await databaseFacts(db)).serverVersionNum / 10000);
    await verifyList(manifest.path, client, major);
    if (spec.verify === "restore") {
      await verifyByRestore(db, manifest.path, manifest.tables, client, major);
    }
    return await makeDurable(spec, manifest, manifestFile, meta);
  } catch (e) {
    rmSync(manifestFile, { force: true });
    throw e;
  }
}

/** Puts the backup in the store (if any) and applies retention there and here. */
async function makeDurable(
  spec: BackupSpec,
  manifest: BackupManifest,
  manifestFile: string,
  meta: { cluster: string; keep?: readonly string[] },
): Promise<BackupManifest & { pruned: string[] }> {
  const { id } = manifest;
  // With a `command` store the dump is put there before `finish` may run (before `up` too,
  // unless the outage's run lets `up` go meanwhile, steps/chain.ts RunContext); retention then
  // applies in the store and in the local cache, each never deleting what `keep` names.
  const stored = await putBackup(spec, manifest, manifestFile);
  const keep = [id, ...(meta.keep ?? [])];
  const prunedHere = prune(spec, meta.cluster, keep);
  // Only what left the store leaves the stack's catalog: with a `command` store the local
  // directory is a cache, and what it drops is still in the store.
  const pruned = hasStore(spec) ? await pruneStore(spec, meta.cluster, keep) : prunedHere;
  return { ...stored, pruned };
}

/**
 * `pg_restore --list` must read the whole table of contents, with table data in it. `client`:
 * where pg_restore runs (absent: this machine).
 */
export async function verifyList(
  path: string,
  client?: PgClientSpec,
  serverMajor?: number,
): Promise<void> {
  const cmd = client
    ? await pgCommand(client, "pg_restore", ["--list", path], serverMajor, [dirname(path)])
    : { file: "pg_restore", args: ["--list", path] };
  const r = await execFile(cmd.file, cmd.args, client ? { env: libpqEnv(client.database) } : {});
  if (r.code !== 0 || !/TABLE DATA/.test(r.stdout)) {
    throw new Error(
      `backup ${path} failed verification: pg_restore --list exited ${r.code}: ${tail(r.stderr) || "no table data in the archive"}`,
    );
  }
}

/** Restores into a scratch database and compares row counts table by table. */
async function verifyByRestore(
  db: DatabaseSpec,
  path: string,
  expected: Record<string, number>,
  client: PgClientSpec,
  serverMajor: number,
): Promise<void> {
  const scratch = `${db.database}_kgw_verify`.slice(0, 63);
  await withClient(db, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(scratch)}`);
    await c.query(`CREATE DATABASE ${c.escapeIdentifier(scratch)}`);
  });
  try {
    const cmd = await pgCommand(
      client,
      "pg_restore",
      [...libpqArgs(db, scratch), "--no-owner", "--no-privileges", "--exit-on-error", path],
      serverMajor,
    );
    const r = await execFile(cmd.file, cmd.args, { env: libpqEnv(db), timeoutSeconds: 3600 });
    if (r.code !== 0) {
      throw new Error(`test restore of ${path} failed: ${tail(r.stderr)}`);
    }
    const got = await tableCounts(db, scratch);
    const diff = Object.keys(expected).filter((t) => got[t] !== expected[t]);
    if (diff.length > 0) {
      throw new Error(
        `test restore of ${path} differs from the database in ${diff.map((t) => `${t} (${got[t] ?? "missing"} rows, expected ${expected[t]})`).join(", ")}`,
      );
    }
  } finally {
    await withClient(db, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(scratch)}`));
  }
}

/**
 * Keeps the newest `retention` backups of the cluster; never those in `keep` (the one just taken,
 * and the one a rollback is about to restore).
 */
function prune(spec: BackupSpec, cluster: string, keep: readonly string[]): string[] {
  const all = catalog(spec.dir, cluster);
  const excess = all.slice(0, Math.max(0, all.length - Math.max(1, spec.retention)));
  const pruned: string[] = [];
  for (const m of excess) {
    if (!keep.includes(m.id)) {
      rmSync(m.path, { force: true });
      rmSync(join(spec.dir, `${m.id}.json`), { force: true });
      pruned.push(m.id);
    }
  }
  return pruned;
}
