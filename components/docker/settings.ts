/**
 * The settings of a {@link DockerCluster} and their defaults, resolved once and checked before
 * any resource exists (STYLE.md). Pure.
 */

/** Where and how a version's Kong containers run. */
export interface DockerClusterSettings {
  /**
   * Image repository without a tag; a version runs `<image>:<version>` (`kong`,
   * `kong/kong-gateway` for Enterprise's four-part versions).
   * @default "kong"
   */
  readonly image?: string;
  /**
   * Docker network of the nodes and of the runner's one-shot containers (migrations, pg client);
   * the database must be reachable from it as `databaseHost`.
   * @default "<cluster>-net"
   */
  readonly network?: string;
  /**
   * Whether the stack creates `network`. Leave it on unless the network already exists (for
   * example the one a PostgreSQL container is on); a network the stack did not create is only
   * joined, never changed or deleted.
   * @default true when `network` is not set, false when it is
   */
  readonly createNetwork?: boolean;
  /**
   * Docker engine (`unix:///var/run/docker.sock`, `tcp://…`, `ssh://user@host`). Empty: the
   * docker CLI's own choice (`DOCKER_HOST`, else the current context), for the runner and the
   * provider alike.
   * @default ""
   */
  readonly dockerHost?: string;
  /**
   * Host address the node ports are published on, and the address the Pulumi machine (the
   * runner's readiness checks, `verify`) reaches them at.
   * @default "127.0.0.1"
   */
  readonly publishAddress?: string;
  /**
   * First published host port; node `node-i` publishes proxy on basePort+10i, Admin API on +1,
   * status on +2 (the same ports the node URLs in the spec name).
   * @default 8000
   */
  readonly basePort?: number;
  /**
   * Seconds between two health checks of a node container (`GET /status`); they only inform
   * `docker ps` and operators, readiness for the upgrade is the runner's `/status/ready` probe.
   * @default 5
   */
  readonly healthcheckIntervalSeconds?: number;
}

/** {@link DockerClusterSettings} with every default filled in. */
export type ResolvedDockerClusterSettings = Required<DockerClusterSettings>;

/**
 * Fills in defaults and checks the values; throws an `Error` naming the setting, the value, why
 * it is wrong and the fix.
 */
export function dockerClusterDefaults(
  s: DockerClusterSettings,
  cluster: string,
): ResolvedDockerClusterSettings {
  const image = s.image ?? "kong";
  const lastPart = image.split("/").at(-1) ?? "";
  if (!image || lastPart.includes(":") || lastPart.includes("@")) {
    throw new Error(
      `kong-gateway:docker.image "${image}" must be a repository without tag or digest (e.g. "kong" or "kong/kong-gateway"): the version picks the tag`,
    );
  }
  const basePort = s.basePort ?? 8000;
  if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65535 - 1000) {
    throw new Error(
      `kong-gateway:docker.basePort ${basePort} is not a usable port; node i publishes basePort+10i … +2, so pick a port between 1 and ${65535 - 1000} (e.g. 8000)`,
    );
  }
  const interval = s.healthcheckIntervalSeconds ?? 5;
  if (!(interval > 0)) {
    throw new Error(
      `kong-gateway:docker.healthcheckIntervalSeconds ${interval} must be a positive number of seconds (e.g. 5)`,
    );
  }
  const publishAddress = s.publishAddress ?? "127.0.0.1";
  if (!publishAddress) {
    throw new Error(
      `kong-gateway:docker.publishAddress is empty; set the host address node ports are published on (e.g. 127.0.0.1)`,
    );
  }
  return {
    image,
    network: s.network || `${cluster}-net`,
    createNetwork: s.createNetwork ?? !s.network,
    dockerHost: s.dockerHost ?? "",
    publishAddress,
    basePort,
    healthcheckIntervalSeconds: interval,
  };
}
