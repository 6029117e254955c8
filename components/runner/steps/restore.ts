/**
 * Database-level rollback (KONG.md §6): put the Kong database back exactly as a backup recorded
 * it. Objects the newer version created that the backup does not know (new tables, functions)
 * are dropped first, then `pg_restore --clean --if-exists`; the result is checked against the
 * row counts in the manifest. pg_restore runs where pgclient.ts says (this machine unless the
 * docker runtime's client spec says otherwise).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { sha256File } from "./backup";
import { BackupManifest } from "../../state/catalog";
import { libpqArgs, libpqEnv, schemaOf, tableCounts, withClient } from "../infra/db";
import { execFile, tail } from "../infra/exec";
import { pgCommand, PgClientSpec } from "../infra/pgclient";
import { DatabaseSpec } from "../../contract/spec";

/** Reads a manifest by id from the backup directory. */
export function readManifest(dir: string, id: string): BackupManifest {
  const file = join(dir, `${id}.json`);
  if (!existsSync(file)) {
    throw new Error(`backup ${id} is not in ${dir}: no manifest ${file}`);
  }
  return JSON.parse(readFileSync(file, "utf8")) as BackupManifest;
}

/**
 * What is wrong with `m`'s file, if anything: missing, or not the bytes its manifest's sha256
 * names. Checked by a rollback's preflight (before anything stops) and again by the restore.
 */
export async function backupFileProblem(
  m: BackupManifest,
): Promise<{ kind: "missing" | "damaged"; text: string } | undefined> {
  if (!existsSync(m.path)) {
    return { kind: "missing", text: `backup file ${m.path} of ${m.id} is missing` };
  }
  const sum = await sha256File(m.path);
  if (sum !== m.sha256) {
    return {
      kind: "damaged",
      text: `backup file ${m.path} does not match its manifest (sha256 ${sum}, expected ${m.sha256})`,
    };
  }
  return undefined;
}

/**
 * Restores `m` into the Kong database and proves the row counts match the manifest. `client`
 * (the step spec) says where pg_restore runs; absent: on this machine.
 */
export async function restoreBackup(
  db: DatabaseSpec,
  m: BackupManifest,
  client?: PgClientSpec,
): Promise<{ tables: number; rows: number }> {
  const pgRestore = async (args: string[]) =>
    client
      ? pgCommand(client, "pg_restore", args, undefined, [dirname(m.path)])
      : { file: "pg_restore", args };
  const problem = await backupFileProblem(m);
  if (problem) {
    throw new Error(
      problem.kind === "damaged"
        ? `${problem.text}; refusing to restore a damaged backup`
        : problem.text,
    );
  }
  const listCmd = await pgRestore(["--list", m.path]);
  const list = await execFile(listCmd.file, listCmd.args, client ? { env: libpqEnv(db) } : {});
  const known = new Set<string>();
  for (const line of list.stdout.split("\n")) {
    const t = /^\d+; \d+ \d+ TABLE \S+ (\S+) /.exec(line);
    if (t?.[1]) {
      known.add(t[1]);
    }
  }
  if (list.code !== 0 || known.size === 0) {
    throw new Error(
      `pg_restore --list cannot read ${m.path} (exit ${list.code}); refusing to touch the database`,
    );
  }
  await withClient(db, async (c) => {
    const schema = schemaOf(db);
    const tables = await c.query<{ t: string }>(
      "SELECT tablename AS t FROM pg_tables WHERE schemaname = $1",
      [schema],
    );
    for (const { t } of tables.rows) {
      // Only tables the backup knows nothing of (created by the newer version) are dropped.
      if (!known.has(t) && !(t in m.tables)) {
        await c.query(
          `DROP TABLE IF EXISTS ${c.escapeIdentifier(schema)}.${c.escapeIdentifier(t)} CASCADE`,
        );
      }
    }
  });
  const restore = await pgRestore([
    ...libpqArgs(db),
    "--clean",
    "--if-exists",
    "--no-owner",
    "--no-privileges",
    "--single-transaction",
    "--exit-on-error",
    m.path,
  ]);
  const r = await execFile(restore.file, restore.args, {
    env: libpqEnv(db),
    timeoutSeconds: 3600,
  });
  if (r.code !== 0) {
    throw new Error(`pg_restore of ${m.id} failed (exit ${r.code}): ${tail(r.stderr)}`);
  }
  const got = await tableCounts(db);
  const wrong = Object.keys(m.tables).filter((t) => got[t] !== m.tables[t]);
  if (wrong.length > 0) {
    throw new Error(
      `restore of ${m.id} left different data in ${wrong.map((t) => `${t} (${got[t] ?? "missing"} rows, backup had ${m.tables[t]})`).join(", ")}`,
    );
  }
  return {
    tables: Object.keys(m.tables).length,
    rows: Object.values(m.tables).reduce((a, b) => a + b, 0),
  };
}
