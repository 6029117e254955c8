/**
 * The docker runtime: Kong nodes are containers the DockerCluster component creates (stopped);
 * the runner starts, stops and discovers them with the docker CLI and runs Kong's CLI in
 * one-shot containers of the target version's image. Containers are found by their labels, never
 * by what the program believes, so a re-run after a crash sees the real state. Every command
 * line comes from components/runner/runtimes/dockerArgv.ts; the password only travels in the docker client's
 * environment (forwarded by name).
 */
import {
  containerSettings,
  imageInspectArgs,
  imageRef,
  InspectedContainer,
  inspectArgs,
  KONG_CONF_DEFAULT,
  kongRunArgs,
  killArgs,
  LABELS,
  listArgs,
  logsArgs,
  networkInspectArgs,
  oneShotName,
  pullArgs,
  recordFromContainer,
  removeArgs,
  startArgs,
  stopArgs,
  withDatabaseHost,
} from "./dockerArgv";
import { execFile, ExecResult, tail } from "../infra/exec";
import { databaseSettings, describeFailure, reportedVersion } from "../infra/kong";
import { cleanEnv } from "../infra/machine";
import { NodeRecord } from "../../state/nodes";
import { isReady, sleep } from "../infra/http";
import type { NodeRuntime, StartResult } from "./nodeRuntime";
import { RuntimeSpec, StepSpec } from "../../contract/spec";

/** The docker variant of the runtime spec. */
export type DockerRuntimeSpec = Extract<RuntimeSpec, { kind: "docker" }>;

/** The spec's docker settings; throws when the spec names another runtime. */
export function dockerSpecOf(spec: Pick<StepSpec, "runtime">): DockerRuntimeSpec {
  const rt = spec.runtime;
  if (rt?.kind !== "docker") {
    throw new Error(
      `the docker runtime needs spec.runtime.kind "docker", got "${rt?.kind ?? "local"}"`,
    );
  }
  return rt;
}

/**
 * The docker client's environment: ours without the runner's own variables and secrets (a
 * one-shot container gets the password on stdin, see argv.ts `kongRunArgs`).
 */
export function dockerEnv(): NodeJS.ProcessEnv {
  return cleanEnv();
}

/** Runs `docker <args>` (with `input` on its stdin); resolves with the exit code like execFile. */
export function docker(
  args: readonly string[],
  timeoutSeconds = 60,
  echo = false,
  input?: string,
): Promise<ExecResult> {
  return execFile("docker", args, { env: dockerEnv(), timeoutSeconds, echo, input });
}

/** The line of docker's (or Kong's) output that says what went wrong. */
function reason(r: ExecResult): string {
  const lines = (r.stderr + "\n" + r.stdout).split("\n").map((l) => l.trim());
  return (
    lines.find((l) => l.startsWith("Error: ")) ??
    lines.find((l) => /^(docker: )?Error response from daemon/.test(l)) ??
    (tail(r.stderr || r.stdout, 3) || `exit ${r.code}, no output`)
  );
}

const NO_SUCH = /No such (container|object)/i;

/** The NodeRuntime of `spec` on docker (see the module comment). */
export function dockerRuntime(spec: StepSpec): NodeRuntime {
  const rt = dockerSpecOf(spec);
  const host = rt.dockerHost;
  const targets = new Set(spec.nodes.map((n) => n.prefix));
  const nameOf = (rec: NodeRecord) => rec.container ?? rec.prefix.replace(/^docker:/, "");
  // Target nodes must run what the component created; another cluster's containers run what
  // their own labels and environment say (databaseHost may have changed since).
  const expected = (rec: NodeRecord) =>
    targets.has(rec.prefix) ? containerSettings(rec.settings, rt.databaseHost) : rec.settings;
  let networkSeen = false;

  const inspectOne = async (name: string): Promise<InspectedContainer | undefined> => {
    const r = await docker(inspectArgs(host, [name]));
    if (r.code !== 0) {
      if (NO_SUCH.test(r.stderr)) {
        return undefined;
      }
      throw new Error(`docker cannot inspect container ${name}: ${reason(r)}`);
    }
    return (JSON.parse(r.stdout) as InspectedContainer[])[0];
  };

  const running = async (rec: NodeRecord) =>
    (await inspectOne(nameOf(rec)))?.State.Running === true;

  const differences = (rec: NodeRecord, c: InspectedContainer): string[] => {
    const env = new Map(
      (c.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );
    const out: string[] = [];
    const version = c.Config.Labels?.[LABELS.version];
    if (version !== rec.version) {
      out.push(`Kong ${String(version)} instead of ${rec.version}`);
    }
    for (const [k, v] of Object.entries(expected(rec))) {
      if (env.get(k) !== v) {
        out.push(`${k}=${env.has(k) ? `"${env.get(k)}"` : "(unset)"} instead of "${v}"`);
      }
    }
    return out;
  };

  /** Waits for `/status/ready`, failing fast with Kong's own error when the container exits. */
  const readyOrExit = async (rec: NodeRecord, name: string, seconds: number): Promise<Date> => {
    const deadline = Date.now() + seconds * 1000;
    let nextLook = Date.now() + 1000;
    while (Date.now() < deadline) {
      if (await isReady(rec.statusUrl)) {
        return new Date();
      }
      if (Date.now() >= nextLook) {
        nextLook = Date.now() + 1000;
        const c = await inspectOne(name);
        if (!c?.State.Running) {
          const logs = await docker(logsArgs(host, name));
          throw new Error(
            `${rec.id}: Kong ${rec.version} in container ${name} exited (code ${c?.State.ExitCode ?? "?"}) before it was ready: ${reason(logs)}`,
          );
        }
      }
      await sleep(50);
    }
    throw new Error(
      `${rec.id}: Kong ${rec.version} started in container ${name} but ${rec.statusUrl}/status/ready did not answer 200 within ${seconds}s (see 'docker logs ${name}')`,
    );
  };

  const start = async (rec: NodeRecord, startSeconds: number): Promise<StartResult> => {
    const startedAt = new Date();
    const name = nameOf(rec);
    const c = await inspectOne(name);
    if (!c) {
      throw new Error(
        `${rec.id}: container ${name} does not exist on the docker engine; the stack creates it (DockerCluster): run pulumi up`,
      );
    }
    const diff = differences(rec, c);
    if (diff.length > 0) {
      throw new Error(
        `${rec.id}: container ${name} was created with other settings (${diff.join("; ")}); a container cannot change in place, so pulumi up must replace it (or remove it: docker rm -f ${name})`,
      );
    }
    if (!c.State.Running) {
      const r = await docker(startArgs(host, name), 60);
      if (r.code !== 0) {
        throw new Error(
          `${rec.id}: docker start ${name} (Kong ${rec.version}) failed: ${reason(r)}`,
        );
      }
    }
    const readyAt = await readyOrExit(rec, name, startSeconds);
    return { startedAt, readyAt, skipped: c.State.Running };
  };

  const stop = async (rec: NodeRecord, quitSeconds: number) => {
    const name = nameOf(rec);
    const c = await inspectOne(name);
    if (!c?.State.Running) {
      return { stopped: false };
    }
    const r = await docker(
      stopArgs(host, name, quitSeconds, c.Config.StopSignal),
      quitSeconds + 30,
    );
    if (await running(rec)) {
      await docker(killArgs(host, name), 30);
      if (await running(rec)) {
        throw new Error(
          `${rec.id}: container ${name} still runs after docker stop and docker kill: ${reason(r)}`,
        );
      }
    }
    return { stopped: true };
  };

  /** The network must exist before a one-shot joins it; on a new stack it may be being created. */
  const awaitNetwork = async () => {
    const deadline = Date.now() + 60_000;
    while (!networkSeen) {
      const r = await docker(networkInspectArgs(host, rt.network));
      if (r.code === 0) {
        networkSeen = true;
      } else if (Date.now() > deadline) {
        throw new Error(
          `docker network ${rt.network} does not exist (${reason(r)}); the stack creates it unless kong-gateway:docker.network names an existing one`,
        );
      } else {
        await sleep(1000);
      }
    }
  };

  /**
   * Runs a one-shot Kong container and removes it by name after (not `--rm`: see kongRunArgs).
   * An ended container of the same command, left by a runner that died, is removed first; a
   * running one makes docker refuse the name, and is left alone.
   */
  const oneShot = async (
    args: readonly string[],
    settings: Record<string, string>,
    network: string,
    timeoutSeconds: number,
    echo: boolean,
  ): Promise<ExecResult> => {
    const argv = kongRunArgs({
      dockerHost: host,
      cluster: spec.cluster,
      image: rt.image,
      version: spec.to,
      network,
      settings,
      args,
    });
    const name = oneShotName(spec.cluster, args, spec.to);
    const left = await inspectOne(name);
    if (left && !left.State.Running) {
      await docker(removeArgs(host, name), 30);
    }
    const r = await docker(argv, timeoutSeconds, echo, `${process.env.KONG_PG_PASSWORD ?? ""}\n`);
    if (/is already in use/.test(r.stderr)) {
      return r;
    }
    await docker(removeArgs(host, name), 30);
    if (/killed by SIG/.test(r.stderr)) {
      return { ...r, stderr: `${r.stderr}container ${name} removed after ${timeoutSeconds}s\n` };
    }
    return r;
  };

  /** The image on the engine, pulled if missing; a problem message, or undefined when present. */
  const ensureImage = async (ref: string): Promise<string | undefined> => {
    if ((await docker(imageInspectArgs(host, ref))).code === 0) {
      return undefined;
    }
    const pull = await docker(pullArgs(host, ref), 900);
    return pull.code === 0
      ? undefined
      : `image ${ref} is not on the docker engine and docker pull failed: ${reason(pull)}; check kong-gateway:docker.image and the version`;
  };

  return {
    discover: async () => {
      const ps = await docker(listArgs(host, spec.cluster));
      if (ps.code !== 0) {
        throw new Error(`docker cannot list the containers of ${spec.cluster}: ${reason(ps)}`);
      }
      const ids = ps.stdout
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "");
      if (ids.length === 0) {
        return [];
      }
      // A container removed between `ps` and `inspect` makes inspect exit 1 for it alone.
      const r = await docker(inspectArgs(host, ids));
      let found: InspectedContainer[];
      try {
        found = JSON.parse(r.stdout || "[]") as InspectedContainer[];
      } catch {
        throw new Error(`docker container inspect printed no JSON: ${reason(r)}`);
      }
      return found
        .map(recordFromContainer)
        .filter((rec): rec is NodeRecord => rec !== undefined && rec.cluster === spec.cluster)
        .sort((a, b) => a.prefix.localeCompare(b.prefix));
    },
    running,
    start,
    stop,
    // The DockerCluster's container resource removes the container itself after this.
    remove: async (rec, quitSeconds) => {
      await stop(rec, quitSeconds);
    },
    kong: async (args, opts) => {
      await awaitNetwork();
      const settings = withDatabaseHost(
        databaseSettings(spec.database, spec.plugins),
        rt.databaseHost,
      );
      return oneShot(args, settings, rt.network, opts.timeoutSeconds, opts.echo ?? false);
    },
    checkTarget: async (y) => {
      const ref = imageRef(rt.image, spec.to);
      const missing = await ensureImage(ref);
      if (missing) {
        return [missing];
      }
      const problems: string[] = [];
      // Neither needs the database, so neither joins the network (which may not exist yet).
      const v = await oneShot(["version"], {}, "", 120, false);
      const shown = reportedVersion(v.stdout);
      if (v.code !== 0 || shown.version !== spec.to) {
        problems.push(
          `${ref} reports version "${shown.line}" (exit ${v.code}: ${v.code === 0 ? "ok" : reason(v)}), expected ${spec.to}`,
        );
      }
      const check = await oneShot(["check", KONG_CONF_DEFAULT], expected(y), "", 120, false);
      if (check.code !== 0) {
        problems.push(
          describeFailure(`Kong ${spec.to} rejects the nodes' configuration: kong check`, check),
        );
      }
      return problems;
    },
  };
}
