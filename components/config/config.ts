/**
 * The KongGateway's arguments and their defaults, resolved once in {@link withDefaults} into a
 * fully populated shape, and validated before any resource exists. Pure: no Pulumi resources.
 */
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";

import { LIMITED_STEPS, STRATEGIES, Strategy } from "../contract/steps";
import { bundledLater } from "../plan";

export { fillTemplate, parseBastion } from "../contract/templates";

/** How the Kong database is provided. */
export interface DatabaseArgs {
  /**
   * `local`: a PostgreSQL server the stack starts in a directory of its own (demo and tests);
   * `existing`: a server and database you operate; `managed`: a server you operate, on which the
   * stack creates the Kong role and database with @pulumi/postgresql (admin credentials needed).
   * @default "local"
   */
  readonly mode?: "local" | "existing" | "managed";
  /** `managed` only: the administrator that creates the role and database. @default "postgres" */
  readonly adminUser?: string;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** @default 5432 for `existing`, 15432 for `local` */
  readonly port?: number;
  /** @default "kong" */
  readonly database?: string;
  /** @default "kong" */
  readonly user?: string;
  /** `KONG_PG_SCHEMA`. @default "" (the server's default, `public`) */
  readonly schema?: string;
  /** `KONG_PG_SSL`. @default false */
  readonly ssl?: boolean;
}

/** Backups taken before every upgrade (KONG.md §6). */
export interface BackupArgs {
  /** Directory for dumps and manifests (made 0700). @default "<stateDir>/backups" */
  readonly dir?: string;
  /** `list`: pg_restore --list; `restore`: a full test restore compared table by table. @default "list" */
  readonly verify?: "list" | "restore";
  /** Backups kept; the latest upgrade's is never deleted. @default 5 */
  readonly retention?: number;
  /** Free space that must remain after a backup, in MiB. @default 64 */
  readonly minFreeMb?: number;
  /**
   * Where backups are kept. `local`: `dir` on the Pulumi machine only (a stack whose database is
   * on this machine too); `command`: `dir` is a cache, and every dump and manifest is copied
   * with the `command` templates to storage any machine running the stack can read; `host`
   * (runtime `hosts`): `dir` is a cache, and every dump and manifest is kept in `hostDir` on
   * `host`, which any machine holding the SSH key can read. @default "local"
   */
  readonly store?: "local" | "command" | "host";
  /** `store: command` only: the templates of the user's storage CLI. @default undefined */
  readonly command?: BackupCommandArgs;
  /** `store: host` only: the host (one of `hosts.addresses`) that keeps the backups. @default hosts.migrationHost */
  readonly host?: string;
  /** `store: host` only: the absolute directory on `host` (`{host}` is substituted). @default "<hosts.prefix>/backups" */
  readonly hostDir?: string;
}

/**
 * Shell command templates of a `command` backup store, each run with `{file}` (a local file) and
 * `{name}` (the object's name in the store) shell-quoted. No secret is ever put into them: the
 * storage CLI finds its own credentials (environment, profile, instance role).
 */
export interface BackupCommandArgs {
  /** Copies `{file}` to `{name}`, e.g. `aws s3 cp {file} s3://bucket/kong/{name}`. */
  readonly put: string;
  /** Copies `{name}` to `{file}`. */
  readonly get: string;
  /** Prints the store's object names, one a line (other text on the line is ignored). */
  readonly list: string;
  /** Deletes `{name}`. */
  readonly delete: string;
}

/** The resolved backup settings: a union on the store. */
export type ResolvedBackup = Required<Omit<BackupArgs, "store" | "command" | "host" | "hostDir">> &
  ResolvedBackupStore;

/** Where backups are kept, with what each store needs. */
export type ResolvedBackupStore =
  | { readonly store: "local" }
  | { readonly store: "command"; readonly command: BackupCommandArgs }
  | { readonly store: "host"; readonly host: string; readonly hostDir: string };

/** Where Kong runs when `runtime` is `local`: processes on the Pulumi machine. */
export interface LocalRuntimeArgs {
  /** Path of the `kong` executable; `{version}` and `{stateDir}` are substituted. @default "{stateDir}/kong/{version}/bin/kong" */
  readonly kongBinary?: string;
  /** Shell command that installs a version (`{version}`, `{dir}`, `{stateDir}`); empty: binaries are already there. @default "" */
  readonly install?: string;
  /** First port; node i uses basePort+10i (proxy), +1 (admin), +2 (status). @default 18000 */
  readonly basePort?: number;
  /** Address the Admin API binds to. @default "127.0.0.1" */
  readonly adminAddress?: string;
}

/** Where Kong runs when `runtime` is `hosts`: machines you operate, reached over SSH. */
export interface HostsRuntimeArgs {
  /** SSH addresses of the machines; node i runs on the i-th. Required. */
  readonly addresses?: string[];
  /** SSH user (needs the rights the install command and the prefix need). @default "kong" */
  readonly user?: string;
  /** @default 22 */
  readonly port?: number;
  /** Jump host, `user@host:port`; empty: direct connections. @default "" */
  readonly bastion?: string;
  /** known_hosts file host keys are pinned in (first contact recorded). @default "<stateDir>/known_hosts" */
  readonly knownHosts?: string;
  /** Shell command installing a version on a host (`{version}`, `{host}`); empty: already installed. @default "sudo apt-get install -y --allow-downgrades kong={version}" */
  readonly install?: string;
  /** Path of `kong` on the hosts (`{version}`, `{host}`). @default "/usr/local/bin/kong" */
  readonly kongBinary?: string;
  /** Directory holding the node prefixes on each host (`{host}`); the SSH user must own it. @default "/var/lib/kong-gateway" */
  readonly prefix?: string;
  /** Address proxy and status listeners bind on each host (`{host}`). @default "0.0.0.0" */
  readonly listenAddress?: string;
  /** Address the Admin API binds; the runner reads versions through it, so keep it reachable from the Pulumi machine (and firewalled). @default "{host}" */
  readonly adminAddress?: string;
  /** @default 8000 */ readonly proxyPort?: number;
  /** @default 8001 */ readonly adminPort?: number;
  /** @default 8100 */ readonly statusPort?: number;
  /** The host that runs `kong migrations`. @default the first address */
  readonly migrationHost?: string;
  /**
   * Start a node through a service manager instead of `kong start -p`, e.g. `sudo systemctl start
   * kong-gateway@{id}`; the runner first writes the node's settings to `{envFile}` (0600,
   * `<prefix>/<id>.env`, systemd EnvironmentFile syntax). Placeholders: `{id}`, `{version}`,
   * `{prefix}`, `{envFile}`, `{kongBinary}`, `{host}`. @default "" (`kong start -p <prefix>`)
   */
  readonly startCommand?: string;
  /** Stop a node through the service manager (`sudo systemctl stop kong-gateway@{id}`). @default "" (`kong quit -p <prefix> -t <quitSeconds>`) */
  readonly stopCommand?: string;
}

/** Where Kong runs when `runtime` is `docker`: containers on a Docker engine. */
export interface DockerRuntimeArgs {
  /** Image repository; a version runs `<image>:<version>`. @default "kong" */
  readonly image?: string;
  /** Docker network of the nodes and one-shot containers; empty: the stack creates `<name>-net`. @default "" */
  readonly network?: string;
  /** Docker engine (`unix://`, `tcp://`, `ssh://user@host`); empty: `DOCKER_HOST` or the local socket. @default "" */
  readonly host?: string;
  /** Host address ports are published on and the Pulumi machine reaches them at. @default "127.0.0.1" */
  readonly publishAddress?: string;
  /** First published port; node i uses basePort+10i (proxy), +1 (admin), +2 (status). @default 8000 */
  readonly basePort?: number;
  /** `KONG_PG_HOST` as containers see the database. @default database.host */
  readonly databaseHost?: string;
  /** Where pg_dump/pg_restore run: `auto` (local when new enough, else a container), `local`, `docker`. @default "auto" */
  readonly pgClient?: "auto" | "local" | "docker";
  /** One-shot client image; `{major}` is the server's major version. @default "postgres:{major}" */
  readonly pgClientImage?: string;
}

/** Per-node capacity, compared between the deployed and the new cluster. */
export interface CapacityArgs {
  /** CPUs per node (a shrink is refused unless allowSmallerCluster). @default unset: not compared */
  readonly cpus?: number;
  /** Memory per node in MiB (a shrink is refused unless allowSmallerCluster). @default unset: not compared */
  readonly memoryMb?: number;
  /** Let the new cluster be smaller than the deployed one. @default false */
  readonly allowSmallerCluster?: boolean;
}

/** The request `verify` sends through every new node's proxy. */
export interface ProbeArgs {
  /** @default "/" */
  readonly path?: string;
  /** Accepted statuses; empty accepts any non-5xx answer. @default [] */
  readonly expectStatus?: readonly number[];
}

/** Time limits. */
export interface TimeoutArgs {
  /** @default 10 */ readonly quitSeconds?: number;
  /** @default 60 */ readonly startSeconds?: number;
  /** @default 60 */ readonly dbTimeoutSeconds?: number;
  /** @default 60 */ readonly lockTimeoutSeconds?: number;
  /** How long a backup (or a restore) may take before the step fails. @default 3600 */
  readonly backupSeconds?: number;
  /**
   * Per-step time limits in seconds (`settings`, `preflight`, `stop`, `backup`, `migrations-up`,
   * `migrations-finish`, `restore`, `start`, `verify`), overriding the defaults derived from the
   * other timeouts (components/runner/infra/limits.ts). @default {}
   */
  readonly stepSeconds?: Record<string, number>;
}

/** The runtimes a stack can run Kong on. */
export type RuntimeName = "local" | "hosts" | "docker";

/** The `docker` settings with every default filled in, the network's name included. */
export interface ResolvedDockerRuntime extends Required<DockerRuntimeArgs> {
  /** Whether the stack creates `network` (true when `docker.network` was not set). */
  readonly createNetwork: boolean;
}

/** The settings every runtime shares, with every default filled in. */
interface ResolvedCommon {
  readonly version: string;
  readonly nodes: number;
  /** Plugin names as configured (`["bundled"]` by default); Kong's `KONG_PLUGINS` joins them. */
  readonly plugins: readonly string[];
  readonly stateDir: string;
  readonly database: Required<DatabaseArgs>;
  readonly backup: ResolvedBackup;
  readonly capacity: CapacityArgs & { allowSmallerCluster: boolean };
  readonly probe: Required<ProbeArgs>;
  readonly timeouts: Required<TimeoutArgs>;
  readonly maintenanceWindows: string[];
  readonly automaticRollback: boolean;
  /** How an upgrade replaces the old nodes (components/contract/steps.ts `Strategy`). */
  readonly strategy: Strategy;
  /** Let `rolling` run two minor versions side by side (Kong recommends patch versions only). */
  readonly allowMixedVersions: boolean;
}

/**
 * Everything `withDefaults` fills in: one shape per runtime, so code that needs a runtime's
 * settings switches on `runtime` and the compiler knows which settings exist.
 */
export type ResolvedConfig = ResolvedCommon &
  (
    | { readonly runtime: "local"; readonly local: Required<LocalRuntimeArgs> }
    | { readonly runtime: "hosts"; readonly hosts: Required<HostsRuntimeArgs> }
    | { readonly runtime: "docker"; readonly docker: ResolvedDockerRuntime }
  );

/**
 * The role password of `database.mode: local` when `kong-gateway:dbPassword` is not set: the
 * server is a loopback-only throwaway on this machine. Every other mode must set one.
 */
export const LOCAL_DEFAULT_PASSWORD = "kong-gateway-local";

/**
 * The plain (non-Output) settings of a KongGateway: the `kong-gateway:` keys of a stack file
 * (Pulumi.yaml declares the same, README "Configuration reference" explains each).
 */
export interface PlainSettings {
  /** Kong version the cluster serves: `X.Y.Z`, Enterprise `X.Y.Z.N` (see {@link canonicalVersion}). Required. */
  readonly version: string;
  /** Kong nodes in the cluster (1–32). @default 2 */
  readonly nodes?: number;
  /** Where Kong runs: processes on this machine, machines over SSH, or Docker containers. @default "local" */
  readonly runtime?: RuntimeName;
  /** Kong's `plugins` setting: `bundled` and/or plugin names. @default ["bundled"] */
  readonly plugins?: readonly string[];
  /** Where the stack keeps its local state (database directory, nodes, backups, reports). @default ".state/<stack>" */
  readonly stateDir?: string;
  /** The Kong database. @default { mode: "local" } */
  readonly database?: DatabaseArgs;
  /** The backup every upgrade takes. @default { dir: "<stateDir>/backups", verify: "list", retention: 5, minFreeMb: 64 } */
  readonly backup?: BackupArgs;
  /** `runtime: local` only. @default {} */
  readonly local?: LocalRuntimeArgs;
  /** `runtime: hosts` only (`addresses` required). @default {} */
  readonly hosts?: HostsRuntimeArgs;
  /** `runtime: docker` only. @default {} */
  readonly docker?: DockerRuntimeArgs;
  /** Per-node capacity. @default {} (not compared) */
  readonly capacity?: CapacityArgs;
  /** What `verify` requests through every new node's proxy. @default { path: "/", expectStatus: [] } */
  readonly probe?: ProbeArgs;
  /** Time limits. @default see {@link TimeoutArgs} */
  readonly timeouts?: TimeoutArgs;
  /** Windows changes that take the gateway down must start and end in (`Sat 02:00-04:00 UTC`). @default [] (any time) */
  readonly maintenanceWindows?: string[];
  /** Whether a failure after the old nodes stopped restores the backup and restarts them. @default true */
  readonly automaticRollback?: boolean;
  /**
   * How an upgrade replaces the old nodes: `in-place` (stop, back up, migrate, start), `prepared`
   * (back up and migrate while the old nodes serve; down only for stop + start) or `rolling`
   * (one node at a time; needs 2 or more nodes). @default "in-place"
   */
  readonly strategy?: string;
  /**
   * Allow `rolling` on a minor hop, where two minor versions serve side by side for a while
   * (Kong recommends mixed versions only between patch versions). @default false
   */
  readonly allowMixedVersions?: boolean;
}

const fail = (setting: string, value: unknown, why: string, fix: string): never => {
  throw new Error(`kong-gateway:${setting} ${JSON.stringify(value)} ${why}; ${fix}`);
};

const positiveInt = (setting: string, v: number, max = 65535) => {
  if (!Number.isInteger(v) || v < 1 || v > max) {
    fail(
      setting,
      v,
      `is not a whole number from 1 to ${max}`,
      `set it with 'pulumi config set ${setting.includes(".") ? "--path " : ""}kong-gateway:${setting} <n>'`,
    );
  }
  return v;
};

/** Resolves every default and validates every setting; `root` anchors relative paths. */
export function withDefaults(
  s: PlainSettings,
  root: string,
  stack: string,
  cluster = "kong",
): ResolvedConfig {
  const version = canonicalVersion(s.version);
  const runtime: string = s.runtime ?? "local";
  if (runtime !== "local" && runtime !== "hosts" && runtime !== "docker") {
    fail(
      "runtime",
      runtime,
      "is not a runtime",
      'use "local" (processes on this machine), "hosts" (machines over SSH) or "docker"',
    );
  }
  const nodes = positiveInt("nodes", s.nodes ?? 2, 32);
  const plugins = (s.plugins ?? ["bundled"]).map((p) => p.trim()).filter((p) => p !== "");
  if (plugins.length === 0) {
    fail("plugins", s.plugins, "is empty", 'use ["bundled"] or list plugin names');
  }
  for (const p of plugins) {
    if (!/^[a-z0-9-]+$/.test(p)) {
      fail("plugins", p, "is not a plugin name", 'use names like "key-auth" or "bundled"');
    }
    const since = bundledLater(p, version);
    if (since !== undefined) {
      fail(
        "plugins",
        p,
        `is bundled from Kong ${since} on, and kong-gateway:version is ${version} (its nodes would not start)`,
        `remove it, or enable it together with a version of ${since} or later`,
      );
    }
  }
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(root, p));
  const stateDir = abs(s.stateDir ?? `.state/${stack}`);
  const database = resolveDatabase(s.database);
  const mode = database.mode;
  if (mode === "local" && database.host !== "127.0.0.1" && database.host !== "localhost") {
    fail(
      "database.host",
      database.host,
      "cannot be used with database.mode local (the local server listens on 127.0.0.1)",
      "remove database.host or use database.mode existing",
    );
  }
  const verify = s.backup?.verify ?? "list";
  if (verify !== "list" && verify !== "restore") {
    fail("backup.verify", verify, "is not a verification mode", 'use "list" or "restore"');
  }
  const hosts =
    runtime === "hosts" ? hostsDefaults(s.hosts ?? {}, nodes, stateDir, abs) : undefined;
  const backup: ResolvedBackup = {
    dir: abs(s.backup?.dir ?? `${stateDir}/backups`),
    verify,
    retention: positiveInt("backup.retention", s.backup?.retention ?? 5, 1000),
    minFreeMb: s.backup?.minFreeMb ?? 64,
    ...backupStore(s.backup, runtime, hosts),
  };
  if (!Number.isInteger(backup.minFreeMb) || backup.minFreeMb < 0) {
    fail(
      "backup.minFreeMb",
      backup.minFreeMb,
      "is not a whole number of MiB (0 or more)",
      "set it with 'pulumi config set --path kong-gateway:backup.minFreeMb 64'",
    );
  }
  checkDirectory("stateDir", stateDir);
  checkDirectory("backup.dir", backup.dir);
  const local: Required<LocalRuntimeArgs> = {
    kongBinary: s.local?.kongBinary ?? "{stateDir}/kong/{version}/bin/kong",
    install: s.local?.install ?? "",
    basePort: positiveInt("local.basePort", s.local?.basePort ?? 18000, 65535 - 10 * nodes),
    adminAddress: s.local?.adminAddress ?? "127.0.0.1",
  };
  if (runtime === "local") {
    assertPortsApart(local.basePort, nodes, database);
  }
  if (!local.kongBinary.includes("{version}")) {
    fail(
      "local.kongBinary",
      local.kongBinary,
      "has no {version} placeholder, so every version would run the same binary",
      'use a template such as "/opt/kong/{version}/bin/kong"',
    );
  }
  const probePath = s.probe?.path ?? "/";
  if (!probePath.startsWith("/")) {
    fail("probe.path", probePath, "does not start with /", 'use a path such as "/health"');
  }
  const common: ResolvedCommon = {
    version,
    nodes,
    plugins,
    stateDir,
    database,
    backup,
    capacity: capacityOf(s.capacity),
    probe: { path: probePath, expectStatus: statuses(s.probe?.expectStatus ?? []) },
    timeouts: {
      quitSeconds: positiveInt("timeouts.quitSeconds", s.timeouts?.quitSeconds ?? 10, 3600),
      startSeconds: positiveInt("timeouts.startSeconds", s.timeouts?.startSeconds ?? 60, 3600),
      dbTimeoutSeconds: positiveInt(
        "timeouts.dbTimeoutSeconds",
        s.timeouts?.dbTimeoutSeconds ?? 60,
        86400,
      ),
      lockTimeoutSeconds: positiveInt(
        "timeouts.lockTimeoutSeconds",
        s.timeouts?.lockTimeoutSeconds ?? 60,
        86400,
      ),
      backupSeconds: positiveInt(
        "timeouts.backupSeconds",
        s.timeouts?.backupSeconds ?? 3600,
        604800,
      ),
      stepSeconds: stepLimits(s.timeouts?.stepSeconds ?? {}),
    },
    maintenanceWindows: s.maintenanceWindows ?? [],
    automaticRollback: s.automaticRollback ?? true,
    strategy: resolveStrategy(s.strategy, nodes),
    allowMixedVersions: s.allowMixedVersions ?? false,
  };
  switch (runtime) {
    case "hosts":
      return { ...common, runtime, hosts: hosts! };
    case "docker":
      return {
        ...common,
        runtime,
        docker: dockerDefaults(s.docker ?? {}, nodes, database.host, cluster),
      };
    default:
      return { ...common, runtime: "local", local };
  }
}

/** Loopback names: a database there shares this machine's ports with the local runtime's nodes. */
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "0.0.0.0"]);

/**
 * The local runtime's listeners (node i: basePort+10i proxy, +1 admin, +2 status) must not
 * overlap the port of a database on this machine: Kong would fail to bind after the old nodes
 * stopped.
 */
function assertPortsApart(basePort: number, nodes: number, db: Required<DatabaseArgs>): void {
  if (!LOOPBACK.has(db.host)) {
    return;
  }
  for (let i = 0; i < nodes; i++) {
    for (const [offset, role] of [
      [0, "proxy"],
      [1, "admin"],
      [2, "status"],
    ] as const) {
      if (basePort + 10 * i + offset === db.port) {
        fail(
          "local.basePort",
          basePort,
          `puts node-${i}'s ${role} listener on port ${db.port}, which kong-gateway:database.port uses on this machine`,
          `move one of them, e.g. 'pulumi config set --path kong-gateway:local.basePort ${db.port + 100}'`,
        );
      }
    }
  }
}

/**
 * Why `kong-gateway:sshPrivateKey` cannot be the key that logs in to the hosts, or undefined: it
 * must be one unencrypted private key in OpenSSH or PEM form (the runner cannot answer a
 * passphrase prompt). The key itself is never quoted: the message says so.
 */
export function sshKeyProblem(key: string): string | undefined {
  const text = key.trim();
  const m =
    /^-----BEGIN ((?:OPENSSH|RSA|EC|DSA) )?PRIVATE KEY-----\n([A-Za-z0-9+/=\s:,-]+)\n-----END \1?PRIVATE KEY-----$/.exec(
      text,
    );
  const fix =
    "store an unencrypted private key (OpenSSH or PEM) as a secret: pulumi config set --secret kong-gateway:sshPrivateKey < ~/.ssh/kong_ed25519";
  if (!m) {
    return `kong-gateway:sshPrivateKey (a secret, not shown) is not a private key: it lacks the -----BEGIN … PRIVATE KEY----- / -----END … PRIVATE KEY----- lines around base64 text; ${fix}`;
  }
  if (
    /ENCRYPTED/.test(m[2]!) ||
    /bcrypt/.test(Buffer.from(m[2]!.replace(/\s/g, ""), "base64").toString("latin1").slice(0, 64))
  ) {
    return `kong-gateway:sshPrivateKey (a secret, not shown) is protected by a passphrase, which the runner cannot type; ${fix}`;
  }
  return undefined;
}

/** The `database` settings with their defaults (also read by the program's database check). */
export function resolveDatabase(d: DatabaseArgs | undefined): Required<DatabaseArgs> {
  const mode = d?.mode ?? "local";
  if (mode !== "local" && mode !== "existing" && mode !== "managed") {
    fail("database.mode", mode, "is not a database mode", 'use "local", "existing" or "managed"');
  }
  return {
    mode,
    host: d?.host ?? "127.0.0.1",
    port: positiveInt("database.port", d?.port ?? (mode === "local" ? 15432 : 5432)),
    database: d?.database ?? "kong",
    user: d?.user ?? "kong",
    schema: d?.schema ?? "",
    ssl: d?.ssl ?? false,
    adminUser: d?.adminUser ?? "postgres",
  };
}

/**
 * The configured strategy, refused when unknown or when `rolling` has a single node to roll
 * (replacing it would be an outage, which `rolling` promises not to have). Whether the hop allows
 * `rolling` is the planner's (components/plan/plan.ts), which knows the deployed version.
 */
function resolveStrategy(value: string | undefined, nodes: number): Strategy {
  const strategy = value ?? "in-place";
  if (!(STRATEGIES as readonly string[]).includes(strategy)) {
    fail(
      "strategy",
      strategy,
      "is not an upgrade strategy",
      `use ${STRATEGIES.map((x) => `"${x}"`).join(", ")}: pulumi config set kong-gateway:strategy prepared`,
    );
  }
  if (strategy === "rolling" && nodes < 2) {
    fail(
      "strategy",
      strategy,
      `needs 2 or more nodes to replace one at a time, but kong-gateway:nodes is ${nodes}`,
      "set kong-gateway:nodes to 2 or more, or use kong-gateway:strategy prepared (down only while the node stops and starts)",
    );
  }
  return strategy as Strategy;
}

/**
 * The configured version as every name, output and runner sees it: a bare Kong version, `X.Y.Z`
 * or Enterprise `X.Y.Z.N` (surrounding spaces dropped). Anything else is refused with the
 * canonical form when one can be read from it: an image reference (`kong:3.6.1`; the repository
 * is `docker.image`), a `v` prefix, a missing patch part, a pre-release, a tag such as `latest`.
 */
export function canonicalVersion(value: unknown): string {
  const text = typeof value === "string" ? value.trim() : "";
  if (/^\d+\.\d+\.\d+(\.\d+)?$/.test(text)) {
    return text;
  }
  const example = "set it with 'pulumi config set kong-gateway:version 3.6.1'";
  if (text === "") {
    return fail("version", value ?? "", "is missing", example);
  }
  const image = /^(?:[a-z0-9._/-]+:)(v?\d+\.\d+\.\d+(?:\.\d+)?)$/.exec(text);
  if (image) {
    return fail(
      "version",
      value,
      "is an image reference, not a Kong version",
      `set "${image[1]!.replace(/^v/, "")}" (the image repository is kong-gateway:docker.image)`,
    );
  }
  const prefixed = /^v(\d+\.\d+\.\d+(?:\.\d+)?)$/i.exec(text);
  if (prefixed) {
    return fail("version", value, "has a v prefix", `set "${prefixed[1]}"`);
  }
  if (/^\d+\.\d+$/.test(text)) {
    return fail(
      "version",
      value,
      "lacks the patch part",
      `name the exact release, e.g. "${text}.0"`,
    );
  }
  return fail(
    "version",
    value,
    "is not a Kong version (X.Y.Z, or X.Y.Z.N for Enterprise; no pre-releases or tags such as latest)",
    example,
  );
}

function capacityOf(c: CapacityArgs | undefined): ResolvedConfig["capacity"] {
  for (const key of ["cpus", "memoryMb"] as const) {
    const v = c?.[key];
    if (v !== undefined && (typeof v !== "number" || !(v > 0))) {
      fail(
        `capacity.${key}`,
        v,
        "is not a positive number",
        `set it with 'pulumi config set --path kong-gateway:capacity.${key} <n>', or remove it`,
      );
    }
  }
  return { ...c, allowSmallerCluster: c?.allowSmallerCluster ?? false };
}

function statuses(list: readonly number[]): number[] {
  if (!Array.isArray(list)) {
    fail("probe.expectStatus", list, "is not a list of HTTP statuses", "use e.g. [200, 404]");
  }
  for (const code of list) {
    if (!Number.isInteger(code) || code < 100 || code > 599) {
      fail("probe.expectStatus", code, "is not an HTTP status (100 to 599)", "use e.g. [200, 404]");
    }
  }
  return [...list];
}

/** Steps `timeouts.stepSeconds` may name (components/runner/infra/limits.ts has the defaults). */
const LIMITED = new Set<string>(LIMITED_STEPS);

function stepLimits(v: Record<string, number>): Record<string, number> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    fail(
      "timeouts.stepSeconds",
      v,
      "is not an object of step → seconds",
      'use e.g. {"backup": 7200}',
    );
  }
  for (const [step, seconds] of Object.entries(v)) {
    if (!LIMITED.has(step)) {
      fail(
        `timeouts.stepSeconds.${step}`,
        seconds,
        "names no step",
        `use one of ${[...LIMITED].join(", ")}`,
      );
    }
    positiveInt(`timeouts.stepSeconds.${step}`, seconds, 604800);
  }
  return { ...v };
}

/**
 * Refuses a directory the stack must create files in (node state, backups) when it cannot: a
 * kernel file system (/proc, /sys, /dev, where a recursive mkdir never ends), a file in the way,
 * or a nearest existing directory this process cannot write. Checked in preview, before anything.
 */
function checkDirectory(setting: string, dir: string): void {
  if (/^\/(proc|sys|dev)(\/|$)/.test(dir)) {
    fail(
      setting,
      dir,
      "is on a kernel file system that cannot hold files",
      "use a directory on a disk, e.g. /var/backups/kong",
    );
  }
  let p = dir;
  while (!existsSync(p)) {
    p = dirname(p);
  }
  if (!statSync(p).isDirectory()) {
    fail(setting, dir, `cannot be created: ${p} is a file`, "use a directory path");
  }
  try {
    accessSync(p, constants.W_OK | constants.X_OK);
  } catch {
    fail(
      setting,
      dir,
      `cannot be written: ${p} is not writable by this user`,
      "use a directory this user can write, or fix its permissions",
    );
  }
}

function hostsDefaults(
  h: HostsRuntimeArgs,
  nodes: number,
  stateDir: string,
  abs: (p: string) => string,
): Required<HostsRuntimeArgs> {
  const addresses = (h.addresses ?? []).map((a) => String(a).trim());
  if (addresses.length === 0) {
    fail(
      "hosts.addresses",
      h.addresses ?? [],
      "is empty, but runtime is hosts",
      "list the machines, e.g. 'pulumi config set --path kong-gateway:hosts.addresses[0] 10.0.0.11'",
    );
  }
  for (const a of addresses) {
    if (!/^[A-Za-z0-9.:_-]+$/.test(a) || a.startsWith("-")) {
      fail(
        "hosts.addresses",
        a,
        "is not a host name or IP address",
        "use e.g. 10.0.0.11 or kong-1.internal",
      );
    }
  }
  if (new Set(addresses).size !== addresses.length) {
    fail("hosts.addresses", addresses, "lists a host twice", "each node needs its own host");
  }
  if (nodes > addresses.length) {
    fail(
      "nodes",
      nodes,
      `is more than the ${addresses.length} host(s) in kong-gateway:hosts.addresses (each node runs on its own host)`,
      "add hosts or lower kong-gateway:nodes",
    );
  }
  const migrationHost = h.migrationHost ?? addresses[0]!;
  if (!addresses.slice(0, nodes).includes(migrationHost)) {
    fail(
      "hosts.migrationHost",
      migrationHost,
      "is not one of the hosts that run a node (the first kong-gateway:nodes of hosts.addresses)",
      "name one of them: only they get the target version installed",
    );
  }
  const user = h.user ?? "kong";
  if (!/^[a-z_][a-z0-9_.-]*$/i.test(user)) {
    fail("hosts.user", user, "is not a user name", 'use e.g. "kong"');
  }
  if (Boolean(h.startCommand) !== Boolean(h.stopCommand)) {
    fail(
      h.startCommand ? "hosts.stopCommand" : "hosts.startCommand",
      h.startCommand ? (h.stopCommand ?? "") : (h.startCommand ?? ""),
      "is empty while the other one is set (nodes started by a service manager must be stopped by it)",
      'set both, e.g. "sudo systemctl start kong-gateway@{id}" and "sudo systemctl stop kong-gateway@{id}"',
    );
  }
  const prefix = h.prefix ?? "/var/lib/kong-gateway";
  if (!prefix.startsWith("/")) {
    fail("hosts.prefix", prefix, "is not an absolute path", 'use e.g. "/var/lib/kong-gateway"');
  }
  return {
    addresses,
    user,
    port: positiveInt("hosts.port", h.port ?? 22),
    bastion: h.bastion ?? "",
    knownHosts: abs(h.knownHosts ?? `${stateDir}/known_hosts`),
    install: h.install ?? "sudo apt-get install -y --allow-downgrades kong={version}",
    kongBinary: h.kongBinary ?? "/usr/local/bin/kong",
    prefix,
    listenAddress: h.listenAddress ?? "0.0.0.0",
    adminAddress: h.adminAddress ?? "{host}",
    proxyPort: positiveInt("hosts.proxyPort", h.proxyPort ?? 8000),
    adminPort: positiveInt("hosts.adminPort", h.adminPort ?? 8001),
    statusPort: positiveInt("hosts.statusPort", h.statusPort ?? 8100),
    migrationHost,
    startCommand: h.startCommand ?? "",
    stopCommand: h.stopCommand ?? "",
  };
}

function dockerDefaults(
  d: DockerRuntimeArgs,
  nodes: number,
  databaseHost: string,
  cluster: string,
): ResolvedDockerRuntime {
  const image = d.image ?? "kong";
  if (!/^[a-z0-9][a-z0-9._/:-]*$/.test(image) || (image.split("/").at(-1) ?? "").includes(":")) {
    fail(
      "docker.image",
      image,
      "is not an image repository without a tag (the tag is the version)",
      'use e.g. "kong" or "kong/kong-gateway"',
    );
  }
  const pgClient = d.pgClient ?? "auto";
  if (pgClient !== "auto" && pgClient !== "local" && pgClient !== "docker") {
    fail("docker.pgClient", pgClient, "is not a client mode", 'use "auto", "local" or "docker"');
  }
  const host = d.host ?? "";
  if (host && !/^(unix|tcp|ssh|npipe):\/\//.test(host)) {
    fail(
      "docker.host",
      host,
      "is not a Docker engine address",
      "use unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host",
    );
  }
  return {
    image,
    network: d.network || `${cluster}-net`,
    createNetwork: !d.network,
    host,
    publishAddress: d.publishAddress ?? "127.0.0.1",
    basePort: positiveInt("docker.basePort", d.basePort ?? 8000, 65535 - 10 * nodes),
    databaseHost: d.databaseHost ?? databaseHost,
    pgClient,
    pgClientImage: d.pgClientImage ?? "postgres:{major}",
  };
}

/**
 * Every `kong-gateway:` setting and, for object settings, their keys (Pulumi.yaml declares the
 * same; test/stacks checks they agree). A key outside these is refused: a misspelt setting must
 * not be silently ignored.
 */
export const SETTING_KEYS: Readonly<Record<string, readonly string[] | null>> = {
  version: null,
  nodes: null,
  runtime: null,
  plugins: null,
  dbPassword: null,
  dbAdminPassword: null,
  database: ["mode", "host", "port", "database", "user", "schema", "ssl", "adminUser"],
  backup: ["dir", "verify", "retention", "minFreeMb", "store", "command", "host", "hostDir"],
  maintenanceWindow: null,
  automaticRollback: null,
  strategy: null,
  allowMixedVersions: null,
  stateDir: null,
  local: ["kongBinary", "install", "basePort", "adminAddress"],
  hosts: [
    "addresses",
    "user",
    "port",
    "bastion",
    "knownHosts",
    "install",
    "kongBinary",
    "prefix",
    "listenAddress",
    "adminAddress",
    "proxyPort",
    "adminPort",
    "statusPort",
    "migrationHost",
    "startCommand",
    "stopCommand",
  ],
  sshPrivateKey: null,
  docker: [
    "image",
    "network",
    "host",
    "publishAddress",
    "basePort",
    "databaseHost",
    "pgClient",
    "pgClientImage",
  ],
  capacity: ["cpus", "memoryMb", "allowSmallerCluster"],
  probe: ["path", "expectStatus"],
  timeouts: [
    "quitSeconds",
    "startSeconds",
    "dbTimeoutSeconds",
    "lockTimeoutSeconds",
    "backupSeconds",
    "stepSeconds",
  ],
};

/**
 * The refusal of every `kong-gateway:` key (and object key) that is not a setting, with the
 * nearest known name. `config` is the stack's whole configuration, keys with their namespace.
 */
export function unknownSettings(config: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [full, raw] of Object.entries(config)) {
    if (!full.startsWith("kong-gateway:")) {
      continue;
    }
    const key = full.slice("kong-gateway:".length);
    if (!(key in SETTING_KEYS)) {
      out.push(
        `kong-gateway:${key} is not a setting of this project${hint(key, Object.keys(SETTING_KEYS), "kong-gateway:")}; remove it with 'pulumi config rm kong-gateway:${key}'`,
      );
      continue;
    }
    const sub = SETTING_KEYS[key];
    if (!sub) {
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      continue; // not an object: the setting's own validation says what is wrong
    }
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const k of Object.keys(value)) {
        if (!sub.includes(k)) {
          out.push(
            `kong-gateway:${key}.${k} is not a setting of this project${hint(k, sub, `kong-gateway:${key}.`)} (kong-gateway:${key} takes ${sub.join(", ")}); remove it with 'pulumi config rm --path kong-gateway:${key}.${k}'`,
          );
        }
      }
    }
  }
  return out;
}

function hint(key: string, known: readonly string[], prefix: string): string {
  const near = known
    .map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  return near && near.d <= 3 ? ` (did you mean ${prefix}${near.k}?)` : "";
}

/** Levenshtein distance (small strings). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * `backup.store` and what it needs: for `command`, its four templates, each with the placeholders
 * it needs; for `host`, a host of the `hosts` runtime and an absolute directory there.
 */
function backupStore(
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
