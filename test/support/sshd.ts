/**
 * Throwaway SSH "hosts" for tests: real OpenSSH `sshd` daemons from Debian's package, one per
 * loopback address (127.0.0.2, 127.0.0.3, …), each with its own host key, all accepting one
 * generated client key. Several Kong "hosts" can then share port numbers on one machine, and the
 * `hosts` runtime is exercised against sshd's real behaviour (environment dropped, PATH reset,
 * stdin passed through). Nothing here is a mock.
 *
 * Each daemon listens on a free port of its own address rather than on port 22: port 22 needs
 * root and may be taken by a system sshd on 0.0.0.0. The port is a {@link freePort} run, reserved
 * across test processes (which all use the same addresses, so may run at once). When sshd still
 * loses the race for its port it is restarted on a kernel-chosen one.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./postgres";

const run = promisify(execFile);
const sshdBin = "/usr/sbin/sshd";
const readyTimeoutMs = 10_000;

/** One SSH "host": a daemon on its own loopback address. */
export interface SshHost {
  /** Loopback address the daemon (and anything run on this "host") listens on, e.g. 127.0.0.2. */
  readonly address: string;
  readonly port: number;
  /** The host's public key line (`ssh-ed25519 AAAA…`), as a real host would publish it. */
  readonly hostKeyPub: string;
}

/** Running daemons, the client credentials that reach them, and how to stop them. */
export interface SshHosts {
  readonly hosts: readonly SshHost[];
  /** The only user that can log in: the user running the tests (root on CI). */
  readonly user: string;
  /** OpenSSH-format ed25519 private key, e.g. for a Pulumi secret. */
  readonly privateKey: string;
  /** The same key as a file (mode 0600), for `ssh -i`. */
  readonly privateKeyFile: string;
  /** known_hosts listing every host as `[address]:port ssh-ed25519 …`. */
  readonly knownHostsFile: string;
  /** The temp directory holding keys, configs and logs. */
  readonly dir: string;
  /**
   * Host `i` gets a new host key (its daemon restarts on the same address and port with it), as
   * a reinstalled machine — or a machine in the middle — would present; `knownHostsFile` follows.
   * Resolves when the daemon accepts logins with the new key.
   */
  rotateHostKey(i: number): Promise<SshHost>;
  /** Stops every daemon and its open sessions, then removes `dir`. */
  stop(): Promise<void>;
}

/**
 * `ssh` arguments that reach `host` with the fixture's key and known_hosts and nothing from the
 * machine's own ssh config, agent or identities; append the remote command. `options` come first
 * so they win (ssh keeps the first value it sees for each option).
 */
export function sshArgs(hosts: SshHosts, host: SshHost, options: readonly string[] = []): string[] {
  return [
    ...options,
    "-F",
    "/dev/null",
    "-i",
    hosts.privateKeyFile,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${hosts.knownHostsFile}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "ConnectTimeout=5",
    "-p",
    String(host.port),
    `${hosts.user}@${host.address}`,
  ];
}

/** Starts `count` daemons on 127.0.0.2 onwards, all on one port; call `stop()` when done (e.g. in `after`). */
export async function startSshHosts(opts: { count: number; dir?: string }): Promise<SshHosts> {
  if (!Number.isInteger(opts.count) || opts.count < 1 || opts.count > 250) {
    throw new Error(`startSshHosts: count ${opts.count} must be an integer from 1 to 250`);
  }
  if (!existsSync(sshdBin)) {
    throw new Error(`startSshHosts: ${sshdBin} is missing; run 'npm run setup' (openssh-server)`);
  }
  const dir = mkdtempSync(join(opts.dir ?? tmpdir(), "kong-gw-ssh-"));
  const user = userInfo().username;
  if (process.getuid?.() === 0) {
    // sshd refuses to start as root without its privilege-separation directory; containers often
    // lack it because no system sshd ever ran.
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  }
  const daemons: Daemon[] = [];
  const stop = async () => {
    await Promise.all(daemons.map(stopDaemon));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const privateKeyFile = join(dir, "id_ed25519");
    await keygen(privateKeyFile, "kong-gateway-test-client");
    writeFileSync(join(dir, "authorized_keys"), readFileSync(`${privateKeyFile}.pub`));
    // Every host listens on the first host's port (each on its own address), as real machines
    // all answer on 22: one `hosts.port` setting then reaches them all. The addresses are the same
    // in every test process, so the port is one freePort() reserved across processes: two files
    // running at once never pick the same one.
    const first = await Promise.allSettled([startHost(dir, 0, user, await freePort())]);
    const port = first[0]?.status === "fulfilled" ? first[0].value.host.port : undefined;
    const started = [
      ...first,
      ...(await Promise.allSettled(
        Array.from({ length: opts.count - 1 }, (_, i) => startHost(dir, i + 1, user, port)),
      )),
    ];
    for (const s of started) {
      if (s.status === "fulfilled") {
        daemons.push(s.value);
      }
    }
    const failed = started.find((s) => s.status === "rejected");
    if (failed) {
      throw failed.reason;
    }
    const hosts = daemons.map((d) => d.host);
    const knownHostsFile = join(dir, "known_hosts");
    writeFileSync(
      knownHostsFile,
      hosts.map((h) => `[${h.address}]:${h.port} ${h.hostKeyPub}\n`).join(""),
    );
    const writeKnownHosts = () =>
      writeFileSync(
        knownHostsFile,
        daemons.map((d) => `[${d.host.address}]:${d.host.port} ${d.host.hostKeyPub}\n`).join(""),
      );
    const result: SshHosts = {
      hosts,
      user,
      privateKey: readFileSync(privateKeyFile, "utf8"),
      privateKeyFile,
      knownHostsFile,
      dir,
      stop,
      rotateHostKey: async (i) => {
        const old = daemons[i];
        if (!old) {
          throw new Error(`rotateHostKey: no host ${i}`);
        }
        await stopDaemon(old);
        const hostDir = join(dir, `host-${i}`);
        const hostKey = join(hostDir, "ssh_host_ed25519_key");
        rmSync(hostKey, { force: true });
        rmSync(`${hostKey}.pub`, { force: true });
        await keygen(hostKey, `kong-gateway-test-host-${i}-rotated`);
        const hostKeyPub = readFileSync(`${hostKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
        const daemon = spawnDaemon({ ...old.host, hostKeyPub }, join(hostDir, "sshd_config"));
        daemons[i] = daemon;
        writeKnownHosts();
        await waitForLogin(result, daemon);
        return daemon.host;
      },
    };
    await Promise.all(daemons.map((d) => waitForLogin(result, d)));
    return result;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A daemon process, its host and everything it wrote to stderr. */
interface Daemon {
  readonly host: SshHost;
  readonly proc: ChildProcess;
  readonly stderr: () => string;
}

/** Daemons not yet stopped: killed if the test process exits without calling `stop()`. */
const running = new Set<ChildProcess>();
process.on("exit", () => running.forEach((p) => p.kill("SIGKILL")));

async function keygen(file: string, comment: string): Promise<void> {
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

/** Generates the host's key and config and starts its daemon, retrying if its port is taken. */
async function startHost(
  dir: string,
  i: number,
  user: string,
  preferredPort?: number,
): Promise<Daemon> {
  const address = `127.0.0.${2 + i}`;
  const hostDir = join(dir, `host-${i}`);
  mkdirSync(hostDir);
  const hostKey = join(hostDir, "ssh_host_ed25519_key");
  await keygen(hostKey, `kong-gateway-test-host-${i}`);
  const hostKeyPub = readFileSync(`${hostKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port =
      attempt === 0 && preferredPort !== undefined ? preferredPort : await freePortOn(address);
    const config = join(hostDir, "sshd_config");
    writeFileSync(config, sshdConfig({ dir, hostDir, hostKey, address, port, user }));
    const daemon = spawnDaemon({ address, port, hostKeyPub }, config);
    const exited = await Promise.race([
      new Promise<boolean>((r) => daemon.proc.once("exit", () => r(true))),
      new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
    ]);
    if (!exited) {
      return daemon;
    }
    lastError = daemon.stderr();
    if (!/Address already in use|Cannot bind/.test(lastError)) {
      break;
    }
  }
  throw new Error(
    `startSshHosts: sshd for ${address} exited at startup: ${lastError.trim() || "(no stderr)"}`,
  );
}

function spawnDaemon(host: SshHost, config: string): Daemon {
  // sshd re-executes itself per connection, so it needs its absolute path; -D keeps it in the
  // foreground as our child, -e sends its log to our stderr pipe.
  const proc = spawn(sshdBin, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  running.add(proc);
  proc.once("exit", () => running.delete(proc));
  return { host, proc, stderr: () => stderr };
}

/** The daemon's config: key-only login for one user, no environment accepted from clients. */
function sshdConfig(c: {
  dir: string;
  hostDir: string;
  hostKey: string;
  address: string;
  port: number;
  user: string;
}): string {
  // sshd gives sessions a fixed PATH (/usr/local/bin:/usr/bin:/bin:/usr/games); a real host would
  // have node on it, so put the directory of the node running the tests first.
  const path = [dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"];
  const lines = [
    `ListenAddress ${c.address}:${c.port}`,
    "AddressFamily inet",
    `HostKey ${c.hostKey}`,
    `PidFile ${join(c.hostDir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(c.dir, "authorized_keys")}`,
    `AllowUsers ${c.user}`,
    "AuthenticationMethods publickey",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    // The temp directory is not owned the way sshd's StrictModes expects of ~/.ssh.
    "StrictModes no",
    "PermitRootLogin prohibit-password",
    "PrintMotd no",
    "PrintLastLog no",
    "UseDNS no",
    "X11Forwarding no",
    `SetEnv PATH=${[...new Set(path)].join(":")}`,
    // scp speaks SFTP since OpenSSH 9.0; the built-in server needs no path.
    "Subsystem sftp internal-sftp",
    "LogLevel ERROR",
  ];
  return lines.join("\n") + "\n";
}

/** Asks the kernel for a free TCP port on `address`. */
function freePortOn(address: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, address, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** Retries a real login (`ssh … true`) until it works, the daemon dies or time runs out. */
async function waitForLogin(hosts: SshHosts, daemon: Daemon): Promise<void> {
  const { host, proc } = daemon;
  const deadline = Date.now() + readyTimeoutMs;
  let lastError = "";
  while (Date.now() < deadline && proc.exitCode === null && proc.signalCode === null) {
    try {
      await run("ssh", [...sshArgs(hosts, host, ["-o", "ConnectTimeout=2"]), "true"], {
        timeout: 5000,
      });
      return;
    } catch (err) {
      lastError = (err as { stderr?: string }).stderr?.trim() || String(err);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const state = proc.exitCode === null && proc.signalCode === null ? "running" : "exited";
  throw new Error(
    `startSshHosts: no login to ${hosts.user}@${host.address}:${host.port} within ` +
      `${readyTimeoutMs / 1000}s (sshd ${state}); ssh said: ${lastError}; ` +
      `sshd stderr: ${daemon.stderr().trim() || "(empty)"}`,
  );
}

/**
 * Stops a daemon and the per-connection sshd processes it forked (they run in their own sessions,
 * so killing the listener alone would leave them, e.g. behind a ControlPersist master). Leaves go
 * first, so each parent is still there to reap its child and no zombie is handed to init.
 */
async function stopDaemon(daemon: Daemon): Promise<void> {
  const { proc } = daemon;
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) {
    return;
  }
  const deadline = Date.now() + 2000;
  for (let tree = liveDescendants(proc.pid); tree.length > 0; tree = liveDescendants(proc.pid)) {
    if (Date.now() > deadline) {
      break;
    }
    const parents = new Set(tree.map((p) => p.ppid));
    for (const leaf of tree.filter((p) => !parents.has(p.pid))) {
      signal(leaf.pid, "SIGTERM");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  for (const p of liveDescendants(proc.pid)) {
    signal(p.pid, "SIGKILL");
  }
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Processes descending from `pid` that have not exited, read from /proc (Linux). */
function liveDescendants(pid: number): { pid: number; ppid: number }[] {
  const children = new Map<number, { pid: number; ppid: number }[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the parenthesised command name: state, ppid, …
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state !== "Z") {
        const p = { pid: Number(entry), ppid: Number(ppid) };
        children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
      }
    } catch {
      // the process ended while we looked
    }
  }
  const out: { pid: number; ppid: number }[] = [];
  const walk = (parent: number) => {
    for (const c of children.get(parent) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(pid);
  return out;
}
