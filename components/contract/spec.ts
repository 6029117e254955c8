/**
 * The contract between the Pulumi program and the step runner: what one step resource hands to
 * `components/runner/run.ts` in the `KONG_GW_SPEC` environment variable. Nothing secret is in
 * here; the database password travels separately as `KONG_PG_PASSWORD` (a secret environment
 * value of the command resource).
 */

import { z } from "zod";
import type { StepName, Strategy } from "./steps";

/**
 * Step names are the step table's (components/contract/steps.ts): the stack exports measured
 * steps under them and the next preview's estimate looks them up by them, so there is one list.
 */
export type { StepName };

/** A Kong node of the cluster, as the runtime starts it. */
export interface NodeSpec {
  /** Stable id inside the cluster (`node-0`, `node-1`, ...). */
  readonly id: string;
  readonly version: string;
  /** Absolute path of the `kong` executable of this version (`kong` inside a container). */
  readonly kongBin: string;
  /**
   * Absolute prefix directory (`kong start -p`) on the node's machine; on the docker runtime
   * `docker:<container name>`. Unique per node: the runner tells nodes apart by it.
   */
  readonly prefix: string;
  /** `hosts` runtime: the SSH address of the node's machine (absent elsewhere). */
  readonly host?: string;
  /** `docker` runtime: the container's name (absent elsewhere). */
  readonly container?: string;
  /**
   * `hosts` runtime with a service manager (`hosts.startCommand`): the node's environment file
   * on its host (0600; `KONG_*` settings, the password, `KGW_BINARY`, `KONG_PREFIX`).
   */
  readonly envFile?: string;
  readonly proxyListen: string;
  readonly adminListen: string;
  readonly statusListen: string;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly statusUrl: string;
}

/** Where the Kong database is; the password is `KONG_PG_PASSWORD` in the environment. */
export interface DatabaseSpec {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** `KONG_PG_SCHEMA`; empty means the server's default (`public`). */
  readonly schema: string;
  /** `KONG_PG_SSL`: `on` or `off`. */
  readonly ssl: "on" | "off";
}

/** How backups are taken, checked and kept. */
export interface BackupSpec {
  /** Absolute directory, created with mode 0700; files are 0600. */
  readonly dir: string;
  /** `list`: `pg_restore --list` must read the archive; `restore`: a full test restore too. */
  readonly verify: "list" | "restore";
  /** How many backups to keep; the backup of the latest upgrade is never deleted. */
  readonly retention: number;
  /** Free space that must remain on the backup volume after the backup (bytes). */
  readonly minFreeBytes: number;
  /**
   * `backup.store: command`: the storage templates; `dir` is then a cache, and every dump is put
   * to and fetched from the store. Absent: the `local` store (`dir` is the only copy).
   */
  readonly command?: {
    readonly put: string;
    readonly get: string;
    readonly list: string;
    readonly delete: string;
  };
  /**
   * `backup.store: host`: the host of the `hosts` runtime that keeps every dump and manifest in
   * `dir` (there), reached with `ssh` and the key in `KONG_GW_SSH_KEY` (written under `stateDir`
   * while the runner runs); `BackupSpec.dir` is then a cache. Absent: not the host store.
   */
  readonly host?: {
    readonly address: string;
    readonly dir: string;
    readonly ssh: SshSpec;
    readonly stateDir: string;
  };
  /** For `rollback` chains: the sha256 the stack's catalog records for the backup to restore. */
  readonly restoreSha256?: string;
}

/** How to reach the machines of the `hosts` runtime (the private key is `KONG_GW_SSH_KEY`). */
export interface SshSpec {
  readonly user: string;
  readonly port: number;
  /** Jump host, `user@host:port` (ssh -J); empty: direct. */
  readonly bastion: string;
  /** known_hosts file the runner pins host keys in (first contact accepted and recorded). */
  readonly knownHosts: string;
}

/** Where Kong runs and how the runner reaches it; absent means `local`. */
export type RuntimeSpec =
  | { readonly kind: "local" }
  | {
      readonly kind: "hosts";
      readonly ssh: SshSpec;
      /** The address of the host that runs `kong migrations` (and `kong check`). */
      readonly migrationHost: string;
      /**
       * The install command template (`{version}`, `{host}`). With one package per host, installing
       * Y replaced X's binary, so a rollback runs it again for X before restarting X.
       */
      readonly install: string;
      /** Starts a node through a service manager (`{id}`, `{envFile}`, …); empty: `kong start -p`. */
      readonly startCommand: string;
      /** Stops a node through the service manager; empty: `kong quit -p -t`. */
      readonly stopCommand: string;
    }
  | {
      readonly kind: "docker";
      /** Image repository; a version's image is `<image>:<version>`. */
      readonly image: string;
      /** The docker network nodes and one-shot containers join. */
      readonly network: string;
      /** `DOCKER_HOST` for the docker CLI; empty: the environment's. */
      readonly dockerHost: string;
      /** `KONG_PG_HOST` as containers see the database (may differ from `database.host`). */
      readonly databaseHost: string;
      /** Where pg_dump/pg_restore/psql run: `auto` (local when new enough), `local` or `docker`. */
      readonly pgClient: "auto" | "local" | "docker";
      /** Image of the one-shot client; `{major}` is the server's major version. */
      readonly pgClientImage: string;
    };

/** Everything a step needs. */
export interface StepSpec {
  /** Where Kong runs; absent: `local`. */
  readonly runtime?: RuntimeSpec;
  /** The KongGateway component's name; marks the nodes this cluster owns. */
  readonly cluster: string;
  /** Absolute state directory: node prefixes, journal, attempt counters. */
  readonly stateDir: string;
  /** What this chain does. */
  readonly kind: "install" | "upgrade" | "rollback";
  /** Version the program believes is deployed (absent on a fresh stack). */
  readonly from?: string;
  /** Version this chain leaves serving. */
  readonly to: string;
  /** Attempt number of this change; bumped after an aborted attempt so the chain re-runs. */
  readonly generation: number;
  /** The nodes this chain starts (version `to`). */
  readonly nodes: readonly NodeSpec[];
  /** `KONG_PLUGINS` for every node and migration (they must match: Kong/kong#4420). */
  readonly plugins: string;
  readonly database: DatabaseSpec;
  readonly backup: BackupSpec;
  /**
   * How an upgrade replaces X by Y (components/contract/steps.ts `Strategy`); absent: `in-place`.
   * Left out when `in-place`, so the specs of stacks deployed before strategies existed are the
   * same text and their resources see no change.
   */
  readonly strategy?: Strategy;
  /** Roll back automatically when a step after `stop` fails. */
  readonly automaticRollback: boolean;
  /** For `rollback` chains: the backup (id) to restore. */
  readonly restoreBackupId?: string;
  /** Maintenance windows (`Sat 02:00-04:00 UTC`); empty: any time. */
  readonly maintenanceWindows: readonly string[];
  /** Allowed to upgrade onto a smaller cluster than the one deployed. */
  readonly allowSmallerCluster: boolean;
  /** The proxied request `verify` makes on every node. */
  readonly probe: { readonly path: string; readonly expectStatus: readonly number[] };
  readonly timeouts: {
    /** `kong quit -t` (graceful drain) per node. */
    readonly quitSeconds: number;
    /** How long a node may take from `kong start` to `/status/ready` 200. */
    readonly startSeconds: number;
    /** `kong migrations --db-timeout`. */
    readonly dbTimeoutSeconds: number;
    /** `kong migrations --lock-timeout`. */
    readonly lockTimeoutSeconds: number;
    /** How long a backup (or a restore) may take. Absent in specs of older releases: 3600. */
    readonly backupSeconds?: number;
    /** Per-step time limits overriding the defaults of runner/infra/limits.ts. */
    readonly stepSeconds?: Readonly<Record<string, number>>;
  };
}

/** The environment variable carrying the JSON spec. */
export const SPEC_ENV = "KONG_GW_SPEC";

const nodeSchema = z.object({
  id: z.string().min(1),
  version: z.string().min(1),
  kongBin: z.string().min(1),
  prefix: z.string().min(1),
  host: z.string().optional(),
  container: z.string().optional(),
  envFile: z.string().optional(),
  proxyListen: z.string(),
  adminListen: z.string(),
  statusListen: z.string(),
  proxyUrl: z.string(),
  adminUrl: z.string(),
  statusUrl: z.string(),
});

const sshSchema = z.object({
  user: z.string(),
  port: z.number().int(),
  bastion: z.string(),
  knownHosts: z.string(),
});

const runtimeSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("local") }),
  z.object({
    kind: z.literal("hosts"),
    ssh: sshSchema,
    migrationHost: z.string(),
    install: z.string(),
    startCommand: z.string(),
    stopCommand: z.string(),
  }),
  z.object({
    kind: z.literal("docker"),
    image: z.string(),
    network: z.string(),
    dockerHost: z.string(),
    databaseHost: z.string(),
    pgClient: z.enum(["auto", "local", "docker"]),
    pgClientImage: z.string(),
  }),
]);

/** The wire form of {@link StepSpec}, checked field by field on the runner's side. */
const specSchema = z.object({
  runtime: runtimeSchema.optional(),
  cluster: z.string().min(1),
  stateDir: z.string().min(1),
  kind: z.enum(["install", "upgrade", "rollback"]),
  from: z.string().optional(),
  to: z.string().min(1),
  generation: z.number().int().positive(),
  nodes: z.array(nodeSchema),
  plugins: z.string().min(1),
  database: z.object({
    host: z.string(),
    port: z.number().int(),
    database: z.string(),
    user: z.string(),
    schema: z.string(),
    ssl: z.enum(["on", "off"]),
  }),
  backup: z.object({
    dir: z.string().min(1),
    verify: z.enum(["list", "restore"]),
    retention: z.number().int().positive(),
    minFreeBytes: z.number().nonnegative(),
    command: z
      .object({ put: z.string(), get: z.string(), list: z.string(), delete: z.string() })
      .optional(),
    host: z
      .object({
        address: z.string().min(1),
        dir: z.string().min(1),
        ssh: sshSchema,
        stateDir: z.string().min(1),
      })
      .optional(),
    restoreSha256: z.string().optional(),
  }),
  strategy: z.enum(["in-place", "prepared", "rolling"]).optional(),
  automaticRollback: z.boolean(),
  restoreBackupId: z.string().optional(),
  maintenanceWindows: z.array(z.string()),
  allowSmallerCluster: z.boolean(),
  probe: z.object({ path: z.string(), expectStatus: z.array(z.number().int()) }),
  timeouts: z.object({
    quitSeconds: z.number().positive(),
    startSeconds: z.number().positive(),
    dbTimeoutSeconds: z.number().positive(),
    lockTimeoutSeconds: z.number().positive(),
    backupSeconds: z.number().positive().optional(),
    stepSeconds: z.record(z.string(), z.number().positive()).optional(),
  }),
}) satisfies z.ZodType<StepSpec>;

/**
 * The spec as the program hands it over: JSON with its keys sorted, so equal specs are equal
 * texts whatever order the program built them in (the text is a command resource's input; a
 * different order would be a diff, and a diff an update).
 */
export function encodeSpec(spec: StepSpec): string {
  specSchema.parse(spec);
  return canonicalJson(spec);
}

/** JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}

/** Decodes and checks a spec; throws naming every field that is wrong. */
export function parseSpec(text: string | undefined): StepSpec {
  if (!text) {
    throw new Error(
      `${SPEC_ENV} is not set: the step runner is started by the KongGateway resources`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${SPEC_ENV} is not JSON: ${(e as Error).message}`);
  }
  const r = specSchema.safeParse(raw);
  if (!r.success) {
    throw new Error(
      `${SPEC_ENV} is not a step spec: ${r.error.issues
        .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
        .join("; ")}`,
    );
  }
  return r.data;
}

/** The strategy of a spec's change (`in-place` when the spec does not say). */
export function strategyOf(spec: Pick<StepSpec, "strategy">): Strategy {
  return spec.strategy ?? "in-place";
}
