/**
 * Stack settings that several engine tests (and the bench) write the same way: a `command` backup
 * store over a plain directory, and a `hosts` runtime over the daemons of test/support/sshd.ts
 * with one Kong installation per host, replaced by the next version's as a package is.
 */
import { repoRoot } from "./engine";
import type { SshHosts } from "./sshd";

/**
 * `kong-gateway:backup` for a `command` store whose templates copy to and from `dir`: a plain
 * directory standing in for object storage (one `cp` after the dump, inside the backup step).
 */
export function commandStoreOver(dir: string) {
  return {
    store: "command",
    command: {
      put: `cp {file} ${dir}/{name}`,
      get: `cp ${dir}/{name} {file}`,
      list: `ls ${dir}`,
      delete: `rm -f ${dir}/{name}`,
    },
  };
}

/**
 * `kong-gateway:hosts` over every daemon of `ssh`: each host's tree (its "disk") under
 * `<base>/hosts/<address>`, Kong installed there by the stand-in's installer (then `afterInstall`,
 * a command given the install directory and the version), nodes listening on the host's own
 * address at `kongPort` (proxy), `+ 1` (admin) and `+ 2` (status).
 */
export function hostsStackConfig(
  ssh: SshHosts,
  base: string,
  kongPort: number,
  afterInstall?: string,
) {
  const install = `${repoRoot}/test/kong-sim/install {version} ${base}/hosts/{host}/kong`;
  return {
    addresses: ssh.hosts.map((h) => h.address),
    user: ssh.user,
    port: ssh.hosts[0]!.port,
    // Shipped with the repository, as a team pins its hosts' keys.
    knownHosts: ssh.knownHostsFile,
    install: afterInstall
      ? `${install} && ${afterInstall} ${base}/hosts/{host}/kong {version}`
      : install,
    kongBinary: `${base}/hosts/{host}/kong/bin/kong`,
    prefix: `${base}/hosts/{host}/prefixes`,
    listenAddress: "{host}",
    proxyPort: kongPort,
    adminPort: kongPort + 1,
    statusPort: kongPort + 2,
  };
}
