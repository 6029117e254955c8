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
import { assertNotCancelled, cleanEnv, execFile, ExecResult } from "./exec";

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
  /** The pid in `pidFile` if that process is alive. */
  alivePid(pidFile: string): Promise<number | undefined>;
  kill(pid: number): Promise<void>;
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

/** This machine. */
export const localMachine: Machine = {
  label: "this machine",
  exec: (file, args, opts) =>
    execFile(file, args, {
      env: { ...cleanEnv(), ...opts.env, ...opts.secrets },
      timeoutSeconds: opts.timeoutSeconds,
      echo: opts.echo,
    }),
  alivePid: (pidFile) => Promise.resolve(localAlivePid(pidFile)),
  kill: (pid) => {
    assertNotCancelled();
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
    return Promise.resolve();
  },
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

function localAlivePid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) {
    return undefined;
  }
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    return undefined;
  }
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Quotes one word for a POSIX shell. */
export function shq(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
