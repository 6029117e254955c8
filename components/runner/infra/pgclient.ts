/**
 * Where pg_dump, pg_restore and psql run. A client older than the server cannot dump it, and a
 * docker-runtime machine often has no (or an old) PostgreSQL client; there the client runs in a
 * one-shot `postgres:<server major>` container instead, on the nodes' network, with the backup
 * directory bind-mounted at the same path so file arguments mean the same inside and out.
 * Other runtimes always use this machine's client, exactly as before.
 */
import {
  globalFlags,
  imageInspectArgs,
  pgClientImageFor,
  pgRunCommand,
  pullArgs,
} from "../runtimes/dockerArgv";
import { databaseFacts } from "./db";
import { docker, dockerSpecOf } from "../runtimes/docker";
import { execFile, tail } from "./exec";
import { StepSpec } from "../../contract/spec";

/** A PostgreSQL client program. */
export type PgTool = "pg_dump" | "pg_restore" | "psql";

/** What {@link pgCommand} needs of the step spec. */
export type PgClientSpec = Pick<StepSpec, "runtime" | "cluster" | "database" | "backup">;

/**
 * The program to execute (with the caller's libpq environment) and how it runs: the tool itself,
 * or (`via` docker) `sh -c` running the tool's container and removing it after.
 */
export interface PgCommand {
  readonly file: string;
  readonly args: string[];
  readonly via: "local" | "docker";
  /** The client image, when `via` is `docker`. */
  readonly image?: string;
}

/** Containers this process ran, for unique names. */
let runs = 0;

/** A client program's version: its major, `15.18`, and the whole `--version` line. */
export interface ClientVersion {
  readonly major: number;
  readonly version: string;
  readonly text: string;
}

const localVersions = new Map<string, Promise<ClientVersion>>();

/** This machine's client version (`0` when the program is missing); asked once per PATH. */
export function localClient(tool: PgTool): Promise<ClientVersion> {
  const key = `${tool}\0${process.env.PATH ?? ""}`;
  let v = localVersions.get(key);
  if (!v) {
    v = execFile(tool, ["--version"], { timeoutSeconds: 30 }).then((r) => {
      const m = /(\d+)(\.\d+)?/.exec(r.code === 0 ? r.stdout : "");
      return {
        major: m ? Number(m[1]) : 0,
        version: m ? m[0] : "",
        text: r.stdout.trim() || r.stderr.trim(),
      };
    });
    localVersions.set(key, v);
  }
  return v;
}

/** The server's major version (`160004` → 16). */
async function serverMajorOf(spec: PgClientSpec): Promise<number> {
  return Math.floor((await databaseFacts(spec.database)).serverVersionNum / 10000);
}

/**
 * Where the client runs: always local off docker; on docker `pgClient` decides, `auto` being
 * local when this machine's client is at least the server's major.
 */
async function decide(
  spec: PgClientSpec,
  tool: PgTool,
  serverMajor: () => Promise<number>,
): Promise<"local" | "docker"> {
  const rt = spec.runtime;
  if (rt?.kind !== "docker" || rt.pgClient === "local") {
    return "local";
  }
  if (rt.pgClient === "docker") {
    return "docker";
  }
  return (await localClient(tool)).major >= (await serverMajor()) ? "local" : "docker";
}

/** Whether the docker engine shares this machine's filesystem (bind mounts need that). */
export function engineIsLocal(dockerHost: string): boolean {
  const h = dockerHost || process.env.DOCKER_HOST || "";
  return (
    h === "" || /^(unix|npipe):\/\//.test(h) || /^tcp:\/\/(localhost|127\.0\.0\.1)[:/]?/.test(h)
  );
}

/**
 * How to run `tool args`. The caller executes `file args` with its usual libpq environment
 * (`PGPASSWORD` …), which the container receives by name. In a container the database is
 * `databaseHost` (the `-h` argument is rewritten); the backup directory and `mounts` are
 * bind-mounted at the same path. `serverMajor` saves a query when the caller knows it.
 */
export async function pgCommand(
  spec: PgClientSpec,
  tool: PgTool,
  args: string[],
  serverMajor?: number,
  mounts: readonly string[] = [],
): Promise<PgCommand> {
  let major = serverMajor;
  const server = async () => (major ??= await serverMajorOf(spec));
  if ((await decide(spec, tool, server)) === "local") {
    return { file: tool, args, via: "local" };
  }
  const rt = dockerSpecOf(spec);
  const inner = args.map((a, i) => (i > 0 && args[i - 1] === "-h" ? rt.databaseHost : a));
  const image = pgClientImageFor(rt.pgClientImage, await server());
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const { file, args: argv } = pgRunCommand({
    dockerHost: rt.dockerHost,
    cluster: spec.cluster,
    network: rt.network,
    image,
    tool,
    args: inner,
    mounts: [spec.backup.dir, ...mounts],
    user: uid !== undefined && gid !== undefined ? `${uid}:${gid}` : undefined,
    name: `${spec.cluster}-${tool.replace("_", "-")}-${process.pid}-${++runs}`,
  });
  return { file, args: argv, via: "docker", image };
}

/**
 * Preflight's word on the client: which one backups will use and why, or the problem that
 * stops the change (a local client older than the server off docker; an image docker cannot
 * pull; a remote docker engine that cannot see the backup directory).
 */
export async function pgClientCheck(
  spec: PgClientSpec,
  serverMajor: number,
): Promise<{ text: string; via: "local" | "docker"; problem?: string }> {
  const local = await localClient("pg_dump");
  const via = await decide(spec, "pg_dump", () => Promise.resolve(serverMajor));
  if (via === "local") {
    if (local.major >= serverMajor) {
      return {
        text: `local pg_dump ${local.version} is new enough for the PostgreSQL ${serverMajor} server`,
        via,
      };
    }
    return {
      text: `local pg_dump ${local.version || "(missing)"} is older than the PostgreSQL ${serverMajor} server`,
      via,
      problem: `pg_dump ${local.major} cannot back up a PostgreSQL ${serverMajor} server; install postgresql-client-${serverMajor}`,
    };
  }
  const rt = dockerSpecOf(spec);
  const image = pgClientImageFor(rt.pgClientImage, serverMajor);
  const why =
    rt.pgClient === "docker"
      ? `pg client forced to docker (kong-gateway:docker.pgClient)`
      : local.major === 0
        ? `no local pg_dump`
        : `local pg_dump ${local.version} is older than the PostgreSQL ${serverMajor} server`;
  const text = `${why}: using ${image} containers`;
  if (!engineIsLocal(rt.dockerHost)) {
    return {
      text,
      via,
      problem: `the pg client would run in a container on the docker engine ${rt.dockerHost || process.env.DOCKER_HOST}, which cannot see the backup directory ${spec.backup.dir} of this machine; install postgresql-client-${serverMajor} here or set kong-gateway:docker.pgClient to "local"`,
    };
  }
  if ((await docker(imageInspectArgs(rt.dockerHost, image))).code !== 0) {
    const pull = await docker(pullArgs(rt.dockerHost, image), 900);
    if (pull.code !== 0) {
      return {
        text,
        via,
        problem: `cannot pull ${image} (docker ${[...globalFlags(rt.dockerHost), "pull", image].join(" ")}: ${tail(pull.stderr, 2)}); check kong-gateway:docker.pgClientImage or install postgresql-client-${serverMajor} here`,
      };
    }
  }
  return { text, via };
}
