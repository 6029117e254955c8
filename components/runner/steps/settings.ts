/**
 * Settings changes on a running cluster (same version): the check that runs before any node
 * restarts, and the restart of one node that puts the old settings back when the new ones fail.
 * A node's record (written before it started) holds the settings and password digest it runs
 * with; the spec holds the ones configured now.
 */
import { reportingStep } from "../../contract/steps";
import { connect } from "node:net";
import { targetNodes } from "./cluster";
import { entries } from "../../state/journal";
import { describeFailure, migrationState } from "../infra/kong";
import { NodeRecord, samePassword } from "../../state/nodes";
import { checkWindow } from "../../plan/policy";
import type { NodeRuntime, StartResult } from "../runtimes/nodeRuntime";
import { StepSpec, strategyOf } from "../../contract/spec";

/** Whether the chain that started these nodes completed (its `verify` succeeded). */
export function chainCompleted(spec: StepSpec): boolean {
  const last = reportingStep(spec.kind, strategyOf(spec));
  return entries(spec).some((e) => e.step === last && e.ok);
}

/** The stack settings behind the `KONG_*` settings, binary and password that differ. */
export function changedSettings(
  spec: StepSpec,
  running: NodeRecord,
  wanted: NodeRecord,
  password: string | undefined,
): string[] {
  const local = (spec.runtime?.kind ?? "local") === "local";
  const names = new Set<string>();
  const keys = new Set([...Object.keys(running.settings), ...Object.keys(wanted.settings)]);
  for (const k of keys) {
    if (running.settings[k] === wanted.settings[k]) {
      continue;
    }
    if (k === "KONG_PLUGINS") {
      names.add("kong-gateway:plugins");
    } else if (k === "KONG_PG_SSL") {
      names.add("kong-gateway:database.ssl");
    } else if (k.endsWith("_LISTEN")) {
      names.add(
        local
          ? "kong-gateway:local.basePort/adminAddress"
          : "kong-gateway:hosts listeners (proxyPort, adminPort, statusPort, listenAddress, adminAddress)",
      );
    } else {
      names.add(`kong-gateway:database (${k})`);
    }
  }
  if (running.kongBin !== wanted.kongBin) {
    names.add(local ? "kong-gateway:local.kongBinary" : "kong-gateway:hosts.kongBinary");
  }
  if (!samePassword(running.passwordDigest, password)) {
    names.add("kong-gateway:dbPassword");
  }
  return [...names];
}

/** `host:port` of a listener setting (`127.0.0.1:8000`, `0.0.0.0:8000 ssl`, `[::1]:8001`). */
function listenPort(listen: string | undefined): number | undefined {
  const m = /:(\d+)(\s|$)/.exec((listen ?? "").split(",")[0] ?? "");
  return m ? Number(m[1]) : undefined;
}

/** Whether something accepts TCP connections at `url`'s host and port. */
function answers(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect({ host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port) });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/**
 * The settings check: for every target node that will (re)start, its new ports must be free
 * unless this cluster's own nodes hold them; on a running cluster (a same-version change) the
 * binary must still report the version, `kong check` must accept the new settings, PostgreSQL
 * must accept the password and the new plugins must not need migrations, and a one-node restart
 * must be inside the maintenance window. Throws the list of problems; changes nothing.
 */
export async function checkSettings(
  spec: StepSpec,
  rt: NodeRuntime,
): Promise<Record<string, unknown>> {
  const password = process.env.KONG_PG_PASSWORD;
  const mine = await rt.discover();
  const ownPorts = new Set(
    mine.flatMap((r) =>
      ["KONG_PROXY_LISTEN", "KONG_ADMIN_LISTEN", "KONG_STATUS_LISTEN"].map(
        (k) => `${r.host ?? ""}:${listenPort(r.settings[k]) ?? ""}`,
      ),
    ),
  );
  const problems: string[] = [];
  const restarts: string[] = [];
  const added: string[] = [];
  const reconfigure = chainCompleted(spec);
  for (const y of targetNodes(spec)) {
    const rec = mine.find((r) => r.prefix === y.prefix);
    const runs = rec ? await rt.running(rec) : false;
    const changed = rec && runs ? changedSettings(spec, rec, y, password) : [];
    if (runs && changed.length === 0) {
      continue;
    }
    if (runs) {
      restarts.push(`${y.id} (${changed.join(", ")})`);
    } else if (reconfigure) {
      added.push(y.id);
    }
    if (spec.runtime?.kind === "docker") {
      continue;
    }
    for (const [key, url] of [
      ["KONG_PROXY_LISTEN", y.proxyUrl],
      ["KONG_ADMIN_LISTEN", y.adminUrl],
      ["KONG_STATUS_LISTEN", y.statusUrl],
    ] as const) {
      const port = listenPort(y.settings[key]);
      if (port !== undefined && !ownPorts.has(`${y.host ?? ""}:${port}`) && (await answers(url))) {
        problems.push(
          `${y.id}: port ${port} (${key}) is already in use by another process on ${y.host ?? "this machine"}; free it or choose other ports (kong-gateway:${spec.runtime?.kind === "hosts" ? "hosts.*Port" : "local.basePort"})`,
        );
      }
    }
  }
  if (reconfigure && (restarts.length > 0 || added.length > 0) && problems.length === 0) {
    problems.push(...(await rt.checkTarget(targetNodes(spec)[0]!)));
    const { state, result } = await migrationState(rt, spec.timeouts.dbTimeoutSeconds);
    if (state === "error") {
      problems.push(
        `the database refuses the nodes' new settings (kong-gateway:dbPassword, kong-gateway:database): ${describeFailure("kong migrations list", result)}`,
      );
    } else if (state === "new") {
      problems.push(
        `kong-gateway:plugins ${JSON.stringify(spec.plugins)} enables plugins whose database migrations have not run ('kong migrations list' reports new migrations); nodes would refuse to start. Enable them together with the next version bump (its 'kong migrations up' runs them, after a backup), or set kong-gateway:plugins back`,
      );
    }
    const alone = spec.nodes.length === 1 && restarts.length > 0;
    const window = alone ? checkWindow(spec.maintenanceWindows, new Date()) : undefined;
    if (window) {
      problems.push(`restarting the only node takes the gateway down: ${window}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `the settings check refused the change; no node was stopped or restarted:\n  - ${problems.join("\n  - ")}`,
    );
  }
  return { restarts, added, chainCompleted: reconfigure };
}

/**
 * Starts (or restarts with changed settings) one node of a running cluster. When the node does
 * not come back with the new settings, it is started again with the ones it ran with, and the
 * failure names the settings that changed.
 */
export async function restartWithFallback(
  spec: StepSpec,
  rt: NodeRuntime,
  y: NodeRecord,
): Promise<StartResult> {
  const previous = (await rt.discover()).find((r) => r.prefix === y.prefix);
  const wasRunning = previous ? await rt.running(previous) : false;
  const changed =
    previous && wasRunning ? changedSettings(spec, previous, y, process.env.KONG_PG_PASSWORD) : [];
  try {
    return await rt.start(y, spec.timeouts.startSeconds);
  } catch (e) {
    if (!previous || !wasRunning || changed.length === 0) {
      throw e;
    }
    process.stderr.write(
      `[kong-gateway] ${y.id} did not come back with the new settings; starting it again with the previous ones\n`,
    );
    await rt.stop(y, 5).catch(() => undefined);
    let back = "it runs again with the previous settings";
    try {
      await rt.start(previous, spec.timeouts.startSeconds);
    } catch (again) {
      back = `and it did NOT come back with the previous settings either: ${(again as Error).message}`;
    }
    throw new Error(
      `${y.id} did not start with the changed ${changed.join(", ")}; ${back}. Cause: ${(e as Error).message}`,
    );
  }
}
