/**
 * Hosts reached over SSH with the system's OpenSSH client. The private key arrives as the secret
 * `KONG_GW_SSH_KEY` environment value and lives in a 0600 file only while the runner runs;
 * secrets for remote programs (the database password) travel on stdin, base64-encoded, and are
 * exported by the remote shell just before `exec` — never on a command line, never through
 * `SendEnv` (sshd drops it unless AcceptEnv allows it).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBastion } from "../../contract/templates";
import { execFile, ExecResult } from "./exec";
import { cleanEnv, Machine, MachineExec, parsePid, PID_SCRIPT, shq } from "./machine";
import { SshSpec } from "../../contract/spec";

/** The environment variable carrying the private key (a secret of the command resource). */
export const SSH_KEY_ENV = "KONG_GW_SSH_KEY";

let keyFile: string | undefined;

/** Writes the private key to a 0600 file for this process (removed when the process exits). */
export function privateKeyFile(stateDir: string): string {
  if (keyFile) {
    return keyFile;
  }
  const key = process.env[SSH_KEY_ENV];
  if (!key) {
    throw new Error(
      `${SSH_KEY_ENV} is empty: set the hosts' private key with 'pulumi config set --secret kong-gateway:sshPrivateKey < key-file'`,
    );
  }
  const dir = join(stateDir, "ssh");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  removeStaleKeys(dir);
  const started = startTicks(process.pid);
  const file = join(dir, `id-${process.pid}${started ? `-${started}` : ""}`);
  writeFileSync(file, key.endsWith("\n") ? key : `${key}\n`, { mode: 0o600 });
  keyFile = file;
  process.on("exit", () => rmSync(file, { force: true }));
  return file;
}

/** The directory of the shared connections' sockets (short: a socket path has ~100 bytes). */
function controlDir(): string {
  const dir = join(tmpdir(), `kong-gateway-ssh-${process.getuid?.() ?? "u"}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Removes key files of runner processes that are gone (killed before their exit handler ran). A
 * file is named by its runner's pid and, where /proc exists, that process's start time: a pid
 * reused by another process since (pids wrap) does not keep a dead runner's key on disk.
 */
export function removeStaleKeys(dir: string): void {
  for (const f of readdirSync(dir)) {
    const m = /^id-(\d+)(?:-(\d+))?$/.exec(f);
    const pid = Number(m?.[1]);
    if (!m || !pid) {
      continue;
    }
    if (!(m[2] !== undefined ? startTicks(pid) === m[2] : pidExists(pid))) {
      rmSync(join(dir, f), { force: true });
    }
  }
}

/** Whether a process `pid` exists (`kill -0`; any process, where /proc cannot tell more). */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** When process `pid` started (/proc/<pid>/stat field 22, clock ticks since boot), if known. */
export function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2, the command name, may hold spaces and parentheses: count from the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** The `ssh` arguments that reach `host` (before the remote command). */
export function sshArgs(ssh: SshSpec, host: string, key: string): string[] {
  const common = [
    "-i",
    key,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${ssh.knownHosts}`,
    "-o",
    "StrictHostKeyChecking=accept-new",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "ServerAliveInterval=15",
    "-o",
    "LogLevel=ERROR",
  ];
  // One connection per host, shared by every command of a step and of the next steps (an SSH
  // handshake costs ~0.3 s, and stop/start make several calls inside the downtime). The master
  // detaches from our output pipes and exits 60 s after its last use.
  const mux = [
    "-o",
    "ControlMaster=auto",
    "-o",
    `ControlPath=${controlDir()}/%C`,
    "-o",
    "ControlPersist=60",
  ];
  const args = [...common, ...mux, "-p", String(ssh.port)];
  const bastion = parseBastion(ssh.bastion, ssh.user);
  if (bastion) {
    const jump = [
      "ssh",
      ...common,
      "-p",
      String(bastion.port),
      "-W",
      "%h:%p",
      `${bastion.user}@${bastion.host}`,
    ];
    args.push("-o", `ProxyCommand=${jump.map(shq).join(" ")}`);
  }
  args.push(`${ssh.user}@${host}`);
  return args;
}

/** The remote shell script that exports the secrets read from stdin and runs `file args`. */
export function remoteScript(
  file: string,
  args: readonly string[],
  env: Record<string, string>,
  secretNames: readonly string[],
): string {
  const reads = secretNames.map(
    (name, i) =>
      `IFS= read -r kgw_s${i} && ${name}=$(printf %s "$kgw_s${i}" | base64 -d) && export ${name} && unset kgw_s${i} && `,
  );
  const assigns = Object.entries(env).map(([k, v]) => shq(`${k}=${v}`));
  return `${reads.join("")}exec env ${[...assigns, shq(file), ...args.map(shq)].join(" ")}`;
}

/** A host of the `hosts` runtime. */
export function sshMachine(ssh: SshSpec, host: string, stateDir: string): Machine {
  const run = (script: string, timeoutSeconds: number, input?: string, echo = false) =>
    execFile("ssh", [...sshArgs(ssh, host, privateKeyFile(stateDir)), script], {
      env: cleanEnv(),
      timeoutSeconds,
      input,
      echo,
    });
  /** Runs a script that always exits 0 on the host; anything else is SSH failing. */
  const query = async (script: string): Promise<string> => {
    const r = await run(`${script}; exit 0`, 60);
    if (r.code !== 0) {
      throw new Error(`cannot reach host ${host} over SSH: ${transportError(r)}`);
    }
    return r.stdout.trim();
  };
  return {
    label: `host ${host}`,
    exec: (file: string, args: readonly string[], opts: MachineExec) => {
      const names = Object.keys(opts.secrets);
      const input = names.length
        ? names.map((n) => Buffer.from(opts.secrets[n] ?? "").toString("base64") + "\n").join("")
        : undefined;
      return run(remoteScript(file, args, opts.env, names), opts.timeoutSeconds, input, opts.echo);
    },
    alivePid: async (pidFile, owner) =>
      parsePid(await query(`/bin/sh -c ${shq(PID_SCRIPT)} sh ${shq(pidFile)} ${shq(owner)}`)),
    kill: async (pidFile, owner) =>
      parsePid(await query(`/bin/sh -c ${shq(PID_SCRIPT)} sh ${shq(pidFile)} ${shq(owner)} kill`)),
    isExecutable: async (path) => (await query(`test -x ${shq(path)} && echo yes`)) === "yes",
    removeTree: async (path) => {
      await query(`rm -rf -- ${shq(path)}`);
    },
    writePrivateFile: async (path, content) => {
      const dir = path.slice(0, path.lastIndexOf("/")) || "/";
      const r = await run(
        `umask 077 && mkdir -p ${shq(dir)} && cat > ${shq(path)}.tmp && chmod 600 ${shq(path)}.tmp && mv -f ${shq(path)}.tmp ${shq(path)}`,
        60,
        content,
      );
      if (r.code !== 0) {
        throw new Error(`cannot write ${path} on host ${host}: ${transportError(r)}`);
      }
    },
    removeIfEmpty: async (path) => {
      await query(`rmdir -- ${shq(path)} 2>/dev/null`);
    },
    removeFileWithLine: async (path, line) => {
      await query(`grep -qxF -e ${shq(line)} ${shq(path)} 2>/dev/null && rm -f -- ${shq(path)}`);
    },
  };
}

/** The SSH client's own complaint (exit 255), else the output's end. */
function transportError(r: ExecResult): string {
  return (r.stderr.trim().split("\n").at(-1) ?? "") || `ssh exited ${r.code}`;
}
