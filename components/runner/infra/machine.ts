/**
 * A machine the step runner acts on: this one (the `local` runtime), or a host reached over SSH
 * (the `hosts` runtime). The node lifecycle in runtimes/process.ts is written once against this
 * interface, so starting, stopping and checking a Kong node is the same code on both.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { cleanEnv, execFile, ExecResult } from "./exec";

/** How a program runs on a machine. */
export interface MachineExec {
  /** Non-secret environment (`KONG_*` settings). */
  readonly env: Record<string, string>;
  /**
   * Secret environment. Locally it is plain environment; over SSH it travels on stdin (sshd drops
   * client environment unless AcceptEnv allows it, and a command line is visible in `ps`).
   */
  readonly secrets: Record<string, string>;
  readonly timeoutSeconds: number;
  /** Echo output to our stderr while it runs. @default false */
  readonly echo?: boolean;
}

/** One machine. Every method resolves; failures come back as exit codes or `undefined`. */
export interface Machine {
  /** `this machine` or `host 10.0.0.11`, for messages. */
  readonly label: string;
  exec(file: string, args: readonly string[], opts: MachineExec): Promise<ExecResult>;
  /**
   * The pid in `pidFile` if that process is alive and is still the file's owner: its command line
   * names `owner` (a Kong node's prefix) as a word. Otherwise the file is stale and is removed.
   * See {@link PID_SCRIPT}.
   */
  alivePid(pidFile: string, owner: string): Promise<number | undefined>;
  /** SIGKILLs the process {@link Machine.alivePid} finds, checked in the same call; its pid. */
  kill(pidFile: string, owner: string): Promise<number | undefined>;
  /** Whether `path` is an executable file. */
  isExecutable(path: string): Promise<boolean>;
  /** Removes a directory tree (no error when it does not exist). */
  removeTree(path: string): Promise<void>;
  /** Removes a directory if it is empty (nothing otherwise). */
  removeIfEmpty(path: string): Promise<void>;
  /** Writes a file only its owner can read (mode 0600), creating its directory. */
  writePrivateFile(path: string, content: string): Promise<void>;
  /** Removes the file at `path` if one of its lines is exactly `line` (nothing otherwise). */
  removeFileWithLine(path: string, line: string): Promise<void>;
}

export { cleanEnv } from "./exec";

/**
 * {@link PID_SCRIPT} on this machine. No pid file, no process (the script's first answer):
 * known here without a shell, the common case inside the outage (a new node's fresh prefix, a
 * node just quit).
 */
async function pidOwner(
  pidFile: string,
  owner: string,
  kill?: "kill",
): Promise<number | undefined> {
  if (!existsSync(pidFile)) {
    return undefined;
  }
  const args = ["-c", PID_SCRIPT, "sh", pidFile, owner, ...(kill ? [kill] : [])];
  return parsePid((await execFile("/bin/sh", args)).stdout);
}

/** This machine. */
export const localMachine: Machine = {
  label: "this machine",
  exec: (file, args, opts) =>
    execFile(file, args, {
      env: { ...cleanEnv(), ...opts.env, ...opts.secrets },
      timeoutSeconds: opts.timeoutSeconds,
      echo: opts.echo,
    }),
  alivePid: (pidFile, owner) => pidOwner(pidFile, owner),
  kill: (pidFile, owner) => pidOwner(pidFile, owner, "kill"),
  isExecutable: (path) => {
    try {
      return Promise.resolve(statSync(path).isFile());
    } catch {
      return Promise.resolve(false);
    }
  },
  removeTree: (path) => {
    rmSync(path, { recursive: true, force: true });
    return Promise.resolve();
  },
  writePrivateFile: (path, content) => {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, content, { mode: 0o600 });
    chmodSync(path, 0o600);
    return Promise.resolve();
  },
  removeIfEmpty: (path) => {
    try {
      rmdirSync(path);
    } catch {
      // not empty, or already gone
    }
    return Promise.resolve();
  },
  removeFileWithLine: (path, line) => {
    if (existsSync(path) && readFileSync(path, "utf8").split("\n").includes(line)) {
      rmSync(path, { force: true });
    }
    return Promise.resolve();
  },
};

/**
 * Finds (and with a third argument `kill`, SIGKILLs) the owner of a pid file: `sh -c PID_SCRIPT sh
 * <pid file> <owner> [kill]` prints the pid when the process is alive and its command line has
 * `<owner>` as a word (repeated and trailing slashes aside). Kong runs nginx as `nginx -p <prefix> -c
 * nginx.conf`, and its master keeps that in its title, so a node's prefix names its process; the
 * stand-in's node runs as `node kong-node.js <version> <prefix>`. Pids wrap (at 32768 on many
 * hosts), so a pid file left by a killed node can name an unrelated process by now; plain
 * `kill -0`, which Kong's own `kong start`/`quit` trust, would call it running and signal it.
 * Such a stale file is removed: `kong start` then starts instead of refusing "already running".
 * The same script runs on this machine and on hosts over SSH, so the check is the same on both;
 * /proc where it exists, else `ps`. A process hidden from this user (hidepid) looks stale.
 */
export const PID_SCRIPT = `set -f
o=$(printf '%s\\n' "$2" | tr -s /)
p=$(cat -- "$1" 2>/dev/null) || exit 0
case $p in '' | *[!0-9]*) exit 0 ;; esac
if [ -r "/proc/$p/cmdline" ]; then c=$(tr -s '\\000/' ' /' < "/proc/$p/cmdline" 2>/dev/null)
else c=$(ps -o args= -p "$p" 2>/dev/null | tr -s /); fi
for w in $c; do
  if [ "\${w%/}" = "\${o%/}" ]; then
    if [ "$3" = kill ]; then kill -9 "$p" 2>/dev/null; fi
    echo "$p"; exit 0
  fi
done
rm -f -- "$1"`;

/** The pid {@link PID_SCRIPT} printed, if any. */
export function parsePid(out: string): number | undefined {
  const pid = Number(out.trim());
  return out.trim() !== "" && Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Quotes one word for a POSIX shell. */
export function shq(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
