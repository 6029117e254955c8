/**
 * Same-version changes ("reconfigure"): what a settings change does to a running cluster. The
 * program records every resolved, non-secret setting in the stack's `deployment` output; the next
 * run compares, and each changed setting gets exactly one impact from {@link SETTING_IMPACTS}:
 * nothing to do on the nodes, a restart of the nodes one at a time, nodes added or removed, or a
 * refusal with the reason and the way forward. Pure: no Pulumi resources.
 */
import type { ResolvedConfig } from "./config";

/** Every resolved, non-secret setting by its stack-config path (`backup.retention`), as JSON text. */
export type SettingsSnapshot = Readonly<Record<string, string>>;

/** What a changed setting does to the running cluster. */
export type Impact = "none" | "restart" | "add-nodes" | "remove-nodes" | "refused";

/** One changed setting and what it does. */
export interface SettingChange {
  /** The stack-config path, e.g. `backup.retention` (shown as `kong-gateway:backup.retention`). */
  readonly setting: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly impact: Impact;
  /** Why, in words: what happens, or why it is refused and what to do instead. */
  readonly why: string;
}

/** The flattened, non-secret settings of a resolved configuration. */
export function settingsSnapshot(cfg: ResolvedConfig): SettingsSnapshot {
  const out: Record<string, string> = {};
  const put = (prefix: string, value: unknown): void => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        put(prefix ? `${prefix}.${k}` : k, v);
      }
    } else if (value !== undefined) {
      out[prefix] = JSON.stringify(value);
    }
  };
  put("nodes", cfg.nodes);
  put("runtime", cfg.runtime);
  put("plugins", cfg.plugins.join(","));
  put("stateDir", cfg.stateDir);
  put("database", cfg.database);
  put("backup", cfg.backup);
  // Only the active runtime's settings: the others do nothing, whatever they say.
  if (cfg.runtime === "local") {
    put("local", cfg.local);
  } else if (cfg.runtime === "hosts") {
    put("hosts", cfg.hosts);
  } else {
    // As configured (an unset network is "", the stack's own): the form stacks recorded before
    // the network's name was resolved with the other defaults.
    const { createNetwork, ...docker } = cfg.docker;
    put("docker", { ...docker, network: createNetwork ? "" : docker.network });
  }
  put("capacity", cfg.capacity);
  put("probe", cfg.probe);
  put("timeouts", cfg.timeouts);
  put("maintenanceWindow", cfg.maintenanceWindows);
  put("automaticRollback", cfg.automaticRollback);
  put("strategy", cfg.strategy);
  put("allowMixedVersions", cfg.allowMixedVersions);
  // Settings added after stacks began recording snapshots are left out at their defaults, so a
  // stack deployed before them sees no change it did not make.
  for (const [key, value] of Object.entries(LATER_DEFAULTS)) {
    if (out[key] === value) {
      delete out[key];
    }
  }
  return out;
}

/** Settings newer than the snapshot format, at their defaults (as the snapshot writes them). */
const LATER_DEFAULTS: Readonly<Record<string, string>> = {
  strategy: '"in-place"',
  allowMixedVersions: "false",
  "backup.store": '"local"',
};

type Rule = { impact: Exclude<Impact, "add-nodes" | "remove-nodes">; why: string };

const NEW_STACK =
  "a running cluster cannot be moved in place; set it back, or deploy a new stack with the new value and move the data with a backup (README: Changing settings)";
const WITH_BUMP =
  "the containers would all be replaced at once by @pulumi/docker (an outage the tool cannot order); set it back, or change it together with the next version bump, whose new containers get it";

/**
 * The impact of each setting, by path or by the path's first part. The first matching entry wins,
 * so specific paths come before their section.
 */
export const SETTING_IMPACTS: ReadonlyArray<readonly [string, Rule]> = [
  ["runtime", { impact: "refused", why: `the nodes run on another runtime; ${NEW_STACK}` }],
  [
    "stateDir",
    {
      impact: "refused",
      why: "the node records, the journal and (by default) the backups of the running cluster are in the old directory, so the stack would lose track of its nodes; set it back (move it with a new stack)",
    },
  ],
  [
    "database.adminUser",
    { impact: "none", why: "used only when the stack creates the role (database.mode managed)" },
  ],
  ["database.ssl", { impact: "restart", why: "KONG_PG_SSL of every node" }],
  [
    "database",
    { impact: "refused", why: `the nodes would point at another database; ${NEW_STACK}` },
  ],
  [
    "plugins",
    {
      impact: "restart",
      why: "KONG_PLUGINS of every node; a plugin that brings database migrations is refused before any node restarts (it needs 'kong migrations up': enable it with a version bump)",
    },
  ],
  ["local.basePort", { impact: "restart", why: "the nodes' listeners move" }],
  ["local.adminAddress", { impact: "restart", why: "the nodes' Admin API listener moves" }],
  [
    "local.kongBinary",
    {
      impact: "restart",
      why: "the nodes restart from the new binary (it must report the same version)",
    },
  ],
  [
    "local.install",
    {
      impact: "none",
      why: "the install command runs again for the deployed version; the nodes keep running",
    },
  ],
  ["hosts.addresses", { impact: "restart", why: "checked per node below" }],
  [
    "hosts.kongBinary",
    {
      impact: "restart",
      why: "the nodes restart from the new binary (it must report the same version)",
    },
  ],
  ["hosts.listenAddress", { impact: "restart", why: "the nodes' listeners move" }],
  ["hosts.adminAddress", { impact: "restart", why: "the nodes' Admin API listener moves" }],
  ["hosts.proxyPort", { impact: "restart", why: "the nodes' proxy listener moves" }],
  ["hosts.adminPort", { impact: "restart", why: "the nodes' Admin API listener moves" }],
  ["hosts.statusPort", { impact: "restart", why: "the nodes' status listener moves" }],
  [
    "hosts.prefix",
    {
      impact: "refused",
      why: "the running nodes' prefixes (and service env files) are under the old directory; set it back, or change it together with the next version bump, whose nodes get it",
    },
  ],
  [
    "hosts.startCommand",
    {
      impact: "refused",
      why: "the running nodes were started the other way and must be stopped that way; set it back, or change it together with the next version bump",
    },
  ],
  [
    "hosts.stopCommand",
    {
      impact: "refused",
      why: "the running nodes were started the other way and must be stopped that way; set it back, or change it together with the next version bump",
    },
  ],
  [
    "hosts",
    {
      impact: "none",
      why: "used by the next SSH connections and installs; the nodes keep running",
    },
  ],
  ["docker.pgClient", { impact: "none", why: "used by the next backup" }],
  ["docker.pgClientImage", { impact: "none", why: "used by the next backup" }],
  ["docker", { impact: "refused", why: WITH_BUMP }],
  ["capacity", { impact: "none", why: "recorded; compared with the next cluster" }],
  [
    "backup.dir",
    {
      impact: "none",
      why: "used by the next backup; earlier backups stay where they are (a rollback by version looks in the new directory: move them there)",
    },
  ],
  ["backup", { impact: "none", why: "used by the next backup" }],
  [
    "timeouts",
    { impact: "none", why: "used by the next start, stop and migration; the nodes keep running" },
  ],
  ["probe", { impact: "none", why: "used by the next verify" }],
  [
    "maintenanceWindow",
    { impact: "none", why: "checked before the next change that takes the gateway down" },
  ],
  ["automaticRollback", { impact: "none", why: "applies to the next change" }],
  ["strategy", { impact: "none", why: "how the next upgrade replaces the nodes" }],
  ["allowMixedVersions", { impact: "none", why: "checked by the next rolling upgrade" }],
];

function ruleFor(setting: string): Rule {
  const hit = SETTING_IMPACTS.find(
    ([k]) => setting === k || setting.startsWith(`${k}.`) || setting.startsWith(`${k}[`),
  );
  return hit ? hit[1] : { impact: "refused", why: "this setting has no known in-place impact" };
}

/**
 * The changed settings between what was deployed and what is configured, each with its impact.
 * `deployed` is undefined for stacks deployed before settings were recorded: nothing to compare
 * (the nodes still restart if their own settings changed: the runner compares those).
 */
export function diffSettings(
  deployed: SettingsSnapshot | undefined,
  current: SettingsSnapshot,
): SettingChange[] {
  if (!deployed) {
    return [];
  }
  // Another runtime brings its own section: the runtime itself is the change to name.
  const runtimeChanged = deployed.runtime !== current.runtime;
  const keys = [...new Set([...Object.keys(deployed), ...Object.keys(current)])]
    .filter((k) => !(runtimeChanged && /^(local|hosts|docker)\./.test(k)))
    .sort();
  const out: SettingChange[] = [];
  for (const setting of keys) {
    const from = deployed[setting];
    const to = current[setting];
    if (from === to) {
      continue;
    }
    out.push({ setting, from, to, ...classify(setting, from, to, deployed, current) });
  }
  return out;
}

function classify(
  setting: string,
  from: string | undefined,
  to: string | undefined,
  deployed: SettingsSnapshot,
  current: SettingsSnapshot,
): Rule | { impact: Impact; why: string } {
  if (setting === "nodes") {
    const [a, b] = [Number(from), Number(to)];
    if (b > a) {
      return {
        impact: "add-nodes",
        why: `${b - a} node(s) start before anything else changes, each waits for readiness`,
      };
    }
    if (current["capacity.allowSmallerCluster"] !== "true") {
      return {
        impact: "refused",
        why: `the cluster would shrink from ${a} to ${b} nodes; set kong-gateway:capacity.allowSmallerCluster true to allow it`,
      };
    }
    return {
      impact: "remove-nodes",
      why: `${a - b} node(s) drain ('kong quit') and stop last, after everything else converged`,
    };
  }
  if (setting === "hosts.addresses") {
    const nodes = Number(current.nodes);
    const [a, b] = [JSON.parse(from ?? "[]") as string[], JSON.parse(to ?? "[]") as string[]];
    const deployedNodes = Number(deployed.nodes);
    const moved = a
      .slice(0, Math.min(nodes, deployedNodes))
      .map((h, i) => (b[i] !== h ? `node-${i} ${h} → ${String(b[i])}` : ""))
      .filter(Boolean);
    return moved.length > 0
      ? {
          impact: "refused",
          why: `a running node would move to another machine (${moved.join(", ")}); keep the running nodes' hosts first in the list (append new hosts), or change them with the next version bump`,
        }
      : {
          impact: "none",
          why: "hosts of running nodes unchanged (new hosts are used by added nodes)",
        };
  }
  if (setting.startsWith("capacity.") && setting !== "capacity.allowSmallerCluster") {
    const [a, b] = [Number(from), Number(to)];
    if (
      from !== undefined &&
      to !== undefined &&
      b < a &&
      current["capacity.allowSmallerCluster"] !== "true"
    ) {
      return {
        impact: "refused",
        why: `${setting} shrinks from ${a} to ${b}; set kong-gateway:capacity.allowSmallerCluster true to allow it`,
      };
    }
  }
  return ruleFor(setting);
}

/** Throws the refusal of every refused change, each naming its setting, values and way forward. */
export function assertReconfigurable(changes: readonly SettingChange[]): void {
  const refused = changes.filter((c) => c.impact === "refused");
  if (refused.length === 0) {
    return;
  }
  throw new Error(
    refused
      .map(
        (c) =>
          `kong-gateway:${c.setting} ${c.from ?? "(unset)"} → ${c.to ?? "(unset)"} cannot change on the running cluster: ${c.why}`,
      )
      .join("\n"),
  );
}

/** Whether any change makes nodes restart. */
export function restartsNodes(
  changes: readonly SettingChange[],
  passwordRotated: boolean,
): boolean {
  return (
    passwordRotated ||
    changes.some((c) => c.impact === "restart" && c.setting !== "hosts.addresses")
  );
}

/** The preview text of a same-version change. */
export function renderReconfigure(
  version: string,
  nodes: number,
  changes: readonly SettingChange[],
  passwordRotated: boolean,
  restartSeconds: number,
): string {
  const lines = changes.map(
    (c) =>
      `  ${c.setting}: ${c.from ?? "(unset)"} → ${c.to ?? "(unset)"}\n      ${impactLabel(c.impact)}: ${c.why}`,
  );
  if (passwordRotated) {
    lines.push(
      "  dbPassword: (secret) changed\n      restart: each node restarts with the new password (PostgreSQL must already accept it: checked before any node restarts)",
    );
  }
  const restart = restartsNodes(changes, passwordRotated);
  const outage = !restart
    ? "none: no node restarts"
    : nodes >= 2
      ? "none expected: nodes restart one at a time, each waits for readiness before the next stops (clients must try every node)"
      : `one restart of the only node, about ${restartSeconds.toFixed(1)}s (add a node to avoid it)`;
  return [
    `Kong ${version} stays; settings change in place (no install chain, no migrations${
      restart ? "" : ", no node restarts"
    }, no backup):`,
    ...lines,
    `Outage: ${outage}`,
  ].join("\n");
}

function impactLabel(impact: Impact): string {
  switch (impact) {
    case "none":
      return "nothing to do on the nodes";
    case "restart":
      return "restart, one node at a time";
    case "add-nodes":
      return "nodes added";
    case "remove-nodes":
      return "nodes removed";
    case "refused":
      return "refused";
  }
}

/** Settings that are set but do nothing on the configured runtime (said in preview, not refused). */
export function unusedSettings(
  runtime: string,
  given: { hosts?: unknown; docker?: unknown; local?: unknown; sshPrivateKey?: unknown },
): string[] {
  const out: string[] = [];
  for (const section of ["local", "hosts", "docker"] as const) {
    const v = given[section];
    const set =
      v !== undefined && !(typeof v === "object" && v !== null && Object.keys(v).length === 0);
    if (set && section !== runtime) {
      out.push(
        `kong-gateway:${section} is set but kong-gateway:runtime is ${runtime}: it is not used (remove it, or set runtime to ${section} on a new stack)`,
      );
    }
  }
  if (given.sshPrivateKey !== undefined && runtime !== "hosts") {
    out.push(
      `kong-gateway:sshPrivateKey is set but kong-gateway:runtime is ${runtime}: it is not used`,
    );
  }
  return out;
}
