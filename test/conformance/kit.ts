/**
 * The conformance kit's engine: what a row is, the context rows run in (the Kong under test, an
 * optional older Kong, the throwaway database, node settings on free ports), version gating, and
 * running scenarios into results. The rows themselves are in rows.ts and rowsNodes.ts.
 */
import { freePort } from "../support/postgres";
import { compare, describeExpect, describeRun, type Expect, type KongRun } from "./contract";
import type { KitDatabase } from "./database";
import type { KongTarget } from "./target";

/** A version as `kong version` printed it: `3.6.1`, or `Kong Enterprise 3.4.3.12`. */
export interface KongVersion {
  readonly text: string;
  readonly parts: readonly number[];
}

/** Parses `kong version` output (the last word of its first line); undefined when it is not one. */
export function parseKongVersion(stdout: string): KongVersion | undefined {
  const line = stdout.trim().split("\n")[0] ?? "";
  const word = line.split(" ").at(-1) ?? "";
  if (!/^\d+\.\d+\.\d+(\.\d+)?$/.test(word)) {
    return undefined;
  }
  return { text: word, parts: word.split(".").map(Number) };
}

/** Orders two versions part by part (negative when `a` is older). */
export function compareVersions(a: KongVersion, b: KongVersion): number {
  for (let i = 0; i < Math.max(a.parts.length, b.parts.length); i++) {
    const d = (a.parts[i] ?? 0) - (b.parts[i] ?? 0);
    if (d !== 0) {
      return d;
    }
  }
  return 0;
}

/** Whether `v` is at least `major.minor`. */
export function atLeast(v: KongVersion, [major, minor]: readonly [number, number]): boolean {
  const [a = 0, b = 0] = v.parts;
  return a > major || (a === major && b >= minor);
}

/** One Kong the kit drives, with the version it reported. */
export interface KitKong {
  readonly target: KongTarget;
  readonly version: KongVersion;
}

/** A node's settings: prefix, listeners on free loopback ports, and their URLs. */
export interface KitNode {
  readonly prefix: string;
  readonly env: Record<string, string>;
  readonly proxy: string;
  readonly admin: string;
  readonly status: string;
}

/** Everything a row can use. */
export interface Kit {
  readonly kong: KitKong;
  /** The older Kong of `--from-kong`, when given. */
  readonly from?: KitKong;
  readonly db: KitDatabase;
  /** The `KONG_*` settings of a migration job against the kit's database (plugins `bundled`). */
  env(extra?: Record<string, string>): Record<string, string>;
  /** A new node's settings on `who`'s side (its prefix path is where that Kong runs). */
  node(who?: KitKong, extra?: Record<string, string>): Promise<KitNode>;
  /** What rows of one scenario pass on to the next (e.g. whether `up` left migrations pending). */
  readonly scratch: Map<string, unknown>;
}

/** What a row saw. `skip` rows do not count as failures. */
export type Outcome =
  | { readonly ok: boolean; readonly seen: string; readonly details?: readonly string[] }
  | { readonly skip: string };

/** One row of the contract. */
export interface Row {
  /** `list · not bootstrapped`; unique within its scenario. */
  readonly name: string;
  /** Applies from this `major.minor` on. */
  readonly since?: readonly [number, number];
  /** Applies to versions before this `major.minor` only. */
  readonly before?: readonly [number, number];
  /** What Kong must do, in words, for the table. */
  readonly expected: string;
  check(kit: Kit): Promise<Outcome>;
}

/** Rows that share one database state, built by `setup` (after a reset). */
export interface Scenario {
  readonly name: string;
  /** Only with `--from-kong` (two versions on one database). */
  readonly needsFrom?: boolean;
  /** Builds the state; a returned string skips every row with that reason. */
  setup(kit: Kit): Promise<void | string>;
  readonly rows: readonly Row[];
}

/** One line of the table. */
export interface Result {
  readonly row: string;
  readonly expected: string;
  readonly seen: string;
  readonly status: "ok" | "FAIL" | "skip";
  readonly details: readonly string[];
}

/** Whether `row` applies to `v` (its `since`/`before` bounds). */
export function applies(row: Pick<Row, "since" | "before">, v: KongVersion): boolean {
  return (!row.since || atLeast(v, row.since)) && (!row.before || !atLeast(v, row.before));
}

/** The rows of `scenarios` that apply to `v`, and how many do not. */
export function select(
  scenarios: readonly Scenario[],
  v: KongVersion,
): { scenarios: Scenario[]; notApplicable: number } {
  let notApplicable = 0;
  const out = scenarios.map((s) => {
    const rows = s.rows.filter((r) => applies(r, v));
    notApplicable += s.rows.length - rows.length;
    return { ...s, rows };
  });
  return { scenarios: out.filter((s) => s.rows.length > 0), notApplicable };
}

/** A row that runs one `kong` command and compares it with Kong's contract. */
export function kongRow(
  name: string,
  expect: Expect,
  run: (kit: Kit) => Promise<KongRun>,
  opts: {
    since?: readonly [number, number];
    before?: readonly [number, number];
    /** A follow-up check (e.g. the state `list` shows after); returns a difference or undefined. */
    then?: (kit: Kit, r: KongRun) => Promise<{ seen: string; difference?: string }>;
    /** Words added to `expected` for the follow-up. */
    thenExpected?: string;
  } = {},
): Row {
  return {
    name,
    since: opts.since,
    before: opts.before,
    expected: describeExpect(expect) + (opts.thenExpected ? `; ${opts.thenExpected}` : ""),
    async check(kit) {
      const r = await run(kit);
      const { ok, differences } = compare(r, expect);
      let seen = describeRun(r, expect);
      const details = [...differences];
      if (opts.then) {
        const more = await opts.then(kit, r);
        seen += `; ${more.seen}`;
        if (more.difference) {
          details.push(more.difference);
        }
      }
      return { ok: ok && details.length === 0, seen, details };
    },
  };
}

/** `kong migrations list` exit code with the kit's settings (0 up to date, 3, 4, 5). */
export async function listCode(kit: Kit, who: KitKong = kit.kong): Promise<number> {
  return (await who.target.kong(["migrations", "list"], kit.env())).code;
}

/** A follow-up that confirms the state with `list`'s exit code. */
export function listStays(...codes: number[]) {
  return async (kit: Kit): Promise<{ seen: string; difference?: string }> => {
    const code = await listCode(kit);
    return {
      seen: `then list exit ${code}`,
      difference: codes.includes(code)
        ? undefined
        : `state after: kong migrations list exited ${code}, expected ${codes.join(" or ")}`,
    };
  };
}

/** Builds a {@link Kit} around the targets and database; `cleanup` stops every node it handed out. */
export function makeKit(
  kong: KitKong,
  from: KitKong | undefined,
  db: KitDatabase,
): { kit: Kit; cleanup(): Promise<void> } {
  const nodes: { who: KitKong; prefix: string }[] = [];
  const jobPrefix = kong.target.newPrefix();
  const env = (extra: Record<string, string> = {}) => ({
    KONG_DATABASE: "postgres",
    KONG_PG_HOST: db.settings.host,
    KONG_PG_PORT: String(db.settings.port),
    KONG_PG_USER: db.settings.user,
    KONG_PG_PASSWORD: db.settings.password,
    KONG_PG_DATABASE: db.settings.database,
    // Explicit, so a kong.conf on the machine (read when -c is absent) cannot change the plugins or
    // send a command to the prefix of a Kong that runs there.
    KONG_PLUGINS: "bundled",
    KONG_PREFIX: jobPrefix,
    ...extra,
  });
  const kit: Kit = {
    kong,
    from,
    db,
    env,
    scratch: new Map(),
    async node(who = kong, extra = {}) {
      const [proxy, admin, status] = [await freePort(), await freePort(), await freePort()];
      const prefix = who.target.newPrefix();
      nodes.push({ who, prefix });
      return {
        prefix,
        env: env({
          KONG_PREFIX: prefix,
          KONG_PROXY_LISTEN: `127.0.0.1:${proxy}`,
          KONG_ADMIN_LISTEN: `127.0.0.1:${admin}`,
          KONG_STATUS_LISTEN: `127.0.0.1:${status}`,
          ...extra,
        }),
        proxy: `http://127.0.0.1:${proxy}`,
        admin: `http://127.0.0.1:${admin}`,
        status: `http://127.0.0.1:${status}`,
      };
    },
  };
  return {
    kit,
    async cleanup() {
      for (const n of nodes.splice(0)) {
        await n.who.target.kong(["stop", "-p", n.prefix], { KONG_PREFIX: n.prefix }, 30);
        await n.who.target.forceStop(n.prefix);
      }
      kit.scratch.clear();
    },
  };
}

/** Runs the scenarios in order; one result per applicable row. */
export async function runKit(
  kong: KitKong,
  from: KitKong | undefined,
  db: KitDatabase,
  all: readonly Scenario[],
  onResult: (r: Result) => void = () => undefined,
): Promise<{ results: Result[]; notApplicable: number }> {
  const { scenarios, notApplicable } = select(all, kong.version);
  const results: Result[] = [];
  const emit = (r: Result) => {
    results.push(r);
    onResult(r);
  };
  const { kit, cleanup } = makeKit(kong, from, db);
  for (const s of scenarios) {
    const label = (r: Row) => `${s.name} · ${r.name}`;
    if (s.needsFrom && !from) {
      for (const r of s.rows) {
        emit({
          row: label(r),
          expected: r.expected,
          seen: "skipped: needs --from-kong",
          status: "skip",
          details: [],
        });
      }
      continue;
    }
    let setupError: string | undefined;
    let skip: string | void = undefined;
    try {
      await db.reset();
      skip = await s.setup(kit);
    } catch (err) {
      setupError = `setup failed: ${(err as Error).message}`;
    }
    for (const r of s.rows) {
      if (typeof skip === "string") {
        emit({ row: label(r), expected: r.expected, seen: skip, status: "skip", details: [] });
        continue;
      }
      if (setupError !== undefined) {
        emit({
          row: label(r),
          expected: r.expected,
          seen: setupError,
          status: "FAIL",
          details: [setupError],
        });
        continue;
      }
      let outcome: Outcome;
      try {
        outcome = await r.check(kit);
      } catch (err) {
        outcome = { ok: false, seen: `error: ${(err as Error).message}` };
      }
      if ("skip" in outcome) {
        emit({
          row: label(r),
          expected: r.expected,
          seen: outcome.skip,
          status: "skip",
          details: [],
        });
      } else {
        emit({
          row: label(r),
          expected: r.expected,
          seen: outcome.seen,
          status: outcome.ok ? "ok" : "FAIL",
          details: outcome.details ?? [],
        });
      }
    }
    await cleanup();
  }
  return { results, notApplicable };
}
