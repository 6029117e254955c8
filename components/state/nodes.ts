/**
 * What the runner knows about each node it started: a record (`kong-gateway.json`: owner, binary,
 * settings, URLs) under `<stateDir>/nodes/<group>/<id>` — for the local runtime that is the node's
 * prefix itself — written before the node starts. Steps find the nodes by reading those records
 * and asking the runtime whether each runs, never by trusting what the program believes, so a
 * re-run after a crash sees the real state. On the `hosts` runtime a copy of each record also sits
 * in the node's prefix on its host, so a runner on another machine (a CI runner, a fresh clone
 * with an empty state directory) finds the nodes that run there (issue #16). (The HTTP probes
 * every runtime shares are in runner/infra/http.ts.)
 */
import { randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** What a node's prefix records about it. */
export interface NodeRecord {
  readonly cluster: string;
  readonly id: string;
  readonly version: string;
  readonly generation: number;
  readonly kongBin: string;
  /** The prefix on the node's machine (`docker:<name>` on the docker runtime). */
  readonly prefix: string;
  /** `hosts` runtime: the machine's SSH address. */
  readonly host?: string;
  /** `docker` runtime: the container's name. */
  readonly container?: string;
  /** `hosts` runtime with a service manager: the node's environment file on its host. */
  readonly envFile?: string;
  readonly statusUrl: string;
  readonly adminUrl: string;
  readonly proxyUrl: string;
  /** Non-secret `KONG_*` settings; the password is added from the step's environment. */
  readonly settings: Record<string, string>;
  /**
   * `scrypt:<salt>:<hash>` of the database password the node was started with: enough to tell a
   * rotated password apart (and restart the node with it), never enough to recover it.
   */
  readonly passwordDigest?: string;
}

/** The salted digest {@link NodeRecord.passwordDigest} keeps. */
export function digestPassword(password: string, salt: Buffer = randomBytes(16)): string {
  return `scrypt:${salt.toString("hex")}:${scryptSync(password, salt, 32).toString("hex")}`;
}

/**
 * Whether `password` is the one `digest` was made from. A record without a digest (written before
 * digests were kept) says nothing either way: the node is left running.
 */
export function samePassword(digest: string | undefined, password: string | undefined): boolean {
  const [kind, salt, hash] = (digest ?? "").split(":");
  if (kind !== "scrypt" || !salt || !hash || password === undefined) {
    return true;
  }
  const expected = Buffer.from(hash, "hex");
  const got = scryptSync(password, Buffer.from(salt, "hex"), expected.length);
  return expected.length > 0 && timingSafeEqual(got, expected);
}

/** The record's file name, in its record directory (and, on the hosts runtime, in the prefix on the host). */
export const RECORD = "kong-gateway.json";

/** The line the hosts runtime prints between records it reads from a host. */
export const RECORD_SEPARATOR = "--- kong-gateway node record ---";

/**
 * The records of `cluster` in `text` (files printed one after another, each after
 * {@link RECORD_SEPARATOR}); anything that does not parse as a record is skipped.
 */
export function parseRecords(text: string, cluster: string): NodeRecord[] {
  const out: NodeRecord[] = [];
  for (const part of text.split(RECORD_SEPARATOR)) {
    if (part.trim() === "") {
      continue;
    }
    try {
      const rec = JSON.parse(part) as NodeRecord;
      if (
        rec?.cluster === cluster &&
        typeof rec.prefix === "string" &&
        typeof rec.id === "string"
      ) {
        out.push(rec);
      }
    } catch {
      // A record half-written by a runner that was killed: the node it names never started.
    }
  }
  return out;
}

/**
 * Where the runner keeps a node's record: `<stateDir>/nodes/<group>/<id>`, the last two parts of
 * its prefix (so on the local runtime the prefix itself).
 */
export function recordDir(stateDir: string, rec: Pick<NodeRecord, "prefix">): string {
  return join(stateDir, "nodes", basename(dirname(rec.prefix)), basename(rec.prefix));
}

/** Writes the node's record (creating its directory). */
export function writeNodeRecord(stateDir: string, rec: NodeRecord): void {
  const dir = recordDir(stateDir, rec);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, RECORD), JSON.stringify(rec, null, 2) + "\n", { mode: 0o600 });
}

/** The record in a record directory (see {@link recordDir}), if any. */
export function readNodeRecord(dir: string): NodeRecord | undefined {
  const file = join(dir, RECORD);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as NodeRecord) : undefined;
}

/** Every node record of `cluster` under `<stateDir>/nodes/<version>-g<n>/<id>`. */
export function discoverNodes(stateDir: string, cluster: string): NodeRecord[] {
  const root = join(stateDir, "nodes");
  if (!existsSync(root)) {
    return [];
  }
  const out: NodeRecord[] = [];
  for (const group of readdirSync(root)) {
    const groupDir = join(root, group);
    for (const id of safeReaddir(groupDir)) {
      const file = join(groupDir, id, RECORD);
      if (existsSync(file)) {
        const rec = JSON.parse(readFileSync(file, "utf8")) as NodeRecord;
        if (rec.cluster === cluster) {
          out.push(rec);
        }
      }
    }
  }
  return out.sort((a, b) => a.prefix.localeCompare(b.prefix));
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
