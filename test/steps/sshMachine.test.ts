/**
 * A host of the `hosts` runtime as the step runner reaches it, against a real OpenSSH daemon
 * (test/support/sshd.ts): the password a remote program needs arrives in its environment but is
 * on no command line on either side while it runs; pid checks (a stale pid file naming another
 * process is neither running nor killed) and file writes work remotely; an
 * unreachable host is an error naming the host, never "not running".
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Machine } from "../../components/runner/infra/machine";
import { SSH_KEY_ENV, sshMachine } from "../../components/runner/infra/ssh";
import { eventually } from "../support/eventually";
import { liveProcess } from "../support/liveProcess";
import { startSshHosts, SshHosts } from "../support/sshd";

/** Every process's command line on this machine (the SSH "host" shares it). */
function commandLines(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      out.push(readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "));
    } catch {
      // gone
    }
  }
  return out;
}

describe("a host over SSH", { timeout: 60_000 }, () => {
  let ssh: SshHosts;
  let host: Machine;
  const secret = "s3cr3t-'quoted' $pass";

  before(async () => {
    ssh = await startSshHosts({ count: 1 });
    process.env[SSH_KEY_ENV] = ssh.privateKey;
    host = sshMachine(
      { user: ssh.user, port: ssh.hosts[0]!.port, bastion: "", knownHosts: ssh.knownHostsFile },
      ssh.hosts[0]!.address,
      ssh.dir,
    );
  });

  after(async () => {
    await ssh?.stop();
  });

  it("hands the secret to the remote program's environment, never to a command line", async () => {
    // The remote program says it runs (a marker file) and waits for the test to release it, so
    // every command line is sampled while the ssh client, sshd's session and the remote shell all
    // exist: no fixed sleep decides whether the sampling overlapped the run.
    const marker = join(ssh.dir, `running-${process.pid}`);
    const release = join(ssh.dir, `release-${process.pid}`);
    const run = host.exec(
      "/bin/sh",
      [
        "-c",
        `: > ${marker}; while [ ! -e ${release} ]; do sleep 0.02; done; printf %s "$KONG_PG_PASSWORD"`,
      ],
      {
        env: { KONG_PG_HOST: "db" },
        secrets: { KONG_PG_PASSWORD: secret },
        timeoutSeconds: 20,
      },
    );
    const started = await eventually(
      async () => existsSync(marker),
      (ok) => ok,
    );
    assert.ok(started, "the remote program ran");
    const leaked: string[] = [];
    let sawRemote = 0;
    for (let i = 0; i < 20; i++) {
      const lines = commandLines();
      leaked.push(...lines.filter((c) => c.includes("s3cr3t")));
      sawRemote += lines.some((c) => c.includes(`[ ! -e ${release} ]`)) ? 1 : 0;
    }
    writeFileSync(release, "");
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, secret);
    assert.equal(sawRemote, 20, "every sample saw the remote program running");
    assert.deepEqual(leaked, [], "no command line holds the secret");
  });

  it("checks pids, writes private files and removes trees on the host", async () => {
    const dir = join(ssh.dir, "remote-prefix");
    const pidFile = join(dir, "pids", "nginx.pid");
    const node = await liveProcess(dir);
    const unrelated = await liveProcess();
    try {
      await host.writePrivateFile(pidFile, `${node.pid}\n`);
      assert.equal(statSync(pidFile).mode & 0o777, 0o600);
      assert.equal(await host.alivePid(pidFile, dir), node.pid);
      assert.equal(await host.alivePid(join(dir, "missing.pid"), dir), undefined);
      // A stale pid file (pids wrap) naming an unrelated live process: not running, not killed.
      for (const act of ["alivePid", "kill"] as const) {
        await host.writePrivateFile(pidFile, `${unrelated.pid}\n`);
        assert.equal(await host[act](pidFile, dir), undefined, act);
        assert.equal(existsSync(pidFile), false, `${act} removed the stale pid file`);
      }
      await host.writePrivateFile(pidFile, `${node.pid}\n`);
      assert.equal(await host.kill(pidFile, dir), node.pid);
      assert.ok(await node.gone(), "the node was killed");
      assert.equal(unrelated.alive(), true, "the unrelated process still runs");
    } finally {
      await node.stop();
      await unrelated.stop();
    }
    assert.equal(await host.isExecutable("/bin/sh"), true);
    assert.equal(await host.isExecutable(join(dir, "nope")), false);
    await host.removeTree(dir);
    assert.throws(() => statSync(dir));
  });

  it("reports an unreachable host as an error naming it, not as a stopped node", async () => {
    const gone = sshMachine(
      { user: ssh.user, port: 1, bastion: "", knownHosts: ssh.knownHostsFile },
      "127.0.0.254",
      ssh.dir,
    );
    await assert.rejects(
      gone.alivePid("/var/lib/kong-gateway/node-0/pids/nginx.pid", "/var/lib/kong-gateway/node-0"),
      /cannot reach host 127\.0\.0\.254 over SSH: .*(refused|timed out)/i,
    );
  });
});
