/**
 * The Kong under test: a `kong` binary run directly, or a Kong image run with the docker CLI. Both
 * answer the same calls, so every row runs unchanged against either.
 *
 * Image: one long-lived container of the image on the host's network (`--network host`), its
 * entrypoint replaced by a shell that waits on stdin; every command is a `docker exec … kong …`
 * in it. So `kong start` daemonizes nginx inside the container exactly as on a machine, and the
 * node's listeners and the database are at the same 127.0.0.1 addresses as with a binary.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localMachine, PID_SCRIPT } from "../../components/runner/infra/machine";
import type { KongRun } from "./contract";

/** How the kit drives one Kong. */
export interface KongTarget {
  /** For the table's header: `binary /opt/kong/bin/kong` or `image kong:3.6.1`. */
  readonly label: string;
  /** Runs `kong <args>` with exactly these `KONG_*` settings (nothing from the caller's shell). */
  kong(
    args: readonly string[],
    env: Readonly<Record<string, string>>,
    timeoutSeconds?: number,
  ): Promise<KongRun>;
  /** Writes `content` to a new file where this Kong can read it; returns its path there. */
  writeFile(name: string, content: string): Promise<string>;
  /** A fresh, not yet existing directory path for a node prefix, where this Kong runs. */
  newPrefix(): string;
  /** Kills the node of `prefix` if it still runs (`kong stop` failed); never throws. */
  forceStop(prefix: string): Promise<void>;
  /** Stops what the target started (the image's container). */
  close(): Promise<void>;
}

/** Runs a program and returns its exit code and output; never throws on a non-zero exit. */
export function runProgram(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutSeconds = 180,
): Promise<KongRun> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { env, cwd: tmpdir(), timeout: timeoutSeconds * 1000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; killed?: boolean }) | null;
        const code = e === null ? 0 : typeof e.code === "number" ? e.code : -1;
        const why = e !== null && code === -1 ? `${file}: ${e.message}\n` : "";
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + why });
      },
    );
  });
}

/** The caller's PATH only: a real `kong` is a Lua script that finds `resty` through PATH. */
function baseEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  };
}

/** A `kong` executable on this machine. */
export function binaryTarget(bin: string): KongTarget {
  const work = mkdtempSync(join(tmpdir(), "kong-conformance-"));
  let n = 0;
  return {
    label: `binary ${bin}`,
    kong: (args, env, timeoutSeconds) =>
      runProgram(bin, args, { ...baseEnv(), ...env }, timeoutSeconds),
    writeFile: (name, content) => {
      const path = join(work, name);
      writeFileSync(path, content);
      return Promise.resolve(path);
    },
    newPrefix: () => join(work, `prefix-${++n}`),
    // Only the node of `prefix`: a stale pid file can name an unrelated process (PID_SCRIPT).
    forceStop: async (prefix) => {
      await localMachine.kill(join(prefix, "pids", "nginx.pid"), prefix);
    },
    close: () => Promise.resolve(),
  };
}

/** `docker run` of the container the image's commands run in (waits on stdin, host network). */
export function imageRunArgv(image: string, name: string): string[] {
  return [
    "run",
    "-d",
    "-i",
    "--name",
    name,
    "--network",
    "host",
    "--entrypoint",
    "/bin/sh",
    "--label",
    "kong-gateway.conformance=1",
    image,
  ];
}

/**
 * `docker exec` of one `kong` command: settings passed by name (`-e NAME`), their values in the
 * docker CLI's own environment, so the database password is never on a command line.
 */
export function imageExecArgv(
  name: string,
  args: readonly string[],
  envNames: readonly string[],
): string[] {
  return ["exec", ...envNames.flatMap((k) => ["-e", k]), name, "kong", ...args];
}

/** Shell that writes $KONG_CONFORMANCE_FILE to the file named by its first argument (no mkdir: a
 * minimal image may have nothing but a shell and Kong). */
const WRITE = 'printf %s "$KONG_CONFORMANCE_FILE" > "$1"';

/** Options of {@link imageTarget}. */
export interface ImageOptions {
  /** The docker CLI to run. @default "docker" */
  readonly docker?: string;
  /** Environment of the docker CLI (e.g. `DOCKER_HOST`). @default the caller's */
  readonly dockerEnv?: NodeJS.ProcessEnv;
}

/** A Kong image, run with the docker CLI; starts its container now. */
export async function imageTarget(image: string, opts: ImageOptions = {}): Promise<KongTarget> {
  const docker = opts.docker ?? "docker";
  const dockerEnv = opts.dockerEnv ?? process.env;
  const name = `kong-conformance-${process.pid}-${Date.now().toString(36)}`;
  const started = await runProgram(docker, imageRunArgv(image, name), dockerEnv, 600);
  if (started.code !== 0) {
    throw new Error(
      `docker ${imageRunArgv(image, name).join(" ")} exited ${started.code}: ${started.stderr.trim()}`,
    );
  }
  let n = 0;
  const dir = `/tmp/kong-conformance-${process.pid}`;
  return {
    label: `image ${image} (container ${name})`,
    kong: (args, env, timeoutSeconds) =>
      runProgram(
        docker,
        imageExecArgv(name, args, Object.keys(env)),
        { ...dockerEnv, ...env },
        timeoutSeconds,
      ),
    writeFile: async (file, content) => {
      const path = `${dir}-${file}`;
      // The content travels in the docker CLI's environment: podman's exec loses piped stdin.
      const r = await runProgram(
        docker,
        ["exec", "-e", "KONG_CONFORMANCE_FILE", name, "/bin/sh", "-c", WRITE, "sh", path],
        { ...dockerEnv, KONG_CONFORMANCE_FILE: content },
        60,
      );
      if (r.code !== 0) {
        throw new Error(`cannot write ${path} in container ${name}: ${r.stderr.trim()}`);
      }
      return path;
    },
    newPrefix: () => `${dir}/prefix-${++n}`,
    forceStop: async (prefix) => {
      const args = [`${prefix}/pids/nginx.pid`, prefix, "kill"];
      await runProgram(
        docker,
        ["exec", name, "/bin/sh", "-c", PID_SCRIPT, "sh", ...args],
        dockerEnv,
        60,
      );
    },
    close: async () => {
      await runProgram(docker, ["rm", "-f", name], dockerEnv, 120);
    },
  };
}
