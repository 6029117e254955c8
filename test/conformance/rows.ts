/**
 * The rows of the contract (../shared/KONG.md §1–§3) that the step runner relies on, grouped by
 * the database state they need. One source of truth: `npm run conformance` runs them against a
 * user's Kong, test/conformance/standin.test.ts against the stand-in (test/kong-sim).
 *
 * Scenarios run in order, each on a freshly reset database. Every expectation is Kong's text
 * (contract.ts); nothing here depends on the stand-in's migration names, so a real Kong of any
 * supported version can pass. The rest: rowsNodes.ts (start, readiness, quit, stop),
 * rowsLocks.ts (the migrations lock), rowsUpgrade.ts (the hop from --from-kong).
 */
import { kongError, LIST_TABLE, MIGRATING, NEEDS_BOOTSTRAP, EXACT, startRefusal } from "./contract";
import { freePort } from "../support/postgres";
import { kongRow, listCode, listStays, type Scenario } from "./kit";
import { lockRows } from "./rowsLocks";
import { bootstrapped, migrations, statusRow } from "./rowsCommon";
import { nodeScenario } from "./rowsNodes";
import { upgrade } from "./rowsUpgrade";

const notBootstrapped: Scenario = {
  name: "not bootstrapped",
  setup: () => Promise.resolve(),
  rows: [
    kongRow("list", EXACT.listNotBootstrapped, migrations("list")),
    kongRow("up", EXACT.cannotRun, migrations("up"), {
      then: listStays(3),
      thenExpected: "list still 3",
    }),
    kongRow("finish", EXACT.cannotRun, migrations("finish")),
    statusRow("status", ["needs_bootstrap", "new_migrations"], true),
    kongRow(
      "start refused",
      {
        code: 1,
        stdout: "",
        stderr: {
          like: startRefusal(NEEDS_BOOTSTRAP),
          says: "Error: …migrations.lua:<n>: Database needs bootstrapping…",
        },
      },
      async (kit) => kit.kong.target.kong(["start"], (await kit.node()).env, 120),
    ),
    kongRow(
      "bootstrap",
      {
        code: 0,
        stdout: {
          like: new RegExp(
            `^Bootstrapping database\\.\\.\\.\\n${MIGRATING}Database is up-to-date\\n$`,
          ),
          says: '"Bootstrapping database...", migrations, "Database is up-to-date"',
        },
        stderr: "",
      },
      (kit) => kit.kong.target.kong(["migrations", "bootstrap"], kit.env(), 600),
      { then: listStays(0), thenExpected: "then list 0" },
    ),
  ],
};

const upToDate: Scenario = {
  name: "up to date",
  setup: (kit) => bootstrapped(kit),
  rows: [
    kongRow(
      "list",
      {
        code: 0,
        stdout: {
          like: new RegExp(`^Executed migrations:\\n${LIST_TABLE}$`),
          says: '"Executed migrations:" + table',
        },
        stderr: "",
      },
      migrations("list"),
    ),
    kongRow("up", EXACT.upUpToDate, migrations("up")),
    kongRow("finish", EXACT.finishUpToDate, migrations("finish")),
    kongRow("bootstrap", EXACT.alreadyBootstrapped, migrations("bootstrap")),
    statusRow("status", ["needs_bootstrap", "executed_migrations"], false),
    kongRow(
      "status before 3.0",
      {
        code: 1,
        stderr: {
          like: /^No such command for migrations: status\n/,
          says: '"No such command for migrations: status"',
        },
      },
      migrations("status"),
      { before: [3, 0] },
    ),
    kongRow(
      "unknown subcommand",
      {
        code: 1,
        stdout: "",
        stderr: {
          like: /^No such command for migrations: frobnicate\n/,
          says: '"No such command for migrations: frobnicate"',
        },
      },
      migrations("frobnicate"),
    ),
    kongRow(
      "unreachable database",
      {
        code: 1,
        stdout: "",
        stderr: kongError(
          "[PostgreSQL error] failed to retrieve PostgreSQL server_version_num: connection refused",
        ),
      },
      async (kit) =>
        kit.kong.target.kong(
          ["migrations", "list"],
          kit.env({ KONG_PG_HOST: "127.0.0.1", KONG_PG_PORT: String(await freePort()) }),
        ),
    ),
  ],
};

const cli: Scenario = {
  name: "cli",
  setup: () => Promise.resolve(),
  rows: [
    kongRow(
      "kong version",
      {
        code: 0,
        stdout: {
          like: /^(\d+\.\d+\.\d+|Kong Enterprise \d+\.\d+\.\d+\.\d+)\n$/,
          says: "the bare version (3.6.1)",
        },
        stderr: "",
      },
      (kit) => kit.kong.target.kong(["version"], {}),
    ),
    kongRow(
      "kong version -a",
      {
        code: 0,
        stdout: {
          like: /^Kong( Enterprise)?: \d+\.\d+\.\d+(\.\d+)?\n(.+\n)+$/,
          says: '"Kong: <version>" + component lines',
        },
      },
      (kit) => kit.kong.target.kong(["version", "-a"], {}),
    ),
    kongRow(
      "kong check (valid)",
      {
        code: 0,
        stdout: {
          like: /^configuration at \S+ is valid\n$/,
          says: '"configuration at <file> is valid"',
        },
      },
      async (kit) =>
        kit.kong.target.kong(
          ["check", await kit.kong.target.writeFile("valid.conf", "database = postgres\n")],
          {},
        ),
    ),
    kongRow(
      "kong check (invalid)",
      {
        code: 1,
        stderr: {
          like: /database has an invalid value: 'mysql'/,
          says: "names database = 'mysql'",
        },
      },
      async (kit) =>
        kit.kong.target.kong(
          ["check", await kit.kong.target.writeFile("invalid.conf", "database = mysql\n")],
          {},
        ),
    ),
  ],
};

/**
 * New migrations from one Kong: a database bootstrapped with `plugins = off` holds none of the
 * bundled plugins' migrations, so for a job with `plugins = bundled` they are new (KONG.md §1, the
 * `plugins` setting decides which subsystems count; Kong#4420).
 */
const newMigrations: Scenario = {
  name: "new migrations",
  setup: async (kit) => {
    await bootstrapped(kit, { KONG_PLUGINS: "off" });
    const code = await listCode(kit);
    if (code !== 5) {
      throw new Error(
        `kong migrations list (plugins bundled) exited ${code}, expected 5 (new migrations)`,
      );
    }
  },
  rows: [
    kongRow(
      "list",
      {
        code: 5,
        stdout: {
          like: new RegExp(
            `\\nNew migrations available:\\n${LIST_TABLE}\\nRun 'kong migrations up' to proceed\\n$`,
          ),
          says: '"New migrations available:" + table + "Run \'kong migrations up\' to proceed"',
        },
        stderr: "",
      },
      migrations("list"),
    ),
    kongRow("finish", EXACT.finishNew, migrations("finish"), {
      then: listStays(5),
      thenExpected: "list still 5",
    }),
    kongRow("bootstrap", EXACT.alreadyBootstrapped, migrations("bootstrap")),
    statusRow("status", ["needs_bootstrap", "executed_migrations", "new_migrations"], false),
    kongRow(
      "start refused",
      {
        code: 1,
        stdout: "",
        stderr: {
          like: startRefusal("New migrations available; run 'kong migrations up' to proceed"),
          says: "Error: …migrations.lua:<n>: New migrations available…",
        },
      },
      async (kit) => kit.kong.target.kong(["start"], (await kit.node()).env, 120),
    ),
    ...lockRows,
  ],
};

/** Every scenario, in the order the kit runs them. */
export const SCENARIOS: readonly Scenario[] = [
  cli,
  notBootstrapped,
  upToDate,
  nodeScenario,
  newMigrations,
  upgrade,
];
