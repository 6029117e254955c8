/**
 * Running external programs (kong, pg_dump, pg_restore) with captured output, a time limit and
 * no shell, so nothing in an argument is ever interpreted and no secret is ever on a command line.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { ChildProcess, spawn } from "node:child_process";

/** The programs running now, so a step that exceeds its time limit can end them. */
const live = new Set<ChildProcess>();

/** Kills every program this process started that still runs (a step ran out of time). */
export function killAll(): number {
  for (const child of live) {
    child.kill("SIGKILL");
  }
  return live.size;
}

/** The work a time limit may cut short: once `cancelled`, it may not act any more. */
interface Scope {
  cancelled: string | undefined;
}

const scopes = new AsyncLocalStorage<Scope>();

/**
 * Runs `work` so that it can be cancelled: after `cancel(why)`, every further action it tries
 * (a program, a signal, a database session, a pause between polls) throws instead, so a step that
 * ran out of time cannot stop a node the automatic rollback has just started again. Work started
 * outside (the rollback itself) is not affected: the scope follows `work`'s own async calls only.
 */
export function cancellable<T>(work: () => Promise<T>): {
  readonly done: Promise<T>;
  cancel(why: string): void;
} {
  const scope: Scope = { cancelled: undefined };
  return {
    done: scopes.run(scope, work),
    cancel: (why) => {
      scope.cancelled = why;
    },
  };
}

/** Throws when the work this is called from was cancelled ({@link cancellable}). */
export function assertNotCancelled(): void {
  const why = scopes.getStore()?.cancelled;
  if (why !== undefined) {
    throw new Error(`cancelled: ${why}`);
  }
}

/** The outcome of one program run. */
export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/**
 * The environment without the runner's own variables (the spec, the SSH key) and the password:
 * what the runner starts gets a secret only when it names it (`MachineExec.secrets`, libpq's
 * `PGPASSWORD`), so no ssh client, docker client, install command or Kong node inherits one.
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.KONG_GW_SPEC;
  delete env.KONG_GW_SSH_KEY;
  delete env.KONG_GW_HOST_KEYS;
  delete env.KONG_PG_PASSWORD;
  // What the engine's processes hold and the runner inherits: the keys to the stack's secrets.
  delete env.PULUMI_CONFIG_PASSPHRASE;
  delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
  delete env.PULUMI_ACCESS_TOKEN;
  return env;
}

/** Options for {@link execFile}. */
export interface ExecOptions {
  /** @default {@link cleanEnv}() (never the runner's secrets unless the caller adds them) */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Kill the program after this many seconds (default 600). */
  readonly timeoutSeconds?: number;
  /** Echo the program's output lines to our stderr while it runs (live progress in `pulumi up`). */
  readonly echo?: boolean;
  /** Written to the program's stdin (then closed); how secrets reach remote commands. */
  readonly input?: string;
}

/** Runs `file args...`; resolves with the exit code (never rejects for a non-zero exit). */
export function execFile(
  file: string,
  args: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const started = Date.now();
  assertNotCancelled();
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      env: opts.env ?? cleanEnv(),
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    live.add(child);
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on("error", () => undefined);
      child.stdin.end(opts.input);
    }
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (opts.echo) {
        process.stderr.write(d);
      }
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (opts.echo) {
        process.stderr.write(d);
      }
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), (opts.timeoutSeconds ?? 600) * 1000);
    const done = (code: number, extra = "") => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, stdout, stderr: stderr + extra, seconds: (Date.now() - started) / 1000 });
    };
    child.on("error", (err) => done(127, `${file}: ${err.message}\n`));
    child.on("close", (code, signal) =>
      done(code ?? (signal ? 128 : 1), signal ? `killed by ${signal}\n` : ""),
    );
  });
}

/** The last `n` non-empty lines of a program's output, for error messages. */
export function tail(text: string, n = 8): string {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(-n)
    .join("\n");
}
