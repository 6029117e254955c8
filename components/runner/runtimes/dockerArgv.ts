/**
 * The exact `docker` command lines of the docker runtime, and the names, labels and settings a
 * node container carries. Pure: no I/O, so every command line is checked by table-driven tests
 * (no Docker engine needed) and the component and the runner cannot drift apart — both build
 * labels, ports and `KONG_*` settings here.
 *
 * Secrets never appear here, nor in any container's configuration (`docker inspect`): node
 * containers read the password from a file (`KONG_PG_PASSWORD_FILE`); one-shot containers read it
 * as the first line of their stdin (`docker run -i`, see {@link readSecretThenExec}), so neither a
 * command line (visible in `ps`), the docker client's environment nor the container's holds it.
 */
import type { NodeRecord } from "../../state/nodes";

/** The container labels every node carries; discovery reads a node's record back from them. */
export const LABELS = {
  cluster: "kong-gateway.cluster",
  id: "kong-gateway.id",
  version: "kong-gateway.version",
  generation: "kong-gateway.generation",
  statusUrl: "kong-gateway.status-url",
  adminUrl: "kong-gateway.admin-url",
  proxyUrl: "kong-gateway.proxy-url",
  /** On one-shot containers (never on nodes): what the container runs, for `docker ps`. */
  job: "kong-gateway.job",
} as const;

/** Listeners inside a node container: fixed, so host ports are the only per-node difference. */
export const CONTAINER_PORTS = { proxy: 8000, admin: 8001, status: 8100 } as const;

/** Where the node container finds the database password (Kong's entrypoint reads `<VAR>_FILE`). */
export const PASSWORD_FILE = "/run/secrets/kong_pg_password";

/** The configuration file every Kong package installs; `kong check` needs a file to read. */
export const KONG_CONF_DEFAULT = "/etc/kong/kong.conf.default";

/**
 * Makes `host.docker.internal` resolve to the docker host on Linux too (Docker Desktop has it
 * built in), so `databaseHost: host.docker.internal` reaches a PostgreSQL on the docker host.
 */
export const HOST_GATEWAY = { host: "host.docker.internal", ip: "host-gateway" } as const;

/** Environment variables image builds set themselves; they are not node settings. */
const IMAGE_ENV = new Set(["KONG_VERSION", "KONG_PREFIX", "KONG_NGINX_DAEMON"]);

/** Global flags: `--host` only when the stack names an engine (else `DOCKER_HOST`/the context). */
export function globalFlags(dockerHost: string): string[] {
  return dockerHost ? ["--host", dockerHost] : [];
}

/** A version's image: `<image>:<version>` (`kong:3.6.1`, `kong/kong-gateway:3.4.3.12`). */
export function imageRef(image: string, version: string): string {
  return `${image}:${version}`;
}

/** The pg client image for a server major: `postgres:{major}` → `postgres:16`. */
export function pgClientImageFor(template: string, serverMajor: number): string {
  return template.split("{major}").join(String(serverMajor));
}

/** Host ports of node `index`: proxy basePort+10i, admin +1, status +2 (as the node URLs say). */
export function hostPorts(
  basePort: number,
  index: number,
): { proxy: number; admin: number; status: number } {
  const base = basePort + 10 * index;
  return { proxy: base, admin: base + 1, status: base + 2 };
}

/** The index of a node from its stable id (`node-3` → 3). */
export function nodeIndex(id: string): number {
  const m = /(\d+)$/.exec(id);
  if (!m) {
    throw new Error(`node id "${id}" does not end in a number; expected node-<n>`);
  }
  return Number(m[1]);
}

/** `KONG_PG_HOST` as containers see the database (it may differ from the runner's view). */
export function withDatabaseHost(
  settings: Record<string, string>,
  databaseHost: string,
): Record<string, string> {
  return { ...settings, KONG_PG_HOST: databaseHost };
}

/**
 * A node's `KONG_*` settings inside its container: the database as containers see it and the
 * fixed container-side listeners (host ports are published onto these).
 */
export function containerSettings(
  settings: Record<string, string>,
  databaseHost: string,
): Record<string, string> {
  return {
    ...withDatabaseHost(settings, databaseHost),
    KONG_PROXY_LISTEN: `0.0.0.0:${CONTAINER_PORTS.proxy}`,
    KONG_ADMIN_LISTEN: `0.0.0.0:${CONTAINER_PORTS.admin}`,
    KONG_STATUS_LISTEN: `0.0.0.0:${CONTAINER_PORTS.status}`,
  };
}

/** What a node container's labels record (the non-secret part of its {@link NodeRecord}). */
export interface NodeLabelValues {
  readonly cluster: string;
  readonly id: string;
  readonly version: string;
  readonly generation: number;
  readonly statusUrl: string;
  readonly adminUrl: string;
  readonly proxyUrl: string;
}

/** The labels of a node container, in a fixed order. */
export function nodeLabels(n: NodeLabelValues): Record<string, string> {
  return {
    [LABELS.cluster]: n.cluster,
    [LABELS.id]: n.id,
    [LABELS.version]: n.version,
    [LABELS.generation]: String(n.generation),
    [LABELS.statusUrl]: n.statusUrl,
    [LABELS.adminUrl]: n.adminUrl,
    [LABELS.proxyUrl]: n.proxyUrl,
  };
}

/** The part of `docker container inspect` output the runtime reads. */
export interface InspectedContainer {
  readonly Name: string;
  readonly State: {
    readonly Status: string;
    readonly Running: boolean;
    readonly ExitCode: number;
    readonly StartedAt?: string;
  };
  readonly Config: {
    readonly Labels?: Record<string, string> | null;
    readonly Env?: string[] | null;
    readonly StopSignal?: string;
  };
}

/** The `KONG_*` settings of a container's environment, without the password (or its file). */
export function settingsFromEnv(env: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env) {
    const eq = entry.indexOf("=");
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key.startsWith("KONG_") && !key.startsWith("KONG_PG_PASSWORD") && !IMAGE_ENV.has(key)) {
      out[key] = eq < 0 ? "" : entry.slice(eq + 1);
    }
  }
  return out;
}

/** A node record from a container's labels and environment; undefined if it is not a node. */
export function recordFromContainer(c: InspectedContainer): NodeRecord | undefined {
  const l = c.Config.Labels ?? {};
  const cluster = l[LABELS.cluster];
  const id = l[LABELS.id];
  const version = l[LABELS.version];
  if (!cluster || !id || !version) {
    return undefined;
  }
  const name = c.Name.replace(/^\//, "");
  return {
    cluster,
    id,
    version,
    generation: Number(l[LABELS.generation] ?? 0),
    kongBin: "kong",
    prefix: `docker:${name}`,
    container: name,
    statusUrl: l[LABELS.statusUrl] ?? "",
    adminUrl: l[LABELS.adminUrl] ?? "",
    proxyUrl: l[LABELS.proxyUrl] ?? "",
    settings: settingsFromEnv(c.Config.Env ?? []),
  };
}

/**
 * The `sh -c` script a one-shot container runs instead of `<program> <args>`: it reads the first
 * line of stdin into `name`, exports it, and execs the program (`$0`) with the arguments, so the
 * secret lives only in that program's own environment. Images run it through their entrypoint
 * (Kong's and postgres's exec any command that is not theirs).
 */
export function readSecretThenExec(name: string): string {
  return `IFS= read -r ${name} && export ${name} && exec "$0" "$@"`;
}

/** `-e KEY=VALUE` pairs of non-secret settings, then `-e NAME` for each forwarded setting. */
function envFlags(settings: Record<string, string>, forwarded: readonly string[]): string[] {
  return [
    ...Object.entries(settings).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
    ...forwarded.flatMap((k) => ["-e", k]),
  ];
}

/** The command words of a Kong CLI call (`migrations up --db-timeout 60` → `migrations-up`). */
export function jobName(args: readonly string[]): string {
  const words: string[] = [];
  for (const a of args) {
    if (!/^[a-z][a-z_-]*$/.test(a) || words.length === 2) {
      break;
    }
    words.push(a);
  }
  return words.join("-") || "kong";
}

/** The name of a one-shot Kong container: one per command and version, so two cannot overlap. */
export function oneShotName(cluster: string, args: readonly string[], version: string): string {
  return `${cluster}-kong-${jobName(args)}-${version}`;
}

/** What a one-shot Kong container runs. */
export interface KongRun {
  readonly dockerHost: string;
  readonly cluster: string;
  readonly image: string;
  readonly version: string;
  /** The network to join; empty: the default bridge (for commands that need no database). */
  readonly network: string;
  /** Non-secret `KONG_*` settings (the password comes on stdin). */
  readonly settings: Record<string, string>;
  /** `kong` arguments. */
  readonly args: readonly string[];
}

/**
 * `docker run` of `kong <args>` in the version's image — how Kong's own docs run migrations
 * (KONG.md §3). Named, so a second run of the same command fails on docker's name conflict
 * instead of racing the first, and the runner removes it by name once it ended.
 *
 * Not `--rm`: the exit code is how the runner knows a migration failed, and with `--rm` the
 * docker CLI reports 0 for a failed container on engines that remove it before the client
 * collects the code (podman's Docker API, containers/podman#18889; seen in
 * test/docker/engine.test.ts). Without it every engine reports the container's own code.
 *
 * `-i`: the caller writes the database password as the first line of stdin, and the container
 * runs `sh -c <readSecretThenExec> kong <args>`, so the password is in no `docker inspect`
 * output (Kong's docs pass `-e KONG_PG_PASSWORD=…`, which docker keeps in the container config).
 */
export function kongRunArgs(r: KongRun): string[] {
  const job = jobName(r.args);
  return [
    ...globalFlags(r.dockerHost),
    "run",
    "-i",
    ...(r.network ? ["--network", r.network] : []),
    "--name",
    oneShotName(r.cluster, r.args, r.version),
    "--add-host",
    `${HOST_GATEWAY.host}:${HOST_GATEWAY.ip}`,
    "--label",
    `${LABELS.cluster}=${r.cluster}`,
    "--label",
    `${LABELS.job}=${job}`,
    ...envFlags(r.settings, []),
    imageRef(r.image, r.version),
    "sh",
    "-c",
    readSecretThenExec("KONG_PG_PASSWORD"),
    "kong",
    ...r.args,
  ];
}

/** What a one-shot PostgreSQL client container runs. */
export interface PgRun {
  readonly dockerHost: string;
  readonly cluster: string;
  readonly network: string;
  /** The client image, `{major}` already filled in. */
  readonly image: string;
  readonly tool: "pg_dump" | "pg_restore" | "psql";
  readonly args: readonly string[];
  /** Directories bind-mounted at the same path, so file arguments mean the same inside. */
  readonly mounts: readonly string[];
  /** `uid:gid` the client runs as, so the files it writes belong to the runner's user. */
  readonly user?: string;
  /** Container name, unique per run (the container is removed by it afterwards). */
  readonly name?: string;
}

/**
 * Runs a pg client container and removes it, exiting with the client's own code: `sh -c` around
 * `docker run` (no `--rm`, see {@link kongRunArgs}) and `docker rm -f <name>`. The caller runs
 * `file args` with its libpq environment: `PGSSLMODE` and `PGCONNECT_TIMEOUT` are forwarded by
 * name, `PGPASSWORD` is written to the container's stdin and unset for the docker client.
 */
export function pgRunCommand(r: PgRun & { readonly name: string }): {
  file: string;
  args: string[];
} {
  const script =
    'name=$1; host=$2; shift 2; printf \'%s\\n\' "$PGPASSWORD" | { unset PGPASSWORD; docker "$@"; }; code=$?; docker ${host:+--host "$host"} rm -f "$name" >/dev/null 2>&1; exit $code';
  return { file: "sh", args: ["-c", script, "sh", r.name, r.dockerHost, ...pgRunArgs(r)] };
}

/**
 * `docker run -i --name <name>` of a PostgreSQL client: the password is the first line of stdin
 * (`sh -c <readSecretThenExec> <tool> <args>`); libpq's other settings (`PGSSLMODE`,
 * `PGCONNECT_TIMEOUT`) forwarded by name. Not `--rm`, for the exit code (see
 * {@link kongRunArgs}); {@link pgRunCommand} removes it after.
 */
export function pgRunArgs(r: PgRun): string[] {
  return [
    ...globalFlags(r.dockerHost),
    "run",
    ...(r.name ? ["--name", r.name] : []),
    "-i",
    "--network",
    r.network,
    ...(r.user ? ["--user", r.user] : []),
    "--add-host",
    `${HOST_GATEWAY.host}:${HOST_GATEWAY.ip}`,
    "--label",
    `${LABELS.cluster}=${r.cluster}`,
    "--label",
    `${LABELS.job}=${r.tool}`,
    ...envFlags({}, ["PGSSLMODE", "PGCONNECT_TIMEOUT"]),
    ...[...new Set(r.mounts)].flatMap((d) => ["-v", `${d}:${d}`]),
    r.image,
    "sh",
    "-c",
    readSecretThenExec("PGPASSWORD"),
    r.tool,
    ...r.args,
  ];
}

/**
 * `docker stop --time <quitSeconds>`: docker sends the container's stop signal, waits, then
 * SIGKILLs. Kong images declare `STOPSIGNAL SIGQUIT` (graceful drain, like `kong quit`); a
 * container whose stop signal is something else (a custom image) is told `--signal SIGQUIT`,
 * which older docker clients lack, so the flag is only added when it is needed.
 */
export function stopArgs(
  dockerHost: string,
  name: string,
  quitSeconds: number,
  containerStopSignal?: string,
): string[] {
  const graceful = !containerStopSignal || /^(SIG)?QUIT$|^3$/i.test(containerStopSignal);
  return [
    ...globalFlags(dockerHost),
    "stop",
    ...(graceful ? [] : ["--signal", "SIGQUIT"]),
    "--time",
    String(quitSeconds),
    name,
  ];
}

/** `docker start <name>` (the container keeps the settings it was created with). */
export function startArgs(dockerHost: string, name: string): string[] {
  return [...globalFlags(dockerHost), "start", name];
}

/** `docker kill <name>` (SIGKILL), when a stop did not end the container. */
export function killArgs(dockerHost: string, name: string): string[] {
  return [...globalFlags(dockerHost), "kill", name];
}

/** `docker rm -f <name>`: removes a one-shot once it ended, or after its client was killed. */
export function removeArgs(dockerHost: string, name: string): string[] {
  return [...globalFlags(dockerHost), "rm", "-f", name];
}

/** Ids of the cluster's node containers, running or not (one-shots lack the id label). */
export function listArgs(dockerHost: string, cluster: string): string[] {
  return [
    ...globalFlags(dockerHost),
    "ps",
    "-a",
    "-q",
    "--no-trunc",
    "--filter",
    `label=${LABELS.cluster}=${cluster}`,
    "--filter",
    `label=${LABELS.id}`,
  ];
}

/** `docker container inspect` of containers (JSON array on stdout). */
export function inspectArgs(dockerHost: string, names: readonly string[]): string[] {
  return [...globalFlags(dockerHost), "container", "inspect", ...names];
}

/** The end of a container's output: where Kong's `Error:` line is when a node exits. */
export function logsArgs(dockerHost: string, name: string, lines = 30): string[] {
  return [...globalFlags(dockerHost), "logs", "--tail", String(lines), name];
}

/** Whether the engine has an image (exit 0) — before pulling it. */
export function imageInspectArgs(dockerHost: string, ref: string): string[] {
  return [...globalFlags(dockerHost), "image", "inspect", "--format", "{{.Id}}", ref];
}

/** `docker pull <ref>`. */
export function pullArgs(dockerHost: string, ref: string): string[] {
  return [...globalFlags(dockerHost), "pull", ref];
}

/** Whether a network exists (exit 0). */
export function networkInspectArgs(dockerHost: string, network: string): string[] {
  return [...globalFlags(dockerHost), "network", "inspect", "--format", "{{.Name}}", network];
}

/**
 * The container health check: `GET /status` on the status listener must report the database
 * reachable (KONG.md §3). The official images purge curl after installing Kong and their own
 * `HEALTHCHECK ... kong health` only checks the process, so the request is made with bash's
 * `/dev/tcp` (bash is in every Kong image, alpine included).
 */
export function statusHealthcheckTest(): string[] {
  const req = `GET /status HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n`;
  return [
    "CMD",
    "bash",
    "-c",
    `exec 3<>/dev/tcp/127.0.0.1/${CONTAINER_PORTS.status} && printf '${req}' >&3 && grep -q '"reachable":true' <&3`,
  ];
}
