/**
 * The `hosts` and `docker` runtimes' settings with their defaults, each checked: the machines and
 * their SSH settings, the image, the engine and the pg client. Pure: no Pulumi resources.
 */
import type { DockerRuntimeArgs, HostsRuntimeArgs } from "./args";
import type { ResolvedDockerRuntime } from "./resolved";
import { fail, positiveInt } from "./validate";

/** `hosts` with its defaults: enough distinct machines, a migration host among them, valid SSH settings. */
export function hostsDefaults(
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

/** `docker` with its defaults; the network defaults to `<cluster>-net`, which the stack creates. */
export function dockerDefaults(
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
