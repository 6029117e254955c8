/**
 * The SSH hosts fixture against real sshd: what the `hosts` runtime relies on (key-only login,
 * environment dropped, stdin passed through, node on PATH, per-host addresses) and how long a
 * round trip takes with and without connection multiplexing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { startSshHosts, sshArgs, type SshHost, type SshHosts } from "./sshd";

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ssh` to completion, feeding `input` on stdin; never throws on a non-zero exit. */
function ssh(args: readonly string[], input = "", env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "ssh",
      args,
      { env: { ...process.env, ...env }, timeout: 15_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.on("error", reject);
    child.stdin?.end(input);
  });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function timeRoundTrips(args: readonly string[], n = 10): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const res = await ssh([...args, "true"]);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    assert.equal(res.code, 0, res.stderr);
  }
  return times;
}

describe("startSshHosts (real sshd on loopback)", () => {
  let sh: SshHosts;
  let a: SshHost;
  let b: SshHost;

  before(async () => {
    sh = await startSshHosts({ count: 2 });
    [a, b] = sh.hosts as [SshHost, SshHost];
  });
  after(async () => {
    await sh?.stop();
  });

  it("gives each host its own loopback address, port and host key", () => {
    assert.deepEqual(
      sh.hosts.map((h) => h.address),
      ["127.0.0.2", "127.0.0.3"],
    );
    assert.notEqual(a.hostKeyPub, b.hostKeyPub);
    assert.match(sh.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
  });

  it("runs commands on each host, each reaching its own daemon", async () => {
    for (const h of sh.hosts) {
      const res = await ssh([...sshArgs(sh, h), 'hostname; echo ok; echo "$SSH_CONNECTION"']);
      assert.equal(res.code, 0, res.stderr);
      const [name, ok, conn] = res.stdout.trim().split("\n");
      assert.equal(name, hostname());
      assert.equal(ok, "ok");
      // SSH_CONNECTION = client-ip client-port server-ip server-port
      assert.deepEqual(conn?.split(" ").slice(2), [h.address, String(h.port)]);
    }
  });

  it("drops environment variables the client sends, so secrets cannot travel that way", async () => {
    const res = await ssh(
      [
        ...sshArgs(sh, a, ["-v", "-o", "SendEnv=KONG_TEST_SECRET"]),
        'echo "${KONG_TEST_SECRET-unset}"',
      ],
      "",
      { KONG_TEST_SECRET: "s3cret" },
    );
    assert.equal(res.code, 0, res.stderr);
    // The client did offer it (so this is sshd refusing, not ssh never sending) …
    assert.match(res.stderr, /(setting|Sending) env KONG_TEST_SECRET = "?s3cret"?/);
    // … and the remote command never saw it.
    assert.equal(res.stdout.trim(), "unset");
  });

  it("passes stdin through to the remote command", async () => {
    const res = await ssh([...sshArgs(sh, b), 'read -r x; echo "got:$x"'], "line with spaces\n");
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), "got:line with spaces");
  });

  it("refuses a key that is not authorized (exit 255)", async () => {
    const other = mkdtempSync(join(tmpdir(), "kong-gw-ssh-wrong-"));
    try {
      const key = join(other, "id_ed25519");
      await new Promise<void>((resolve, reject) =>
        execFile("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], (err) =>
          err ? reject(err) : resolve(),
        ),
      );
      const res = await ssh([...sshArgs({ ...sh, privateKeyFile: key }, a), "echo in"]);
      assert.equal(res.code, 255);
      assert.match(res.stderr, /Permission denied \(publickey\)/);
      assert.equal(res.stdout, "");
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("finds node on the remote PATH (the one running these tests)", async () => {
    const res = await ssh([...sshArgs(sh, a), "node --version"]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), process.version);
  });

  it("verifies host keys from knownHostsFile with StrictHostKeyChecking=yes", async () => {
    for (const h of sh.hosts) {
      const res = await ssh([...sshArgs(sh, h), "true"]);
      assert.equal(res.code, 0, res.stderr);
    }
    // The same check fails against a known_hosts that lacks the host: it is really checking.
    const empty = join(sh.dir, "known_hosts.empty");
    writeFileSync(empty, "");
    const res = await ssh([...sshArgs({ ...sh, knownHostsFile: empty }, a), "true"]);
    assert.equal(res.code, 255);
    assert.match(res.stderr, /Host key verification failed/);
  });

  it("lets two hosts listen on the same port number on their own addresses", async () => {
    // Find a port free on both addresses, then have each "host" serve it over ssh.
    const srv = createServer().listen(0, a.address);
    await once(srv, "listening");
    const port = (srv.address() as { port: number }).port;
    srv.close();
    await once(srv, "close");
    const script = `
      const [addr, port, tag] = process.argv.slice(2);
      const srv = require("node:net").createServer((s) => { s.end(tag); srv.close(); });
      srv.listen(Number(port), addr, () => console.log("listening"));`;
    const servers = sh.hosts.map((h, i) => {
      const child = spawn("ssh", [
        ...sshArgs(sh, h),
        "node",
        "-",
        h.address,
        String(port),
        `host-${i}`,
      ]);
      child.stdin.end(script);
      let err = "";
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => d.toString().includes("listening") && resolve());
        child.on("exit", (code) =>
          reject(new Error(`remote server on ${h.address} exited ${code}: ${err}`)),
        );
      });
      return { child, ready, done: once(child, "exit") };
    });
    await Promise.all(servers.map((s) => s.ready));
    const replies = await Promise.all(
      sh.hosts.map(
        (h) =>
          new Promise<string>((resolve, reject) => {
            let data = "";
            connect(port, h.address)
              .on("data", (d) => (data += d.toString()))
              .on("end", () => resolve(data))
              .on("error", reject);
          }),
      ),
    );
    assert.deepEqual(replies, ["host-0", "host-1"]);
    const codes = await Promise.all(servers.map((s) => s.done));
    assert.deepEqual(
      codes.map(([code]) => code),
      [0, 0],
    );
  });

  it("times round trips, plain and multiplexed (printed, not asserted)", async () => {
    const plain = await timeRoundTrips(sshArgs(sh, a));
    const control = join(sh.dir, "%C");
    const mux = sshArgs(sh, a, [
      "-o",
      "ControlMaster=auto",
      "-o",
      `ControlPath=${control}`,
      "-o",
      "ControlPersist=60",
    ]);
    try {
      // The first call opens the master; time only the calls that reuse it.
      const first = await ssh([...mux, "true"]);
      assert.equal(first.code, 0, first.stderr);
      const muxed = await timeRoundTrips(mux);
      console.log(
        `ssh round trip median: plain ${median(plain).toFixed(1)} ms, ` +
          `multiplexed ${median(muxed).toFixed(1)} ms (10 runs each)`,
      );
    } finally {
      await ssh([...mux.slice(0, -1), "-O", "exit", mux.at(-1)!]);
    }
  });
});
