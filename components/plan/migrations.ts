/**
 * Which migrations a change runs. Kong considers core plus the migrations of every plugin in the
 * nodes' `plugins` setting (KONG.md §1), so the answer depends on that setting as much as on the
 * versions; a migration job run with a different setting sees a different state (Kong/kong#4420).
 */
import { CATALOGUED_PLUGINS, CatalogEntry, MIGRATION_CATALOG } from "./catalog";
import { PlanError } from "./errors";
import { compareReleases, KongVersion, parseVersion } from "./version";

/** Kong's `plugins` setting: `bundled`, or a list that may itself contain `bundled`. */
export type PluginsSetting = readonly string[] | "bundled";

/** One migration, named the way `kong migrations list` and `schema_meta` name it. */
export interface MigrationRef {
  readonly subsystem: string;
  readonly name: string;
}

/** What `kong migrations up` (or `bootstrap`) will do for one change. */
export interface MigrationSet {
  /** Migrations `up` executes, in order (for an install: everything `bootstrap` runs). */
  readonly up: MigrationRef[];
  /** Those of `up` with a teardown: pending until `finish`, which deletes old data. */
  readonly pendingAfterUp: MigrationRef[];
  /**
   * True when plugins with migrations are enabled now that were not: their migrations run in the
   * same plain `up` / `finish` ({@link newPluginMigrationsNote} says why there is no `-f`).
   */
  readonly newPluginMigrations: boolean;
  /** The catalogued plugins that are newly enabled and bring migrations. */
  readonly newlyEnabledPlugins: string[];
  /**
   * Newly enabled plugins the catalog has no migrations for: bundled plugins without any, or
   * custom plugins whose migrations the planner cannot see. Reported, never guessed about.
   */
  readonly uncataloguedPlugins: string[];
}

/**
 * How newly enabled plugins' migrations run, said once for the plan's warnings (KONG.md §5): Kong's
 * docs say `kong migrations up -f` / `finish -f`, but Kong's own source (3.6
 * `kong/db/migrations/state.lua`) treats a loaded plugin with no rows in `schema_meta` as new, so
 * plain `up` runs its migrations; `-f` would also re-run every migration already executed (the
 * double-apply of Kong/kong#12978). The runner runs plain `up` and `finish` and confirms with
 * `kong migrations list`.
 */
export function newPluginMigrationsNote(plugins: readonly string[]): string {
  return (
    `plugins ${plugins.join(", ")} are newly enabled: their migrations run in the same plain ` +
    `'kong migrations up' and 'finish' (Kong's state.lua treats a loaded plugin without ` +
    `schema_meta rows as new), confirmed with 'kong migrations list'; no -f, which would also ` +
    `re-run every migration already executed (Kong/kong#12978), although Kong's docs suggest it`
  );
}

/** Kong plugin names: lower-case words joined by `-` or `_` (`rate-limiting`, `my_plugin`). */
const PLUGIN_NAME_RE = /^[a-z0-9]+(?:[-_][a-z0-9]+)*$/;

/** A `plugins` setting resolved into "all bundled plugins?" plus explicitly listed names. */
interface EnabledPlugins {
  readonly bundled: boolean;
  readonly listed: readonly string[];
}

/**
 * Validates a `plugins` setting and resolves it. `off` (alone) disables all plugins, as in
 * kong.conf. Throws an `input` refusal naming `setting` for malformed names.
 */
export function resolvePlugins(plugins: PluginsSetting, setting: string): EnabledPlugins {
  if (plugins === "bundled") {
    return { bundled: true, listed: [] };
  }
  const names = plugins.map((p) => p.trim());
  if (names.length === 1 && names[0] === "off") {
    return { bundled: false, listed: [] };
  }
  for (const name of names) {
    if (!PLUGIN_NAME_RE.test(name) || name === "off") {
      throw new PlanError(
        "input",
        `${setting} contains ${JSON.stringify(name)}, which is not a plugin name; list plugin ` +
          `names such as ["bundled", "my-plugin"], use "bundled", or ["off"] for none`,
      );
    }
  }
  return { bundled: names.includes("bundled"), listed: names.filter((n) => n !== "bundled") };
}

function isEnabled(plugin: string, enabled: EnabledPlugins): boolean {
  return (
    (enabled.bundled && CATALOGUED_PLUGINS.includes(plugin)) || enabled.listed.includes(plugin)
  );
}

/** Migrations the code of `version` knows for `subsystem`, with their teardown status there. */
function knownAt(
  version: KongVersion,
  subsystem: string,
): { entry: CatalogEntry; teardown: boolean }[] {
  const atOrBefore = (release: string): boolean =>
    compareReleases(parseVersion(release), version) <= 0;
  return MIGRATION_CATALOG.filter((e) => e.subsystem === subsystem && atOrBefore(e.since)).map(
    (entry) => ({
      entry,
      teardown: entry.teardownSince !== undefined && atOrBefore(entry.teardownSince),
    }),
  );
}

/**
 * The migrations a change from `from` (undefined: a fresh install, i.e. `bootstrap`) to `to`
 * runs with the nodes' `plugins` setting. `deployedPlugins` is the setting the deployed cluster
 * ran with (default: the same as `plugins`); a plugin enabled now but not then has never had its
 * migrations run, so all of them run, and Kong needs `-f` for that (KONG.md §5). Teardown status
 * is that of the target's code (`rate-limiting 006_350_to_360` is pending only from 3.7 on).
 * For a same or lower version, `up` is empty unless plugins are newly enabled: going down is a
 * restore, not a migration.
 */
export function migrationsFor(
  from: KongVersion | undefined,
  to: KongVersion,
  plugins: PluginsSetting,
  deployedPlugins?: PluginsSetting,
): MigrationSet {
  const target = resolvePlugins(plugins, "plugins");
  const deployed = resolvePlugins(deployedPlugins ?? plugins, "deployed plugins");
  const subsystems = ["core", ...CATALOGUED_PLUGINS.filter((p) => isEnabled(p, target))];
  const up: MigrationRef[] = [];
  const pendingAfterUp: MigrationRef[] = [];
  const newlyEnabledPlugins: string[] = [];
  for (const subsystem of subsystems) {
    const wasEnabled = subsystem === "core" || isEnabled(subsystem, deployed);
    const executed = new Set(
      from !== undefined && wasEnabled ? knownAt(from, subsystem).map((k) => k.entry.name) : [],
    );
    const fresh = knownAt(to, subsystem).filter((k) => !executed.has(k.entry.name));
    if (from !== undefined && !wasEnabled && fresh.length > 0) {
      newlyEnabledPlugins.push(subsystem);
    }
    for (const { entry, teardown } of fresh) {
      const ref = { subsystem, name: entry.name };
      up.push(ref);
      // bootstrap runs every teardown itself, so an install leaves nothing pending.
      if (teardown && from !== undefined) {
        pendingAfterUp.push(ref);
      }
    }
  }
  const uncataloguedPlugins =
    from === undefined
      ? []
      : target.listed.filter(
          (p) => !CATALOGUED_PLUGINS.includes(p) && !deployed.listed.includes(p),
        );
  return {
    up,
    pendingAfterUp,
    newPluginMigrations: newlyEnabledPlugins.length > 0,
    newlyEnabledPlugins,
    uncataloguedPlugins,
  };
}

/** Groups migrations by subsystem for display: `core: 022_350_to_360, …`. */
export function groupBySubsystem(refs: readonly MigrationRef[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const { subsystem, name } of refs) {
    groups.set(subsystem, [...(groups.get(subsystem) ?? []), name]);
  }
  return groups;
}
