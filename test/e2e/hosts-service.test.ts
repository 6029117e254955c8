/**
 * The `hosts` runtime with a service manager (`hosts.startCommand` / `stopCommand`), over real
 * SSH through a bastion: one Kong host (an OpenSSH daemon on 127.0.0.3) reached through a jump
 * host (another on 127.0.0.2) by both the installs (command.remote's proxy) and the step runner
 * (ssh with a ProxyCommand). No systemd runs here, so a small script plays
 * `systemctl` for a template unit — it loads the node's environment file the way a unit's
 * `EnvironmentFile=` does (`set -a; . file`) and runs `kong start` / `kong quit` — and logs every
 * call. Checked: install and upgrade 3.5 → 3.6 go through the service commands in the right
 * order, the environment file is 0600 and the only place the password is written, and Kong
 * started from it serves.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "../support/engine";
import { E2E_PASSWORD, outputs, progress, status } from "../support/e2e";
import { createKongStack, KongStack } from "../support/kongStack";
import { freePort } from "../support/postgres";
import { startSshHosts, SshHosts } from "../support/sshd";

describe("runtime hosts with a service manager, through a bastion", { timeout: 600_000 }, () => {
  let ssh: SshHosts;
  let ks: KongStack;
  let hostDir: string;
  let calls: string;
  let kongPort: number;

  before(async () => {
    kongPort = await freePort();
    ssh = await startSshHosts({ count: 2 });
    calls = join(ssh.dir, "service-calls.log");
    // Plays `systemctl start|stop kong-gateway@<id>` for a unit with EnvironmentFile=<envFile>.
    const svc = join(ssh.dir, "svc");
    writeFileSync(
      svc,
      [
        "#!/bin/sh",
        "set -e",
        "action=$1 id=$2 envfile=$3 quit=$4",
        `echo "$action $id $(grep -o '^KONG_PREFIX=.*' "$envfile")" >> ${calls}`,
        'set -a; . "$envfile"; set +a',
        'if [ "$action" = start ]; then exec "$KGW_BINARY" start; fi',
        'exec "$KGW_BINARY" quit -t "$quit"',
        "",
      ].join("\n"),
    );
    chmodSync(svc, 0o755);
    const [bastion, host] = [ssh.hosts[0]!, ssh.hosts[1]!];
    ks = await createKongStack("svc", "3.5.0", (base) => ({
      "kong-gateway:nodes": 1,
      "kong-gateway:runtime": "hosts",
      "kong-gateway:hosts": {
        addresses: [host.address],
        user: ssh.user,
        port: host.port,
        bastion: `${ssh.user}@${bastion.address}:${bastion.port}`,
        knownHosts: ssh.knownHostsFile,
        install: `${repoRoot}/test/kong-sim/install {version} ${base}/host/kong/{version}`,
        kongBinary: `${base}/host/kong/{version}/bin/kong`,
        prefix: `${base}/host/kong-gateway`,
        listenAddress: "{host}",
        proxyPort: kongPort,
        adminPort: kongPort + 1,
        statusPort: kongPort + 2,
        startCommand: `${svc} start {id} {envFile}`,
        stopCommand: `${svc} stop {id} {envFile} {quitSeconds}`,
      },
    }));
    hostDir = join(dirname(ks.stateDir), "host");
    await ks.stack.setConfig("kong-gateway:sshPrivateKey", { value: ssh.privateKey, secret: true });
  });

  after(async () => {
    await ks?.dispose();
    await ssh?.stop();
  });

  it("installs and upgrades through the service commands; the env file is 0600", async () => {
    progress("svc: install 3.5.0 through the service manager");
    assert.equal((await ks.stack.up()).summary.result, "succeeded");
    const envFile = join(hostDir, "kong-gateway", "node-0.env");
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    const text = readFileSync(envFile, "utf8");
    assert.match(text, new RegExp(`^KONG_PG_PASSWORD="${E2E_PASSWORD}"$`, "m"));
    assert.match(text, /^KONG_PROXY_LISTEN="127\.0\.0\.3:\d+"$/m);

    await ks.setVersion("3.6.0");
    progress("svc: upgrade 3.5.0 → 3.6.0 through the service manager");
    assert.equal((await ks.stack.up()).summary.result, "succeeded");
    const proxy = ((await outputs(ks.stack)).proxyUrls as string[])[0]!;
    assert.notEqual(await status(proxy), 0, "Kong 3.6.0 started by the service manager serves");
    const log = readFileSync(calls, "utf8").trim().split("\n");
    const prefix = (chain: string) => `KONG_PREFIX="${hostDir}/kong-gateway/${chain}/node-0"`;
    assert.deepEqual(log, [
      `start node-0 ${prefix("install-3.5.0-g1")}`,
      `stop node-0 ${prefix("install-3.5.0-g1")}`,
      `start node-0 ${prefix("upgrade-3.6.0-g1")}`,
    ]);
    // X's node-0 was decommissioned, but the file (per node id) is now Y's node-0's: it stays.
    assert.match(readFileSync(envFile, "utf8"), new RegExp(`^${prefix("upgrade-3.6.0-g1")}$`, "m"));

    progress("svc: destroy removes the node's env file (it holds the password)");
    await ks.stack.destroy();
    assert.equal(existsSync(envFile), false, `${envFile} was left on the host after destroy`);
  });
});
