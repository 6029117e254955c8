/**
 * The shape {@link ResolvedConfig} that withDefaults (config.ts) fills in: every setting with its
 * default, one member per runtime, the backup store as a union. Types only.
 */
import type { Strategy } from "../contract/steps";
import type {
  BackupArgs,
  BackupCommandArgs,
  CapacityArgs,
  DatabaseArgs,
  DockerRuntimeArgs,
  HostsRuntimeArgs,
  LocalRuntimeArgs,
  ProbeArgs,
  TimeoutArgs,
} from "./args";

/** The resolved backup settings: a union on the store. */
export type ResolvedBackup = Required<Omit<BackupArgs, "store" | "command" | "host" | "hostDir">> &
  ResolvedBackupStore;

/** Where backups are kept, with what each store needs. */
export type ResolvedBackupStore =
  | { readonly store: "local" }
  | { readonly store: "command"; readonly command: BackupCommandArgs }
  | { readonly store: "host"; readonly host: string; readonly hostDir: string };

/** The `docker` settings with every default filled in, the network's name included. */
export interface ResolvedDockerRuntime extends Required<DockerRuntimeArgs> {
  /** Whether the stack creates `network` (true when `docker.network` was not set). */
  readonly createNetwork: boolean;
}

/** The settings every runtime shares, with every default filled in. */
export interface ResolvedCommon {
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
