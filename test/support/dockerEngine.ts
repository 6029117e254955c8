/**
 * A real container engine for tests, and the images they run, built on this machine.
 *
 * The engine is podman (installed by scripts/setup-podman.sh) serving the Docker Engine API on a
 * socket in a temp directory; the docker CLI talks to it through `DOCKER_HOST`, exactly as it
 * talks to Docker Engine. No registry is reachable, so images are built locally from this
 * machine's own binaries: a root filesystem holding `node` and the libraries `ldd` lists, `dash`
 * as `/bin/sh`, and the program (the Kong stand-in; PostgreSQL's client tools). Nothing binary is
 * committed: every image is assembled at test time.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const INSTALL = resolve(__dirname, "../kong-sim/install");

/** A running engine: the `DOCKER_HOST` that reaches it, and how to stop it. */
export interface DockerEngine {
  readonly dockerHost: string;
  stop(): Promise<void>;
}

/** What `docker <args>` printed and returned (never throws on a non-zero exit). */
export interface DockerResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the docker CLI against `dockerHost`. */
export async function dockerCli(
  dockerHost: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutSeconds?: number } = {},
): Promise<DockerResult> {
  try {
    const { stdout, stderr } = await run("docker", [...args], {
      env: { ...process.env, ...opts.env, DOCKER_HOST: dockerHost },
      timeout: (opts.timeoutSeconds ?? 120) * 1000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message?: string };
    return {
      code: typeof e.code === "number" ? e.code : -1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? e.message ?? "",
    };
  }
}

/** Like {@link dockerCli}, but an exit other than 0 throws with docker's output. */
export async function dockerOk(
  dockerHost: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutSeconds?: number } = {},
): Promise<string> {
  const r = await dockerCli(dockerHost, args, opts);
  if (r.code !== 0) {
    throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr || r.stdout}`);
  }
  return r.stdout;
}

/**
 * Starts `podman system service` on a socket in a fresh temp directory and waits until `docker
 * version` gets the server's answer through it. `stop()` ends the service (containers and images
 * stay in podman's storage: remove what you created first).
 */
export async function startDockerEngine(): Promise<DockerEngine> {
  const dir = mkdtempSync(join(tmpdir(), "kong-gw-podman-"));
  const socket = join(dir, "podman.sock");
  const dockerHost = `unix://${socket}`;
  const logPath = join(dir, "service.log");
  const log = openSync(logPath, "a");
  let service: ChildProcess;
  try {
    service = spawn("podman", ["system", "service", "--time=0", dockerHost], {
      stdio: ["ignore", log, log],
    });
  } catch (err) {
    throw new Error(
      `cannot start podman (${(err as Error).message}); run 'bash scripts/setup-podman.sh' (npm test runs it as part of setup)`,
    );
  }
  let exited: string | undefined;
  service.once("error", (err) => (exited = `podman failed to run: ${err.message}`));
  service.once("exit", (code, signal) => (exited = `podman exited (${code ?? signal})`));
  const stop = async () => {
    if (service.exitCode === null && service.signalCode === null) {
      const gone = new Promise((r) => service.once("exit", r));
      service.kill("SIGTERM");
      const timer = setTimeout(() => service.kill("SIGKILL"), 10_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await dockerCli(dockerHost, ["version", "--format", "{{.Server.Version}}"], {
      timeoutSeconds: 10,
    });
    if (v.code === 0 && v.stdout.trim() !== "") {
      return { dockerHost, stop };
    }
    if (exited !== undefined || Date.now() > deadline) {
      const why = exited ?? `docker version did not answer within 30 s: ${v.stderr.trim()}`;
      const text = readFileSync(logPath, "utf8").trim().split("\n").slice(-5).join("\n");
      await stop();
      throw new Error(`podman system service on ${socket}: ${why}\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Shared libraries a binary loads (`ldd`), with the dynamic loader. */
async function librariesOf(binary: string): Promise<string[]> {
  const { stdout } = await run("ldd", [binary]);
  const libs: string[] = [];
  for (const line of stdout.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) {
      libs.push(m[1]);
    }
  }
  return libs;
}

/** Copies `files` (dereferenced) into `rootfs` at the same absolute paths. */
function copyInto(rootfs: string, files: readonly string[]): void {
  for (const f of files) {
    const to = join(rootfs, f);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(realpathSync(f), to);
    chmodSync(to, statSync(realpathSync(f)).mode & 0o777);
  }
}

/** A root filesystem with `/bin/sh` (dash), the given binaries and their libraries. */
async function baseRootfs(rootfs: string, binaries: readonly string[]): Promise<void> {
  const shell = realpathSync("/bin/sh").endsWith("dash") ? "/bin/sh" : "/usr/bin/dash";
  const libs = new Set<string>();
  for (const b of [shell, ...binaries]) {
    (await librariesOf(b)).forEach((l) => libs.add(l));
  }
  copyInto(rootfs, [...binaries, ...libs]);
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync(realpathSync(shell), join(rootfs, "bin", "sh"));
  chmodSync(join(rootfs, "bin", "sh"), 0o755);
  for (const d of ["tmp", "etc", "run/secrets"]) {
    mkdirSync(join(rootfs, d), { recursive: true });
  }
  chmodSync(join(rootfs, "tmp"), 0o1777);
  writeFileSync(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(rootfs, "etc", "group"), "root:x:0:\n");
}

/** `docker build` of `context` as `ref` (the legacy builder: podman serves no BuildKit). */
async function build(dockerHost: string, ref: string, context: string): Promise<void> {
  await dockerOk(dockerHost, ["build", "-q", "-t", ref, context], {
    env: { DOCKER_BUILDKIT: "0" },
    timeoutSeconds: 300,
  });
}

/** The label every test image carries: the digest of what it was built from. */
export const BUILD_LABEL = "kong-gateway.test-build";

/** True when the engine has `ref` with label {@link BUILD_LABEL} = `id`. */
async function hasBuild(dockerHost: string, ref: string, id: string): Promise<boolean> {
  const r = await dockerCli(dockerHost, [
    "image",
    "inspect",
    "--format",
    `{{index .Config.Labels "${BUILD_LABEL}"}}`,
    ref,
  ]);
  return r.code === 0 && r.stdout.trim() === id;
}

/**
 * Kong's `docker-entrypoint.sh`, the part this project relies on: `<VAR>_FILE` becomes `<VAR>`
 * (the file's content) for the database credentials, so the password never sits in the
 * container's environment as docker shows it. Refuses both set at once, as Kong's does.
 */
const ENTRYPOINT = `#!/bin/sh
# Kong's docker-entrypoint.sh in short (test image): <VAR>_FILE -> <VAR>, then exec the command.
set -e
for var in KONG_PG_PASSWORD KONG_PG_USER KONG_PG_DATABASE; do
  eval "val=\\\${$var:-} file=\\\${\${var}_FILE:-}"
  if [ -n "$val" ] && [ -n "$file" ]; then
    echo "error: both $var and \${var}_FILE are set (but are exclusive)" >&2
    exit 1
  fi
  if [ -n "$file" ]; then
    IFS= read -r val <"$file" || [ -n "$val" ]
    export "$var=$val"
    unset "\${var}_FILE"
  fi
done
exec "$@"
`;

/** Options of {@link buildKongImage}. */
export interface KongImageOptions {
  /** Environment baked into the image (e.g. a stand-in fault such as `KONG_SIM_FAIL_MIGRATION`). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Builds `<repo>:<version>` (e.g. `localhost/kong:3.6.0`): the Kong stand-in playing `version`
 * as `/usr/local/bin/kong`, an entrypoint doing Kong's `<VAR>_FILE` handling, `CMD ["kong",
 * "docker-start"]`, `STOPSIGNAL SIGQUIT`, `/etc/kong/kong.conf.default` and the listeners the
 * node containers publish (8000, 8001, 8100) — the shape of Kong's official images. An image of
 * the same sources and options already on the engine is reused.
 */
export async function buildKongImage(
  dockerHost: string,
  repo: string,
  version: string,
  opts: KongImageOptions = {},
): Promise<string> {
  const ref = `${repo}:${version}`;
  used.add(ref);
  const base = await nodeBaseImage(dockerHost);
  const stage = mkdtempSync(join(tmpdir(), "kong-gw-image-"));
  try {
    const sim = join(stage, "sim");
    await run(INSTALL, [version, sim]);
    const env = { KONG_VERSION: version, ...opts.env };
    const simBuild = readFileSync(join(sim, "lib", "BUILD_ID"), "utf8");
    const id = buildId([base, simBuild, env, ENTRYPOINT]);
    if (await hasBuild(dockerHost, ref, id)) {
      return ref;
    }
    const ctx = join(stage, "ctx");
    const rootfs = join(ctx, "rootfs");
    cpSync(join(sim, "lib"), join(rootfs, "usr", "local", "kong-sim"), { recursive: true });
    mkdirSync(join(rootfs, "usr", "local", "bin"), { recursive: true });
    writeFileSync(
      join(rootfs, "usr", "local", "bin", "kong"),
      `#!/bin/sh\n# Kong ${version} stand-in (test/kong-sim): not Kong.\nexec ${realpathSync(process.execPath)} /usr/local/kong-sim/kong.js "$@"\n`,
      { mode: 0o755 },
    );
    writeFileSync(join(rootfs, "docker-entrypoint.sh"), ENTRYPOINT, { mode: 0o755 });
    mkdirSync(join(rootfs, "etc", "kong"), { recursive: true });
    writeFileSync(
      join(rootfs, "etc", "kong", "kong.conf.default"),
      "# Kong's configuration defaults (test image): every setting commented out.\n#database = postgres\n",
    );
    mkdirSync(join(rootfs, "usr", "local", "kong"), { recursive: true });
    const envLines = Object.entries({ KONG_PREFIX: "/usr/local/kong", ...env }).map(
      ([k, v]) => `ENV ${k}=${JSON.stringify(v)}`,
    );
    writeFileSync(
      join(ctx, "Dockerfile"),
      [
        `FROM ${base}`,
        "COPY rootfs/ /",
        ...envLines,
        `LABEL ${BUILD_LABEL}="${id}"`,
        "EXPOSE 8000 8001 8100",
        "STOPSIGNAL SIGQUIT",
        'ENTRYPOINT ["/docker-entrypoint.sh"]',
        'CMD ["kong", "docker-start"]',
        "",
      ].join("\n"),
    );
    await build(dockerHost, ref, ctx);
    return ref;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** A short digest of what an image is built from: its cache key. */
function buildId(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16);
}

/** The layer every Kong image shares: `/bin/sh`, this machine's `node` and its libraries. */
async function nodeBaseImage(dockerHost: string): Promise<string> {
  const node = realpathSync(process.execPath);
  const id = buildId([node, statSync(node).mtimeMs, statSync(node).size]);
  const ref = `localhost/kong-gateway-test-node:${id}`;
  if (await hasBuild(dockerHost, ref, id)) {
    return ref;
  }
  const ctx = mkdtempSync(join(tmpdir(), "kong-gw-image-"));
  try {
    await baseRootfs(join(ctx, "rootfs"), [node]);
    writeFileSync(
      join(ctx, "Dockerfile"),
      [
        "FROM scratch",
        "COPY rootfs/ /",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        `LABEL ${BUILD_LABEL}="${id}"`,
        "",
      ].join("\n"),
    );
    await build(dockerHost, ref, ctx);
    return ref;
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** The Kong and client images this process built or reused: what {@link removeTestImages} removes. */
const used = new Set<string>();

/**
 * Removes the Kong and client images this process built or reused. Not every image with
 * {@link BUILD_LABEL}: test files run at once share podman's storage, and another file's images
 * (and their containers, which `rm -f` would take along) may be in use right now. The node base
 * layer they all build on stays, as a cache keyed by this machine's `node`.
 */
export async function removeTestImages(dockerHost: string): Promise<void> {
  if (used.size > 0) {
    await dockerCli(dockerHost, ["image", "rm", "-f", ...used]);
    used.clear();
  }
}

/**
 * Builds `ref` (e.g. `localhost/postgres:15`): PostgreSQL's client tools of this machine
 * (`pg_dump`, `pg_restore`, `psql` from `bindir`) on PATH, like the official `postgres` image
 * for the runner's one-shot pg client containers. Reused when already built from the same tools.
 */
export async function buildPgClientImage(
  dockerHost: string,
  ref: string,
  bindir: string,
): Promise<string> {
  const tools = ["pg_dump", "pg_restore", "psql"].map((t) => join(bindir, t));
  const id = buildId(tools.map((t) => [t, statSync(t).mtimeMs]));
  used.add(ref);
  if (await hasBuild(dockerHost, ref, id)) {
    return ref;
  }
  const ctx = mkdtempSync(join(tmpdir(), "kong-gw-image-"));
  try {
    await baseRootfs(join(ctx, "rootfs"), tools);
    writeFileSync(
      join(ctx, "Dockerfile"),
      [
        "FROM scratch",
        "COPY rootfs/ /",
        `ENV PATH=${bindir}:/usr/local/bin:/usr/bin:/bin`,
        `LABEL ${BUILD_LABEL}="${id}"`,
        "",
      ].join("\n"),
    );
    await build(dockerHost, ref, ctx);
    return ref;
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}
