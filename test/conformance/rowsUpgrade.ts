/**
 * The real hop (needs `--from-kong`): the older Kong's database, as the Kong under test sees and
 * upgrades it: `list` 5, `up` leaving teardowns pending (list 4), `up` refused while pending, both
 * versions' nodes running before `finish` (what blue-green relies on), `finish` not waiting for a
 * lock (NOT_LEADER), then `finish` (list 0). Rows that need pending migrations are skipped when
 * the hop leaves none.
 */
import { EXACT, LIST_TABLE, MIGRATING, UP_RAN } from "./contract";
import { compareVersions, kongRow, listCode, listStays, type Row, type Scenario } from "./kit";
import { migrations, statusRow } from "./rowsCommon";
import { pendingNodeRows } from "./rowsNodes";

const PENDING_KEY = "pending";

/** Rows that need migrations left pending by `up`; skipped when the hop leaves none. */
function whenPending(row: Row): Row {
  return {
    ...row,
    async check(kit) {
      if (kit.scratch.get(PENDING_KEY) !== true) {
        return {
          skip: `skipped: ${kit.from?.version.text} → ${kit.kong.version.text} leaves nothing pending`,
        };
      }
      return row.check(kit);
    },
  };
}

/** The real hop: the database of `--from-kong`, upgraded by the Kong under test. */
export const upgrade: Scenario = {
  name: "upgrade",
  needsFrom: true,
  setup: async (kit) => {
    const from = kit.from!;
    if (compareVersions(from.version, kit.kong.version) >= 0) {
      return `skipped: --from-kong ${from.version.text} is not older than ${kit.kong.version.text}`;
    }
    const r = await from.target.kong(["migrations", "bootstrap"], kit.env(), 600);
    if (r.code === 0 && (await listCode(kit)) === 0) {
      return `skipped: ${from.version.text} → ${kit.kong.version.text} has no new migrations`;
    }
    if (r.code !== 0) {
      throw new Error(
        `kong migrations bootstrap of ${from.version.text} exited ${r.code}: ${r.stderr.trim()}`,
      );
    }
    return undefined;
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
          says: '"New migrations available:" + table + "Run…up"',
        },
        stderr: "",
      },
      migrations("list"),
    ),
    kongRow("up", UP_RAN, (kit) => kit.kong.target.kong(["migrations", "up"], kit.env(), 600), {
      thenExpected: "then list 4 (pending) or 0",
      then: async (kit) => {
        const code = await listCode(kit);
        kit.scratch.set(PENDING_KEY, code === 4);
        return {
          seen: `then list exit ${code}`,
          difference:
            code === 4 || code === 0 ? undefined : `kong migrations list exited ${code} after up`,
        };
      },
    }),
    whenPending(
      kongRow(
        "list (pending)",
        {
          code: 4,
          stdout: {
            like: new RegExp(
              `\\nPending migrations:\\n${LIST_TABLE}\\nRun 'kong migrations finish' when ready\\n$`,
            ),
            says: '"Pending migrations:" + table + "Run…finish when ready"',
          },
          stderr: "",
        },
        migrations("list"),
      ),
    ),
    whenPending(
      kongRow("up (pending)", EXACT.upPending, migrations("up"), {
        then: listStays(4),
        thenExpected: "list still 4",
      }),
    ),
    whenPending(
      statusRow(
        "status (pending)",
        ["needs_bootstrap", "executed_migrations", "pending_migrations"],
        false,
      ),
    ),
    ...pendingNodeRows.map(whenPending),
    whenPending(
      kongRow(
        "finish with the lock held",
        EXACT.notLeader,
        async (kit) => {
          await kit.db.query(
            "INSERT INTO locks (key, owner, ttl) VALUES ('migrations', 'conformance-kit', now() + interval '60 seconds')",
          );
          try {
            return await migrations("finish")(kit);
          } finally {
            await kit.db.query("DELETE FROM locks WHERE owner = 'conformance-kit'");
          }
        },
        { then: listStays(4), thenExpected: "does not wait; list still 4" },
      ),
    ),
    whenPending(
      kongRow(
        "finish",
        {
          code: 0,
          stdout: {
            like: new RegExp(`^${MIGRATING}No pending migrations to finish\\n$`),
            says: 'teardowns, totals, "No pending migrations to finish"',
          },
          stderr: "",
        },
        (kit) => kit.kong.target.kong(["migrations", "finish"], kit.env(), 600),
        { then: listStays(0), thenExpected: "then list 0" },
      ),
    ),
  ],
};
