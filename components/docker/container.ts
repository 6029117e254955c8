/**
 * What one Kong node container IS: name, image, environment, labels, published ports, the
 * password file, stop behaviour, health check. Pure, and the single source of those settings:
 * DockerCluster turns it into a `docker.Container` resource, and the real-engine test
 * (test/docker/engine.test.ts) into `docker create` + `docker cp`, so what the test runs is what
 * the component creates.
 */
import { nodeSettings } from "../runner/infra/kong";
import { NodeSpec, StepSpec } from "../contract/spec";
import {
  CONTAINER_PORTS,
  containerSettings,
  HOST_GATEWAY,
  imageRef,
  nodeLabels,
  PASSWORD_FILE,
  statusHealthcheckTest,
} from "../runner/runtimes/dockerArgv";

/**
 * What a node container needs beyond the spec: the host address its ports are published on
 * (`docker.publishAddress`; the spec's URLs may name another, e.g. 127.0.0.1 for 0.0.0.0).
 */
export interface ContainerSettings {
  readonly publishAddress: string;
}

/**
 * Seconds between two health checks of a node container (`GET /status`): they only inform
 * `docker ps` and operators; readiness for the upgrade is the runner's `/status/ready` probe.
 */
export const HEALTHCHECK_INTERVAL_SECONDS = 5;

/** One published port: container port `internal` on host address `ip`, port `external`. */
export interface PortMapping {
  readonly internal: number;
  readonly external: number;
  readonly ip: string;
}

/** A node container's settings; everything but the password's value. */
export interface NodeContainer {
  /** `<cluster>-<version>-<id>` unless the spec names the container. */
  readonly name: string;
  /** `<image>:<version>`. */
  readonly image: string;
  /** `KONG_*` settings, `KONG_PG_PASSWORD_FILE` and the log targets; never the password. */
  readonly env: Record<string, string>;
  /** What discovery reads a node's record back from (argv.ts `LABELS`). */
  readonly labels: Record<string, string>;
  /** Proxy, Admin API, status, in that order. */
  readonly ports: readonly PortMapping[];
  /**
   * Where the password is uploaded (the value is the caller's secret): owned by root and group 0,
   * readable by the group only. Kong's images run as a user of group 0's convention (their
   * files are `kong:0`, for arbitrary uids); the container adds group 0 ({@link groupAdd}), so
   * Kong reads it and no other user in the container does.
   */
  readonly passwordFile: {
    readonly path: string;
    readonly permissions: "0440";
    readonly owner: "0";
    readonly group: "0";
  };
  /** Supplementary groups of the container's user: group 0, which may read the password file. */
  readonly groupAdd: readonly string[];
  /** Extra `/etc/hosts` entries (`host-gateway`: the engine's host address). */
  readonly hosts: readonly { readonly host: string; readonly ip: string }[];
  /** The docker network the node joins. */
  readonly network: string;
  readonly healthcheck: {
    readonly test: readonly string[];
    readonly intervalSeconds: number;
    readonly timeoutSeconds: number;
    readonly retries: number;
    readonly startPeriodSeconds: number;
  };
  /** Kong images stop with SIGQUIT (graceful drain, like `kong quit`). */
  readonly stopSignal: "SIGQUIT";
  /** Seconds docker waits after the stop signal before SIGKILL (`timeouts.quitSeconds`). */
  readonly stopTimeoutSeconds: number;
  /**
   * Never "always"/"unless-stopped": the daemon would bring back a node the runner stopped
   * (after a daemon restart, or a crash), and X must never run again after `migrations finish`
   * (KONG.md §3). Which version runs is the runner's decision alone.
   */
  readonly restart: "no";
}

/** The `KONG_*` environment of a node container; no password (that is a file). */
export function containerEnvs(
  spec: StepSpec,
  n: NodeSpec,
  databaseHost: string,
): Record<string, string> {
  return {
    ...containerSettings(nodeSettings(spec, n), databaseHost),
    KONG_PG_PASSWORD_FILE: PASSWORD_FILE,
    // Kong's logs on the container's output, where `docker logs` (and the runner) read them.
    KONG_PROXY_ACCESS_LOG: "/dev/stdout",
    KONG_ADMIN_ACCESS_LOG: "/dev/stdout",
    KONG_PROXY_ERROR_LOG: "/dev/stderr",
    KONG_ADMIN_ERROR_LOG: "/dev/stderr",
  };
}

/**
 * The container of node `n` of `spec` (a docker spec: its runtime gives the image, the network
 * and the database host as containers see it; the node's URLs give its host ports), so the
 * containers and the runner can never disagree.
 */
export function nodeContainer(
  spec: StepSpec,
  n: NodeSpec,
  settings: ContainerSettings,
): NodeContainer {
  const rt = spec.runtime;
  if (rt?.kind !== "docker") {
    throw new Error(`a node container needs a docker spec, got "${rt?.kind ?? "local"}"`);
  }
  const port = (url: string) => Number(new URL(url).port);
  const ports = { proxy: port(n.proxyUrl), admin: port(n.adminUrl), status: port(n.statusUrl) };
  const ip = settings.publishAddress;
  return {
    name: n.container ?? `${spec.cluster}-${n.version}-${n.id}`,
    image: imageRef(rt.image, n.version),
    env: containerEnvs(spec, n, rt.databaseHost),
    labels: nodeLabels({
      cluster: spec.cluster,
      id: n.id,
      version: n.version,
      generation: spec.generation,
      statusUrl: n.statusUrl,
      adminUrl: n.adminUrl,
      proxyUrl: n.proxyUrl,
    }),
    ports: [
      { internal: CONTAINER_PORTS.proxy, external: ports.proxy, ip },
      { internal: CONTAINER_PORTS.admin, external: ports.admin, ip },
      { internal: CONTAINER_PORTS.status, external: ports.status, ip },
    ],
    passwordFile: { path: PASSWORD_FILE, permissions: "0440", owner: "0", group: "0" },
    groupAdd: ["0"],
    hosts: [{ host: HOST_GATEWAY.host, ip: HOST_GATEWAY.ip }],
    network: rt.network,
    healthcheck: {
      test: statusHealthcheckTest(),
      intervalSeconds: HEALTHCHECK_INTERVAL_SECONDS,
      timeoutSeconds: 3,
      retries: 3,
      startPeriodSeconds: spec.timeouts.startSeconds,
    },
    stopSignal: "SIGQUIT",
    stopTimeoutSeconds: spec.timeouts.quitSeconds,
    restart: "no",
  };
}
