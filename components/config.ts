/**
 * The KongGateway's arguments and their defaults, resolved once in {@link withDefaults} into a
 * fully populated shape, and validated before any resource exists. Pure: no Pulumi resources.
 */
import { isAbsolute, resolve } from "node:path";

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

/** Per-node capacity, compared between the deployed and the new cluster. */
export interface CapacityArgs {
  readonly cpus?: number;
  readonly memoryMb?: number;
  /** Let the new cluster be smaller than the deployed one. @default false */
  readonly allowSmallerCluster?: boolean;
}

/** The request `verify` sends through every new node's proxy. */
export interface ProbeArgs {
  /** @default "/" */
  readonly path?: string;
  /** Accepted statuses; empty accepts any non-5xx answer. @default [] */
  readonly expectStatus?: number[];
}

/** Time limits. */
export interface TimeoutArgs {
  /** @default 10 */ readonly quitSeconds?: number;
  /** @default 60 */ readonly startSeconds?: number;
  /** @default 60 */ readonly dbTimeoutSeconds?: number;
  /** @default 60 */ readonly lockTimeoutSeconds?: number;
}

/** Everything `withDefaults` fills in. */
export interface ResolvedConfig {
  readonly version: string;
  readonly nodes: number;
  readonly runtime: "local";
  readonly plugins: string;
  readonly stateDir: string;
  readonly database: Required<DatabaseArgs>;
  readonly backup: Required<BackupArgs>;
  readonly local: Required<LocalRuntimeArgs>;
  readonly capacity: CapacityArgs & { allowSmallerCluster: boolean };
  readonly probe: Required<ProbeArgs>;
  readonly timeouts: Required<TimeoutArgs>;
  readonly maintenanceWindows: string[];
  readonly automaticRollback: boolean;
}

/** The plain (non-Output) settings of a KongGateway. */
export interface PlainSettings {
  readonly version: string;
  readonly nodes?: number;
  readonly runtime?: string;
  readonly plugins?: string[];
  readonly stateDir?: string;
  readonly database?: DatabaseArgs;
  readonly backup?: BackupArgs;
  readonly local?: LocalRuntimeArgs;
  readonly capacity?: CapacityArgs;
  readonly probe?: ProbeArgs;
  readonly timeouts?: TimeoutArgs;
  readonly maintenanceWindows?: string[];
  readonly automaticRollback?: boolean;
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
export function withDefaults(s: PlainSettings, root: string, stack: string): ResolvedConfig {
  if (!s.version || typeof s.version !== "string") {
    fail(
      "version",
      s.version,
      "is missing",
      "set the Kong version to run, e.g. 'pulumi config set kong-gateway:version 3.4.2'",
    );
  }
  const runtime = s.runtime ?? "local";
  if (runtime !== "local") {
    fail(
      "runtime",
      runtime,
      "is not supported by this build",
      'use "local" (the docker and hosts runtimes are tracked in their own issue)',
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
  }
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(root, p));
  const stateDir = abs(s.stateDir ?? `.state/${stack}`);
  const mode = s.database?.mode ?? "local";
  if (mode !== "local" && mode !== "existing" && mode !== "managed") {
    fail("database.mode", mode, "is not a database mode", 'use "local", "existing" or "managed"');
  }
  const database: Required<DatabaseArgs> = {
    mode,
    host: s.database?.host ?? "127.0.0.1",
    port: positiveInt("database.port", s.database?.port ?? (mode === "local" ? 15432 : 5432)),
    database: s.database?.database ?? "kong",
    user: s.database?.user ?? "kong",
    schema: s.database?.schema ?? "",
    ssl: s.database?.ssl ?? false,
    adminUser: s.database?.adminUser ?? "postgres",
  };
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
  const backup: Required<BackupArgs> = {
    dir: abs(s.backup?.dir ?? `${stateDir}/backups`),
    verify,
    retention: positiveInt("backup.retention", s.backup?.retention ?? 5, 1000),
    minFreeMb: s.backup?.minFreeMb ?? 64,
  };
  const local: Required<LocalRuntimeArgs> = {
    kongBinary: s.local?.kongBinary ?? "{stateDir}/kong/{version}/bin/kong",
    install: s.local?.install ?? "",
    basePort: positiveInt("local.basePort", s.local?.basePort ?? 18000, 65535 - 10 * nodes),
    adminAddress: s.local?.adminAddress ?? "127.0.0.1",
  };
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
  return {
    version: s.version,
    nodes,
    runtime: "local",
    plugins: plugins.join(","),
    stateDir,
    database,
    backup,
    local,
    capacity: { ...s.capacity, allowSmallerCluster: s.capacity?.allowSmallerCluster ?? false },
    probe: { path: probePath, expectStatus: s.probe?.expectStatus ?? [] },
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
    },
    maintenanceWindows: s.maintenanceWindows ?? [],
    automaticRollback: s.automaticRollback ?? true,
  };
}

/** Substitutes `{name}` placeholders. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);
}
