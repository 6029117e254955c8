/**
 * Fault injection for tests, read by the `kong` process from its own environment (documented in
 * test/kong-sim/README.md). Real Kong ignores these variables; nothing else changes behaviour.
 */

/** The part of a migration a failure is injected into. */
export type Part = "up" | "teardown";

/** Parsed fault settings. */
export interface Faults {
  /** `KONG_SIM_FAIL_MIGRATION=<subsystem>/<name>:up|teardown[,…]` */
  readonly failMigration: ReadonlySet<string>;
  /** `KONG_SIM_SLOW_MIGRATION=<subsystem>/<name>:<ms>[,…]` or `*:<ms>` */
  readonly slow: ReadonlyMap<string, number>;
  /** `KONG_SIM_FAIL_START=1`: the node process dies during init, `kong start` fails. */
  readonly failStart: boolean;
  /** `KONG_SIM_UNREADY_AFTER_MS=<ms>`: the node loses its database N ms after start. */
  readonly unreadyAfterMs?: number;
}

function entries(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Reads the fault variables; malformed values throw an Error naming the variable and the fix. */
export function readFaults(env: NodeJS.ProcessEnv = process.env): Faults {
  const failMigration = new Set<string>();
  for (const e of entries(env.KONG_SIM_FAIL_MIGRATION)) {
    if (!/^[\w-]+\/[\w-]+:(up|teardown)$/.test(e)) {
      throw new Error(
        `KONG_SIM_FAIL_MIGRATION entry '${e}' must look like core/016_280_to_300:up or rate-limiting/006_350_to_360:teardown`,
      );
    }
    failMigration.add(e);
  }
  const slow = new Map<string, number>();
  for (const e of entries(env.KONG_SIM_SLOW_MIGRATION)) {
    const m = /^(\*|[\w-]+\/[\w-]+):(\d+)$/.exec(e);
    if (!m) {
      throw new Error(
        `KONG_SIM_SLOW_MIGRATION entry '${e}' must look like core/022_350_to_360:2000 or *:500`,
      );
    }
    slow.set(m[1] ?? "", Number(m[2]));
  }
  const unready = env.KONG_SIM_UNREADY_AFTER_MS;
  if (unready !== undefined && !/^\d+$/.test(unready)) {
    throw new Error(`KONG_SIM_UNREADY_AFTER_MS must be a number of milliseconds, got '${unready}'`);
  }
  return {
    failMigration,
    slow,
    failStart: env.KONG_SIM_FAIL_START === "1" || env.KONG_SIM_FAIL_START === "true",
    unreadyAfterMs: unready === undefined ? undefined : Number(unready),
  };
}

/** True when `<subsystem>/<name>:<part>` is set to fail. */
export function shouldFail(f: Faults, subsystem: string, name: string, part: Part): boolean {
  return f.failMigration.has(`${subsystem}/${name}:${part}`);
}

/** Milliseconds to stall `<subsystem>/<name>` (0 = none). */
export function slowness(f: Faults, subsystem: string, name: string): number {
  return f.slow.get(`${subsystem}/${name}`) ?? f.slow.get("*") ?? 0;
}
