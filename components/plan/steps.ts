/**
 * What each step of each kind of change does, for people reading the plan. Which steps a change
 * runs, and in which order, is the step table's (components/contract/steps.ts `CHAIN_ORDER`): the
 * builders below are looked up by name in that order, so the plan lists exactly what runs.
 */
import {
  CHAIN_ORDER,
  ChainKind,
  chainOrder,
  gatewayDownDuring,
  StepName,
  StepTarget,
  Strategy,
} from "../contract/steps";
import { MigrationSet } from "./migrations";

export { STEP_NAMES } from "../contract/steps";
export type { StepName, StepTarget } from "../contract/steps";

/** A step before its duration is estimated. */
export interface StepSkeleton {
  readonly name: StepName;
  /** What the step does, for people reading the plan. */
  readonly description: string;
  readonly runsOn: StepTarget;
  /** Kong version of the nodes or job it runs (the database's current version for DB steps). */
  readonly version: string;
  /** How many Kong nodes it acts on; 0 for database and migration-job steps. */
  readonly nodes: number;
  /** True while the gateway serves nothing: these steps make up the downtime. */
  readonly gatewayDown: boolean;
  /** True when its duration grows with the database (dump, restore, migrations touching data). */
  readonly scalesWithDatabase: boolean;
  /** The Kong or PostgreSQL command at its heart, when there is one. */
  readonly command?: string;
  /** On this change the step only confirms there is nothing to do (an install's stop and backup). */
  readonly idle?: boolean;
}

/** What the step builders need to know about the change. */
export interface StepContext {
  /** Version being replaced (absent for an install). */
  readonly from?: string;
  readonly to: string;
  readonly deployedNodes: number;
  readonly targetNodes: number;
  /** `KONG_PLUGINS` as the nodes and migration jobs get it. */
  readonly pluginsEnv: string;
  readonly migrations: MigrationSet;
  /** Where this change's backup goes (upgrades, and rollbacks: the database as it is now). */
  readonly backupPath: string;
  /** For rollbacks: the backup restored (the one the upgrade to `from` took). */
  readonly restorePath?: string;
}

/**
 * The skeletons of a chain in the step table's order; a step the table lists but the builder left
 * out (or one it added) is a bug, caught by every planner test.
 */
function byTable(
  kind: ChainKind,
  skeletons: StepSkeleton[],
  strategy: Strategy = "in-place",
): StepSkeleton[] {
  const byName = new Map(skeletons.map((s) => [s.name, s]));
  const order = chainOrder(kind, strategy);
  if (byName.size !== order.length || order.some((n) => !byName.has(n))) {
    throw new Error(
      `the ${kind} plan describes ${[...byName.keys()].join(", ")} but the step table runs ${order.join(", ")}`,
    );
  }
  return order.map((n) => byName.get(n)!);
}

/** The skeletons of `names` in order, each from its builder (a name without one is a bug). */
function inOrder(
  names: readonly StepName[],
  builders: Partial<Record<StepName, () => StepSkeleton>>,
): StepSkeleton[] {
  return names.map((n) => {
    const build = builders[n];
    if (!build) {
      throw new Error(`the plan has no description of step "${n}"`);
    }
    return build();
  });
}

/**
 * A fresh install runs the upgrade's chain (the step table's `install` order): preflight, then a
 * stop and a backup that find nothing to do on an empty database, `bootstrap` (every migration
 * and teardown), a `finish` that confirms nothing is pending, the nodes' start, verify.
 */
export function installSteps(c: StepContext): StepSkeleton[] {
  return inOrder(CHAIN_ORDER.install, {
    preflight: () => ({
      name: "preflight",
      description: `check the database is reachable and empty (or this stack's own), Kong ${c.to} is installed and accepts the configuration, and its ports are free`,
      runsOn: "migration-job",
      version: c.to,
      nodes: 0,
      gatewayDown: false,
      scalesWithDatabase: false,
      command: "kong migrations list",
    }),
    stop: () => ({
      name: "stop",
      description: "no node of this cluster runs yet: nothing to stop",
      runsOn: "deployed-nodes",
      version: c.to,
      nodes: 0,
      gatewayDown: false,
      scalesWithDatabase: false,
      idle: true,
    }),
    backup: () => ({
      name: "backup",
      description: "the database is empty: nothing to back up (skipped)",
      runsOn: "database",
      version: c.to,
      nodes: 0,
      gatewayDown: false,
      scalesWithDatabase: false,
      idle: true,
    }),
    "migrations-up": () => ({
      name: "migrations-up",
      description: `bootstrap the empty database with ${plural(c.migrations.up.length, "migration")} and confirm with 'list'`,
      runsOn: "migration-job",
      version: c.to,
      nodes: 0,
      gatewayDown: false,
      scalesWithDatabase: false,
      command: `KONG_PLUGINS=${c.pluginsEnv} kong migrations bootstrap`,
    }),
    "migrations-finish": () => ({
      name: "migrations-finish",
      description: "confirm nothing is pending ('bootstrap' ran every teardown itself)",
      runsOn: "migration-job",
      version: c.to,
      nodes: 0,
      gatewayDown: false,
      scalesWithDatabase: false,
      command: "kong migrations list",
      idle: true,
    }),
    start: () => startStep(c, c.to, c.targetNodes, false),
    verify: () => verifyStep(c),
  });
}

/**
 * An in-place upgrade X → Y: stop every X node first (KONG.md §5: no writes during an upgrade),
 * back up the now-quiet database and read the dump back, `up` then `finish` with the nodes' exact
 * plugins, start Y, verify, and only then remove X.
 */
export function upgradeSteps(c: StepContext, strategy: Strategy = "in-place"): StepSkeleton[] {
  const from = c.from as string;
  const plugins = c.migrations.newPluginMigrations ? " (with newly enabled plugins')" : "";
  const up = c.migrations.up.length;
  const pending = c.migrations.pendingAfterUp.length;
  const serving = strategy === "in-place" ? "" : ` while ${from} serves`;
  const steps = byTable(
    "upgrade",
    [...upgradeSkeletons(c, from, plugins, up, pending, serving)].filter(
      (s) => strategy !== "rolling" || s.name !== "stop",
    ),
    strategy,
  );
  // Whether the gateway is down is the step table's, per strategy.
  return steps.map((s) => ({
    ...s,
    gatewayDown: gatewayDownDuring(s.name, strategy),
    ...(strategy === "rolling" && s.name === "start"
      ? {
          description: `replace the ${nodesOf(c.targetNodes, c.to)} one at a time: stop the ${from} node, start the ${c.to} node on its ports and wait until it reports ready; the others serve meanwhile`,
        }
      : {}),
    ...(strategy === "in-place" && s.name === "migrations-up" && up > 0
      ? {
          description: s.description.replace(
            "confirm with 'list'",
            "confirm with the 'list' that 'finish' starts with",
          ),
        }
      : {}),
    ...(strategy !== "in-place" && s.name === "migrations-finish"
      ? {
          description: `${s.description}; runs last, after ${c.to} is verified (a fresh backup first if configuration was written since the backup)`,
        }
      : {}),
  }));
}

function upgradeSkeletons(
  c: StepContext,
  from: string,
  plugins: string,
  up: number,
  pending: number,
  serving: string,
): StepSkeleton[] {
  return [
    {
      name: "preflight",
      description:
        `check the database is reachable, 'kong migrations list' on ${from} reports no ` +
        `unfinished upgrade, Kong ${c.to} is installed and accepts the configuration, and the backup location has room`,
      runsOn: "migration-job",
      version: from,
      nodes: 0,
      gatewayDown: false,
      scalesWithDatabase: false,
      command: "kong migrations list",
    },
    stopStep(c, from),
    backupStep(
      c,
      from,
      `dump the database${serving} to ${c.backupPath} and read the dump back to check it`,
    ),
    {
      name: "migrations-up",
      description:
        up === 0
          ? "run 'kong migrations up' (no new migrations expected) and confirm with 'list'"
          : `run ${plural(up, "new migration")}${plugins} and confirm with 'list'`,
      runsOn: "migration-job",
      version: c.to,
      nodes: 0,
      gatewayDown: true,
      scalesWithDatabase: up > 0,
      command: `KONG_PLUGINS=${c.pluginsEnv} kong migrations up`,
    },
    {
      name: "migrations-finish",
      description:
        (pending === 0
          ? "run 'kong migrations finish' (no pending teardowns expected)"
          : `run ${plural(pending, "pending teardown")}, which delete data ${from} needs`) +
        `; from here ${from} cannot run on this database`,
      runsOn: "migration-job",
      version: c.to,
      nodes: 0,
      gatewayDown: true,
      scalesWithDatabase: pending > 0,
      command: `KONG_PLUGINS=${c.pluginsEnv} kong migrations finish`,
    },
    startStep(c, c.to, c.targetNodes, true),
    verifyStep(c),
    {
      name: "decommission",
      description: `remove the stopped ${nodesOf(c.deployedNodes, from)}`,
      runsOn: "deployed-nodes",
      version: from,
      nodes: c.deployedNodes,
      gatewayDown: false,
      scalesWithDatabase: false,
    },
  ];
}

/** The dump of the quiet database (X stopped), read back before anything changes it. */
function backupStep(c: StepContext, version: string, description: string): StepSkeleton {
  return {
    name: "backup",
    description,
    runsOn: "database",
    version,
    nodes: 0,
    gatewayDown: true,
    scalesWithDatabase: true,
    command: `pg_dump -Fc -f ${c.backupPath} "$KONG_PG_DATABASE" && pg_restore --list ${c.backupPath}`,
  };
}

/** Stopping the running cluster: the first step of the downtime, in upgrades and rollbacks. */
function stopStep(c: StepContext, from: string): StepSkeleton {
  return {
    name: "stop",
    description: `stop all ${nodesOf(c.deployedNodes, from)} gracefully; the gateway goes down`,
    runsOn: "deployed-nodes",
    version: from,
    nodes: c.deployedNodes,
    gatewayDown: true,
    scalesWithDatabase: false,
    command: "kong quit",
  };
}

/**
 * A rollback Y → X: migrations cannot be reversed (KONG.md §6), so stop Y, back up the database as
 * Y left it (what was written through Y since the upgrade is kept there, not lost), restore the
 * backup the upgrade X → Y took, and start X on it. Preflight checks that backup before anything
 * stops.
 */
export function rollbackSteps(c: StepContext): StepSkeleton[] {
  const from = c.from as string;
  const restorePath = c.restorePath as string;
  return byTable("rollback", [
    {
      name: "preflight",
      description:
        `check the backup ${restorePath} is there and matches its checksum, the database is ` +
        `reachable, Kong ${c.to} is installed and accepts the configuration, and the backup location has room`,
      runsOn: "database",
      version: c.to,
      nodes: 0,
      gatewayDown: false,
      scalesWithDatabase: false,
      command: `sha256sum ${restorePath}`,
    },
    stopStep(c, from),
    backupStep(
      c,
      from,
      `dump the database as Kong ${from} left it to ${c.backupPath} and read the dump back, ` +
        `so nothing written since the upgrade is lost`,
    ),
    {
      name: "restore",
      description: `replace the database contents with the backup ${restorePath}`,
      runsOn: "database",
      version: c.to,
      nodes: 0,
      gatewayDown: true,
      scalesWithDatabase: true,
      command: `pg_restore --clean --if-exists -d "$KONG_PG_DATABASE" ${restorePath}`,
    },
    startStep(c, c.to, c.targetNodes, true),
    verifyStep(c),
  ]);
}

/** `1 new migration`, `3 new migrations`. */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** `1 node of 3.6.1`, `3 nodes of 3.6.1`. */
function nodesOf(n: number, version: string): string {
  return `${plural(n, "node")} of ${version}`;
}

function startStep(c: StepContext, version: string, nodes: number, down: boolean): StepSkeleton {
  return {
    name: "start",
    description: `start ${nodesOf(nodes, version)} and wait until each reports ready`,
    runsOn: "target-nodes",
    version,
    nodes,
    gatewayDown: down,
    scalesWithDatabase: false,
    command: `KONG_PLUGINS=${c.pluginsEnv} kong start`,
  };
}

function verifyStep(c: StepContext): StepSkeleton {
  return {
    name: "verify",
    description:
      `check every node reports version ${c.to}, 'kong migrations list' shows nothing new or ` +
      `pending, and a proxied request is answered`,
    runsOn: "target-nodes",
    version: c.to,
    nodes: c.targetNodes,
    gatewayDown: false,
    scalesWithDatabase: false,
  };
}
