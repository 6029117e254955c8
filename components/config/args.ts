/**
 * The public arguments of a KongGateway's plain settings: one interface per `kong-gateway:` object
 * setting, and {@link PlainSettings}, the whole stack file. Types only, every default documented
 * with `@default`; config.ts resolves them.
 */

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

/**
 * The plain (non-Output) settings of a KongGateway: the `kong-gateway:` keys of a stack file
 * (Pulumi.yaml declares the same, README "Configuration reference" explains each).
 */
export interface PlainSettings {
  /** Kong version the cluster serves: `X.Y.Z`, Enterprise `X.Y.Z.N` (see canonicalVersion, validate.ts). Required. */
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
