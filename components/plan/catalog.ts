/**
 * Which migrations each Kong release knows, transcribed from KONG.md §4. The planner derives
 * every "which migrations run / stay pending" answer from this table, so a new Kong release means
 * a new row here and nothing else.
 *
 * Interpretation for 2.1 – 2.7: KONG.md lists the full 2.8 catalog only. Earlier 2.x releases are
 * taken to know the prefix of it whose names say they existed: a core migration named
 * `NNN_<a>_to_<b>` belongs to the minor of `<b>` (`012_213_to_220` → 2.2, `014_230_to_270` → 2.7);
 * migrations for 2.1.x patches (`010_210_to_211`, `011_212_to_213`) count as 2.1.0 (KONG.md:
 * "patch releases equal their .0"); everything else in the 2.8 list (bases, 1.x and 2.0/2.1
 * steps, `session 001_add_ttl_index`) is present from 2.1 on.
 */

/** One migration of one subsystem (`core` or a plugin name), as `schema_meta` records it. */
export interface CatalogEntry {
  readonly subsystem: string;
  readonly name: string;
  /** First release (`major.minor.patch`) whose code knows this migration. */
  readonly since: string;
  /**
   * First release whose code gives it a teardown (so `up` leaves it pending until `finish`);
   * absent when it has none. Can be later than `since` (rate-limiting `006_350_to_360`).
   */
  readonly teardownSince?: string;
}

function entries(subsystem: string, since: string, names: string): CatalogEntry[] {
  return names.split(/\s+/).map((name) => ({ subsystem, name, since }));
}

/** The 2.8 catalog's plugin migrations, all present from 2.1 on (see the module comment). */
const PLUGINS_2X: CatalogEntry[] = [
  ...entries("acl", "2.1.0", "000_base_acl 002_130_to_140 003_200_to_210 004_212_to_213"),
  ...entries("acme", "2.1.0", "000_base_acme"),
  ...entries("basic-auth", "2.1.0", "000_base_basic_auth 002_130_to_140 003_200_to_210"),
  ...entries("bot-detection", "2.1.0", "001_200_to_210"),
  ...entries("hmac-auth", "2.1.0", "000_base_hmac_auth 002_130_to_140 003_200_to_210"),
  ...entries("ip-restriction", "2.1.0", "001_200_to_210"),
  ...entries("jwt", "2.1.0", "000_base_jwt 002_130_to_140 003_200_to_210"),
  ...entries("key-auth", "2.1.0", "000_base_key_auth 002_130_to_140 003_200_to_210"),
  ...entries("oauth2", "2.1.0", "000_base_oauth2 003_130_to_140 004_200_to_210 005_210_to_211"),
  ...entries("rate-limiting", "2.1.0", "000_base_rate_limiting 003_10_to_112 004_200_to_210"),
  ...entries("response-ratelimiting", "2.1.0", "000_base_response_rate_limiting"),
  ...entries("session", "2.1.0", "000_base_session 001_add_ttl_index"),
];

/** Core migrations in order; `016_280_to_300` is the only one with a teardown. */
const CORE: CatalogEntry[] = [
  ...entries(
    "core",
    "2.1.0",
    "000_base 003_100_to_110 004_110_to_120 005_120_to_130 006_130_to_140 007_140_to_150 " +
      "008_150_to_200 009_200_to_210 010_210_to_211 011_212_to_213",
  ),
  ...entries("core", "2.2.0", "012_213_to_220"),
  ...entries("core", "2.3.0", "013_220_to_230"),
  ...entries("core", "2.7.0", "014_230_to_270"),
  ...entries("core", "2.8.0", "015_270_to_280"),
  { subsystem: "core", name: "016_280_to_300", since: "3.0.0", teardownSince: "3.0.0" },
  ...entries("core", "3.1.0", "017_300_to_310"),
  ...entries("core", "3.2.0", "018_310_to_320"),
  ...entries("core", "3.3.0", "019_320_to_330"),
  ...entries("core", "3.4.0", "020_330_to_340"),
  ...entries("core", "3.5.0", "021_340_to_350"),
  ...entries("core", "3.6.0", "022_350_to_360"),
  ...entries("core", "3.7.0", "023_360_to_370"),
  // 3.8 has no core migration.
  ...entries("core", "3.9.0", "024_380_to_390"),
  ...entries("core", "3.10.0", "025_390_to_3100"),
];

/** Plugin migrations added in 3.x (KONG.md §4, "Added later"). */
const PLUGINS_3X: CatalogEntry[] = [
  ...entries("acme", "3.0.0", "001_280_to_300"),
  { subsystem: "http-log", name: "001_280_to_300", since: "3.0.0", teardownSince: "3.0.0" },
  ...entries("post-function", "3.0.0", "001_280_to_300"),
  ...entries("pre-function", "3.0.0", "001_280_to_300"),
  ...entries("acme", "3.3.0", "002_320_to_330"),
  ...entries("key-auth", "3.3.0", "004_320_to_330"),
  ...entries("oauth2", "3.3.0", "006_320_to_330 007_320_to_330"),
  ...entries("rate-limiting", "3.3.0", "005_320_to_330"),
  ...entries("session", "3.3.0", "002_320_to_330"),
  ...entries("acme", "3.6.0", "003_350_to_360"),
  { subsystem: "rate-limiting", name: "006_350_to_360", since: "3.6.0", teardownSince: "3.7.0" },
  {
    subsystem: "response-ratelimiting",
    name: "001_350_to_360",
    since: "3.6.0",
    teardownSince: "3.7.0",
  },
  { subsystem: "opentelemetry", name: "001_331_to_332", since: "3.6.1", teardownSince: "3.6.1" },
  { subsystem: "ai-proxy", name: "001_360_to_370", since: "3.7.0", teardownSince: "3.7.0" },
  ...entries("session", "3.10.0", "003_330_to_3100"),
];

/**
 * Every migration the planner knows, in Kong's order within each subsystem (core first, plugins
 * by name). Order matters: it is the order `up` runs them and the order the plan shows them.
 */
export const MIGRATION_CATALOG: readonly CatalogEntry[] = [
  ...CORE,
  ...[...PLUGINS_2X, ...PLUGINS_3X].sort((a, b) =>
    a.subsystem === b.subsystem ? 0 : a.subsystem < b.subsystem ? -1 : 1,
  ),
];

/** Bundled plugins that have migrations in some known release; what `plugins = bundled` adds. */
export const CATALOGUED_PLUGINS: readonly string[] = [
  ...new Set(MIGRATION_CATALOG.filter((e) => e.subsystem !== "core").map((e) => e.subsystem)),
];
