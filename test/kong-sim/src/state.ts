/**
 * The schema state (kong/db/migrations/state.lua): for each known migration, executed, pending,
 * new or missing, from the `schema_meta` rows. Names in the database that this version does not
 * know are ignored, which is what lets an older node run after a newer `up`.
 */
import type { Migration, Subsystem } from "./catalog";
import { DbError, type Db } from "./pg";

/** Migrations of one subsystem in one state. */
export interface StateGroup {
  readonly subsystem: string;
  readonly namespace: string;
  readonly migrations: readonly Migration[];
}

/** Kong's schema_state table; absent lists are empty in Kong (nil). */
export interface SchemaState {
  readonly needsBootstrap: boolean;
  readonly executed?: readonly StateGroup[];
  readonly pending?: readonly StateGroup[];
  readonly missing?: readonly StateGroup[];
  readonly new?: readonly StateGroup[];
}

interface MetaRow {
  subsystem: string;
  last_executed: string | null;
  executed: string[] | null;
  pending: string[] | null;
}

/** Reads `schema_meta` (null when the table does not exist: needs bootstrap). */
export async function readMeta(db: Db): Promise<MetaRow[] | null> {
  const tables = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = CURRENT_SCHEMA;",
  );
  if (!tables.some((t) => t.table_name === "schema_meta")) {
    return null;
  }
  return db.query<MetaRow>("SELECT * FROM schema_meta WHERE key = 'schema_meta';");
}

/** Computes the state of `catalog` against the database; throws DbError with Kong's prefix. */
export async function loadState(db: Db, catalog: readonly Subsystem[]): Promise<SchemaState> {
  let rows: MetaRow[] | null;
  try {
    rows = await readMeta(db);
  } catch (err) {
    throw new DbError(`[PostgreSQL error] failed to check schema state: ${(err as Error).message}`);
  }
  return computeState(rows, catalog);
}

/** The pure part of loadState, also used by nodes. */
export function computeState(
  rows: readonly MetaRow[] | null,
  catalog: readonly Subsystem[],
): SchemaState {
  const byName = new Map((rows ?? []).map((r) => [r.subsystem, r]));
  const lists: Record<"executed" | "pending" | "missing" | "new", StateGroup[]> = {
    executed: [],
    pending: [],
    missing: [],
    new: [],
  };
  for (const sub of catalog) {
    const row = byName.get(sub.subsystem);
    const groups: Record<keyof typeof lists, Migration[]> = {
      executed: [],
      pending: [],
      missing: [],
      new: [],
    };
    if (!row) {
      groups.new.push(...sub.migrations);
    } else {
      let next: number | undefined;
      sub.migrations.forEach((mig, i) => {
        if (mig.name === row.last_executed) {
          next = i + 1;
        }
        if ((row.executed ?? []).includes(mig.name)) {
          groups.executed.push(mig);
        } else if ((row.pending ?? []).includes(mig.name)) {
          groups.pending.push(mig);
        } else if (next === undefined || i >= next) {
          groups.new.push(mig);
        } else {
          groups.missing.push(mig);
        }
      });
    }
    for (const key of Object.keys(lists) as (keyof typeof lists)[]) {
      if (groups[key].length > 0) {
        lists[key].push({
          subsystem: sub.subsystem,
          namespace: sub.namespace,
          migrations: groups[key],
        });
      }
    }
  }
  const some = (l: StateGroup[]) => (l.length > 0 ? l : undefined);
  return {
    needsBootstrap: rows === null,
    executed: some(lists.executed),
    pending: some(lists.pending),
    missing: some(lists.missing),
    new: some(lists.new),
  };
}

/** Kong's `tostring` of a migrations list: `<subsystem>: a, b`, names right-aligned. */
export function formatGroups(groups: readonly StateGroup[]): string {
  const width = Math.max(...groups.map((g) => g.subsystem.length));
  return groups
    .map((g) => `${g.subsystem.padStart(width)}: ${g.migrations.map((m) => m.name).join(", ")}`)
    .join("\n");
}

/** `kong migrations status`: the state as cjson would encode it (empty lists left out). */
export function stateJson(state: SchemaState): string {
  const names = (groups?: readonly StateGroup[]) =>
    groups?.map((g) => ({
      subsystem: g.subsystem,
      namespace: g.namespace,
      migrations: g.migrations.map((m) => m.name),
    }));
  return JSON.stringify({
    needs_bootstrap: state.needsBootstrap,
    executed_migrations: names(state.executed),
    pending_migrations: names(state.pending),
    new_migrations: names(state.new),
    missing_migrations: names(state.missing),
  });
}

/** Kong's `is_up_to_date`: bootstrapped and nothing new. */
export function isUpToDate(state: SchemaState): boolean {
  return !state.needsBootstrap && !state.new;
}
