/**
 * Host keys of the `hosts` runtime for real: one machine played by an OpenSSH daemon
 * (test/support/sshd.ts), the stack's own known_hosts (`<stateDir>/known_hosts`, empty at first).
 * Checked: the first `up` records the host's key (the `host-keys` command, before the install)
 * and installs; once the host presents another key, the next version's install — the
 * `command.remote` that runs the install command, often with sudo — refuses to connect: nothing
 * is installed, nothing is stopped, the old version keeps serving. After the operator pins the
 * new key in known_hosts, the same `up` goes through.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pinnedHostKey } from "../../components/runner/infra/knownHosts";
import { repoRoot } from "../support/engine";
import { progress, versionAt } from "../support/e2e";
import { createKongStack, KongStack } from "../support/kongStack";
import { freePort } from "../support/postgres";
import { startSshHosts, SshHosts } from "../support/sshd";

describe(
  "runtime hosts: the installs are pinned to the recorded host key",
  { timeout: 600_000 },
  () => {
    let ssh: SshHosts;
    let ks: KongStack;
    let hostDir: string;
    let knownHosts: string;
    let kongPort: number;
    const admin = () => `http://${ssh.hosts[0]!.address}:${kongPort + 1}`;

    before(async () => {
      kongPort = await freePort();
      ssh = await startSshHosts({ count: 1 });
      const host = ssh.hosts[0]!;
      ks = await createKongStack("hostkey", "3.5.0", (base) => ({
        "kong-gateway:nodes": 1,
        "kong-gateway:runtime": "hosts",
        "kong-gateway:hosts": {
          addresses: [host.address],
          user: ssh.user,
          port: host.port,
          install: `${repoRoot}/test/kong-sim/install {version} ${base}/host/kong/{version}`,
          kongBinary: `${base}/host/kong/{version}/bin/kong`,
          prefix: `${base}/host/prefixes`,
          listenAddress: "{host}",
          proxyPort: kongPort,
          adminPort: kongPort + 1,
          statusPort: kongPort + 2,
        },
      }));
      hostDir = join(dirname(ks.stateDir), "host");
      knownHosts = join(ks.stateDir, "known_hosts");
      await ks.stack.setConfig("kong-gateway:sshPrivateKey", {
        value: ssh.privateKey,
        secret: true,
      });
    });

    after(async () => {
      await ks?.dispose();
      await ssh?.stop();
    });

    it("records the first contact, then refuses an install on a host whose key changed", async () => {
      const host = ssh.hosts[0]!;
      assert.equal(existsSync(knownHosts), false, "no key known before the first up");
      progress("hostkey: install 3.5.0 (first contact)");
      assert.equal((await ks.stack.up()).summary.result, "succeeded");
      const recorded = readFileSync(knownHosts, "utf8");
      assert.equal(pinnedHostKey(recorded, host.address, host.port), host.hostKeyPub);
      assert.equal(await versionAt(admin()), "3.5.0");

      const rotated = await ssh.rotateHostKey(0);
      assert.notEqual(rotated.hostKeyPub, host.hostKeyPub);
      await ks.setVersion("3.6.0");
      progress("hostkey: the host presents another key; the 3.6.0 install must refuse it");
      await assert.rejects(
        () => ks.stack.up(),
        (e: Error) => {
          assert.match(e.message, /install-127\.0\.0\.2[\s\S]*host key mismatch/);
          return true;
        },
      );
      assert.equal(existsSync(join(hostDir, "kong", "3.6.0")), false, "nothing was installed");
      assert.equal(await versionAt(admin()), "3.5.0", "nothing was stopped");
      assert.equal(readFileSync(knownHosts, "utf8"), recorded, "the pinned key was not replaced");

      progress("hostkey: the operator pins the new key; the upgrade goes through");
      writeFileSync(knownHosts, `[${host.address}]:${host.port} ${rotated.hostKeyPub}\n`);
      assert.equal((await ks.stack.up()).summary.result, "succeeded");
      assert.equal(await versionAt(admin()), "3.6.0");
    });
  },
);
