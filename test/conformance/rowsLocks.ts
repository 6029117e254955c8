/**
 * The `migrations` lock (KONG.md §1–§2): `up` waits up to `--lock-timeout` and fails with
 * `timeout`; when the holder lets go in time it prints NOT_LEADER and exits 0 without running
 * anything (why the runner confirms every `up` with `list`); an expired lock does not block. Run on
 * a database with new migrations (the lock is only taken when there is something to do).
 */
import { EXACT, UP_RAN } from "./contract";
import { kongRow, listCode, listStays, type Kit } from "./kit";

const OWNER = "conformance-kit";

/** Holds the migrations lock as another node would, for `seconds` (negative: already expired). */
async function holdLock(kit: Kit, seconds: number): Promise<void> {
  await kit.db.query(
    `INSERT INTO locks (key, owner, ttl) VALUES ('migrations', $1, now() + make_interval(secs => $2))`,
    [OWNER, seconds],
  );
}

const releaseLock = (kit: Kit) => kit.db.query("DELETE FROM locks WHERE owner = $1", [OWNER]);

/**
 * Waits until a Kong session on the database has tried to take the lock and is now waiting: its
 * last statement inserted into `locks` and finished, or it is reading `locks`. Waiting on that
 * state, not on a clock, is what makes "released while waiting" mean what it says.
 */
async function kongIsWaiting(kit: Kit, seconds: number): Promise<boolean> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const rows = await kit.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND ((query ILIKE '%INSERT INTO locks%' AND state <> 'active')
               OR (query ILIKE '%FROM locks%' AND query NOT ILIKE '%INSERT INTO locks%' AND query NOT ILIKE '%DELETE FROM locks%'))`,
    );
    if ((rows[0]?.n ?? 0) > 0) {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** The lock rows, in order; each leaves the database with its new migrations, except the last. */
export const lockRows = [
  kongRow(
    "up, lock held, --lock-timeout 1",
    EXACT.lockTimeout,
    async (kit) => {
      await holdLock(kit, 60);
      try {
        return await kit.kong.target.kong(["migrations", "up", "--lock-timeout", "1"], kit.env());
      } finally {
        await releaseLock(kit);
      }
    },
    { then: listStays(5), thenExpected: "nothing ran: list still 5" },
  ),
  kongRow(
    "up, lock released while it waits",
    EXACT.notLeader,
    async (kit) => {
      await holdLock(kit, 60);
      const run = kit.kong.target.kong(["migrations", "up", "--lock-timeout", "60"], kit.env());
      try {
        await kongIsWaiting(kit, 30);
      } finally {
        await releaseLock(kit);
      }
      return run;
    },
    { then: listStays(5), thenExpected: "exit 0 but nothing ran: list still 5" },
  ),
  kongRow(
    "up, expired lock",
    UP_RAN,
    async (kit) => {
      await holdLock(kit, -5);
      return kit.kong.target.kong(["migrations", "up"], kit.env(), 600);
    },
    {
      thenExpected: "lock gone, then list 0 or 4",
      then: async (kit) => {
        const locks = await kit.db.query("SELECT key FROM locks");
        const code = await listCode(kit);
        const bad = locks.length > 0 || (code !== 0 && code !== 4);
        return {
          seen: `${locks.length} lock rows, then list exit ${code}`,
          difference: bad
            ? `after up: ${locks.length} rows in locks, list exited ${code}`
            : undefined,
        };
      },
    },
  ),
];
