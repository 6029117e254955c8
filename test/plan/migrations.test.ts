import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CATALOGUED_PLUGINS,
  MIGRATION_CATALOG,
  migrationsFor,
  MigrationRef,
  parseVersion,
  PluginsSetting,
  resolvePlugins,
} from "../../components/plan";
import { assertRefused } from "./helpers";

const text = (refs: readonly MigrationRef[]): string[] =>
  refs.map((r) => `${r.subsystem} ${r.name}`);
const run = (
  from: string | undefined,
  to: string,
  plugins: PluginsSetting = "bundled",
  deployed?: PluginsSetting,
) =>
  migrationsFor(
    from === undefined ? undefined : parseVersion(from),
    parseVersion(to),
    plugins,
    deployed,
  );

describe("migrationsFor: one hop, bundled plugins (KONG.md §4)", () => {
  const cases: { from: string; to: string; up: string[]; pending: string[] }[] = [
    { from: "2.1.0", to: "2.2.0", up: ["core 012_213_to_220"], pending: [] },
    { from: "2.2.0", to: "2.3.0", up: ["core 013_220_to_230"], pending: [] },
    { from: "2.3.0", to: "2.4.0", up: [], pending: [] },
    { from: "2.6.0", to: "2.7.0", up: ["core 014_230_to_270"], pending: [] },
    { from: "2.7.1", to: "2.8.4", up: ["core 015_270_to_280"], pending: [] },
    {
      from: "2.8.4",
      to: "3.4.3",
      up: [
        "core 016_280_to_300",
        "core 017_300_to_310",
        "core 018_310_to_320",
        "core 019_320_to_330",
        "core 020_330_to_340",
        "acme 001_280_to_300",
        "acme 002_320_to_330",
        "http-log 001_280_to_300",
        "key-auth 004_320_to_330",
        "oauth2 006_320_to_330",
        "oauth2 007_320_to_330",
        "post-function 001_280_to_300",
        "pre-function 001_280_to_300",
        "rate-limiting 005_320_to_330",
        "session 002_320_to_330",
      ],
      pending: ["core 016_280_to_300", "http-log 001_280_to_300"],
    },
    {
      from: "3.2.0",
      to: "3.3.0",
      up: [
        "core 019_320_to_330",
        "acme 002_320_to_330",
        "key-auth 004_320_to_330",
        "oauth2 006_320_to_330",
        "oauth2 007_320_to_330",
        "rate-limiting 005_320_to_330",
        "session 002_320_to_330",
      ],
      pending: [],
    },
    {
      from: "3.5.0",
      to: "3.6.0",
      up: [
        "core 022_350_to_360",
        "acme 003_350_to_360",
        "rate-limiting 006_350_to_360",
        "response-ratelimiting 001_350_to_360",
      ],
      pending: [],
    },
    {
      from: "3.5.0",
      to: "3.6.1",
      up: [
        "core 022_350_to_360",
        "acme 003_350_to_360",
        "opentelemetry 001_331_to_332",
        "rate-limiting 006_350_to_360",
        "response-ratelimiting 001_350_to_360",
      ],
      pending: ["opentelemetry 001_331_to_332"],
    },
    {
      from: "3.6.0",
      to: "3.6.1",
      up: ["opentelemetry 001_331_to_332"],
      pending: ["opentelemetry 001_331_to_332"],
    },
    {
      from: "3.6.1",
      to: "3.7.0",
      up: ["core 023_360_to_370", "ai-proxy 001_360_to_370"],
      pending: ["ai-proxy 001_360_to_370"],
    },
    { from: "3.7.1", to: "3.8.0", up: [], pending: [] },
    { from: "3.8.0", to: "3.9.0", up: ["core 024_380_to_390"], pending: [] },
    {
      from: "3.9.0",
      to: "3.10.0",
      up: ["core 025_390_to_3100", "session 003_330_to_3100"],
      pending: [],
    },
    {
      from: "3.4.3",
      to: "3.10.0",
      up: [
        "core 021_340_to_350",
        "core 022_350_to_360",
        "core 023_360_to_370",
        "core 024_380_to_390",
        "core 025_390_to_3100",
        "acme 003_350_to_360",
        "ai-proxy 001_360_to_370",
        "opentelemetry 001_331_to_332",
        "rate-limiting 006_350_to_360",
        "response-ratelimiting 001_350_to_360",
        "session 003_330_to_3100",
      ],
      // From 3.7 on, rate-limiting and response-ratelimiting 350_to_360 have teardowns.
      pending: [
        "ai-proxy 001_360_to_370",
        "opentelemetry 001_331_to_332",
        "rate-limiting 006_350_to_360",
        "response-ratelimiting 001_350_to_360",
      ],
    },
    { from: "3.4.3.12", to: "3.4.3.13", up: [], pending: [] },
    {
      from: "3.6.0.1",
      to: "3.6.1.4",
      up: ["opentelemetry 001_331_to_332"],
      pending: ["opentelemetry 001_331_to_332"],
    },
  ];
  for (const c of cases) {
    test(`${c.from} → ${c.to}`, () => {
      const m = run(c.from, c.to);
      assert.deepEqual(text(m.up), c.up);
      assert.deepEqual(text(m.pendingAfterUp), c.pending);
      assert.equal(m.newPluginMigrations, false);
      assert.deepEqual(m.newlyEnabledPlugins, []);
    });
  }
  test("a downgrade runs no migrations", () => {
    assert.deepEqual(run("3.6.1", "3.5.0").up, []);
  });
});

describe("migrationsFor: the plugins setting", () => {
  test("only core and the listed plugins are considered", () => {
    const m = run("2.8.0", "3.4.0", ["key-auth"]);
    assert.deepEqual(text(m.up), [
      "core 016_280_to_300",
      "core 017_300_to_310",
      "core 018_310_to_320",
      "core 019_320_to_330",
      "core 020_330_to_340",
      "key-auth 004_320_to_330",
    ]);
    assert.deepEqual(text(m.pendingAfterUp), ["core 016_280_to_300"]);
  });
  test('["off"] leaves core only', () => {
    assert.deepEqual(text(run("3.8.0", "3.9.0", ["off"]).up), ["core 024_380_to_390"]);
    assert.deepEqual(text(run("3.9.0", "3.10.0", ["off"]).up), ["core 025_390_to_3100"]);
  });
  test("a newly enabled plugin runs all its migrations (in plain up)", () => {
    const m = run("3.5.0", "3.6.0", ["key-auth", "rate-limiting"], ["key-auth"]);
    assert.deepEqual(text(m.up), [
      "core 022_350_to_360",
      "rate-limiting 000_base_rate_limiting",
      "rate-limiting 003_10_to_112",
      "rate-limiting 004_200_to_210",
      "rate-limiting 005_320_to_330",
      "rate-limiting 006_350_to_360",
    ]);
    assert.equal(m.newPluginMigrations, true);
    assert.deepEqual(m.newlyEnabledPlugins, ["rate-limiting"]);
  });
  test("a newly enabled plugin without migrations at the target brings none", () => {
    const m = run("3.5.0", "3.6.0", ["ai-proxy"], []);
    assert.equal(m.newPluginMigrations, false);
    assert.deepEqual(m.newlyEnabledPlugins, []);
    assert.deepEqual(m.uncataloguedPlugins, []);
  });
  test("going from a list to bundled enables every catalogued plugin not listed before", () => {
    const m = run("3.9.0", "3.10.0", "bundled", ["key-auth", "acl"]);
    assert.equal(m.newPluginMigrations, true);
    assert.deepEqual(
      m.newlyEnabledPlugins,
      CATALOGUED_PLUGINS.filter((p) => p !== "key-auth" && p !== "acl"),
    );
    assert.ok(text(m.up).includes("key-auth 004_320_to_330") === false, "key-auth ran before");
  });
  test("plugins new to the bundle between versions are not 'newly enabled' under bundled", () => {
    const m = run("3.6.1", "3.7.0", ["bundled"], "bundled");
    assert.equal(m.newPluginMigrations, false);
  });
  test("custom or migration-less plugins are reported, not guessed", () => {
    const m = run("3.5.0", "3.6.0", ["bundled", "my-plugin", "cors"], ["bundled", "cors"]);
    assert.deepEqual(m.uncataloguedPlugins, ["my-plugin"]);
    assert.equal(m.newPluginMigrations, false);
  });
  test("a same-version change that enables a plugin still lists its migrations", () => {
    const m = run("3.6.1", "3.6.1", ["session"], []);
    assert.deepEqual(text(m.up), [
      "session 000_base_session",
      "session 001_add_ttl_index",
      "session 002_320_to_330",
    ]);
    assert.equal(m.newPluginMigrations, true);
  });
  test("a fresh install bootstraps everything and leaves nothing pending", () => {
    const m = run(undefined, "3.10.0");
    assert.equal(m.up.length, MIGRATION_CATALOG.length);
    assert.deepEqual(m.pendingAfterUp, []);
    assert.equal(m.newPluginMigrations, false);
    assert.deepEqual(text(m.up).slice(0, 2), ["core 000_base", "core 003_100_to_110"]);
    const early = run(undefined, "2.1.0", ["off"]);
    assert.equal(early.up.length, 10, "core 000 … 011 only");
  });
  test("malformed plugin names are refused with the setting named", () => {
    assertRefused(
      () => run("3.5.0", "3.6.0", ["Key Auth"]),
      "input",
      `plugins contains "Key Auth"`,
      `["bundled", "my-plugin"]`,
    );
    assertRefused(() => run("3.5.0", "3.6.0", ["off", "acl"]), "input", `"off"`);
    assertRefused(() => run("3.5.0", "3.6.0", "bundled", [""]), "input", "deployed plugins");
  });
  test("resolvePlugins", () => {
    assert.deepEqual(resolvePlugins("bundled", "p"), { bundled: true, listed: [] });
    assert.deepEqual(resolvePlugins([" bundled ", "x"], "p"), { bundled: true, listed: ["x"] });
    assert.deepEqual(resolvePlugins(["off"], "p"), { bundled: false, listed: [] });
    assert.deepEqual(resolvePlugins([], "p"), { bundled: false, listed: [] });
  });
});

describe("the catalog", () => {
  test("core names are in order and 3.8 adds none", () => {
    const core = MIGRATION_CATALOG.filter((e) => e.subsystem === "core");
    const names = core.map((e) => e.name);
    assert.deepEqual(names, [...names].sort());
    assert.equal(core.filter((e) => e.since.startsWith("3.8.")).length, 0);
    assert.deepEqual(
      core.filter((e) => e.teardownSince).map((e) => e.name),
      ["016_280_to_300"],
    );
  });
});
