/**
 * What each step does. Every step first looks at the real state (running nodes, `kong migrations
 * list`) and does only what is still missing, so re-running a step after a crash is safe; none
 * blindly retries `kong migrations up` (Kong/kong#12978).
 */
import { checkRoom, finishBackup, takeBackup } from "./backup";
import { BackupManifest } from "../../state/catalog";
import { runningOthers, targetNodes } from "./cluster";
import {
  databaseFacts,
  type EarlyConnection,
  migrationsLockHolder,
  tableCounts,
  WriteMark,
  writesSince,
} from "../infra/db";
import { attemptBackup, earlierAttemptMigrated, entries, record } from "../../state/journal";
import { describeFailure, MigrationState, migrationState } from "../infra/kong";
import {
  httpJson,
  httpStatus,
  sleep,
  waitListenersClosed,
  waitReady,
  watchUntilDown,
} from "../infra/http";
import { pgClientCheck } from "../infra/pgclient";
import { backupFileProblem, readManifest, restoreBackup } from "./restore";
import { fetchBackup } from "../infra/store";
import { runtimeFor } from "../runtimes/runtime";
import { StepSpec, strategyOf } from "../../contract/spec";
import { checkChange, checkWindow } from "../../plan/policy";
import { chainCompleted, restartWithFallback } from "./settings";

/** A step's result: facts for the journal and the report. */
export type StepDetails = Record<string, unknown>;

/**
 * What a runner process that runs several steps back to back (the outage, components/runner/
 * run.ts) carries from one to the next; a step run alone gets an empty one and works as before.
 */
export interface RunContext {
  /**
   * The migration state already known, so a step need not ask `kong migrations list` (one `kong`
   * call, ~0.2 s, each): read once before the first node stops, then updated from what `up`
   * printed. A surprise (another migrator got there first) falls back to `list`.
   */
  state?: MigrationState;
  /**
   * `backup` returns once the dump is read back (checksum, table of contents), leaving its test
   * restore and store copy in {@link durable}: `up` runs meanwhile, `finish` waits for it.
   */
  readonly defer?: boolean;
  /** The rest of the backup, resolving to the backup step's full details. */
  durable?: Promise<StepDetails>;
  /**
   * `prepared`, with `start` next in this process: `stop` returns once X's listeners are closed
   * (their ports free for Y), leaving X's in-flight requests and its process exit in
   * {@link draining}, so Y starts meanwhile.
   */
  readonly startsNext?: boolean;
  /** The rest of the stop: X's nodes gone, then the write check; the stop step's full details. */
  draining?: Promise<StepDetails>;
  /** A connection opened before the outage for the backup's view; taken by the backup. */
  early?: EarlyConnection;
}

const target = (spec: StepSpec) => targetNodes(spec)[0]!;

/** Checks everything that can be checked before the first node stops. */
export async function preflight(spec: StepSpec): Promise<StepDetails> {
  const problems: string[] = [];
  const facts: StepDetails = {};
  const windowProblem = checkWindow(spec.maintenanceWindows, new Date());
  if (windowProblem) {
    problems.push(windowProblem);
  }
  const rt = runtimeFor(spec);
  if (problems.length === 0) {
    problems.push(...(await rt.checkTarget(target(spec))));
  }
  const running = await runningOthers(spec, rt);
  const runningVersions = [...new Set(running.map((r) => r.version))];
  facts.runningNodes = running.map((r) => `${r.id}@${r.version}`);
  if (spec.kind === "install" && running.length > 0) {
    problems.push(
      `nodes of this cluster already run (${running.map((r) => `${r.id}@${r.version}`).join(", ")}) but the stack has no record of deploying them; set kong-gateway:version to their version (${runningVersions.join(", ")}) so the stack adopts them, or stop them first`,
    );
  }
  if (spec.kind !== "rollback" && spec.from && runningVersions.some((v) => v !== spec.from)) {
    problems.push(
      `the stack records Kong ${spec.from} as deployed but nodes run ${runningVersions.join(", ")}; run 'pulumi refresh' or fix the nodes first`,
    );
  }
  if (spec.kind === "rollback") {
    const restoreProblem = await checkRestoreTarget(spec);
    if (restoreProblem) {
      problems.push(restoreProblem);
    }
  }
  if (spec.kind === "upgrade" && spec.from) {
    const pathProblem = checkChange(spec.from, spec.to);
    if (pathProblem) {
      problems.push(pathProblem);
    }
  }
  // Another `kong migrations` at work (Kong/kong#4849): the schema is in flux and this change's
  // own `up`/`finish` would not get the lock; refused now rather than after the nodes stopped.
  // (Unreachable: left to the `list` below, which says so.)
  const holder =
    problems.length === 0
      ? await migrationsLockHolder(spec.database).catch(() => undefined)
      : undefined;
  if (holder) {
    problems.push(
      `another 'kong migrations' is running on the database ${spec.database.database} on ${spec.database.host}:${spec.database.port}: the migrations lock is held by ${holder.owner} until ${holder.until} (Kong/kong#4849); wait for it to end (a killed one's lock expires then), then run pulumi up again`,
    );
  }
  // A rollback replaces the database; what the older version's 'list' makes of the newer
  // schema says nothing about it. The restore target was checked above instead.
  if (problems.length === 0 && spec.kind !== "rollback") {
    const { state, result } = await migrationState(rt, spec.timeouts.dbTimeoutSeconds);
    facts.migrationState = state;
    if (state === "error") {
      problems.push(
        `the database is not usable: ${describeFailure("kong migrations list", result)}`,
      );
    } else if (state === "pending" && spec.kind === "upgrade" && earlierAttemptMigrated(spec)) {
      // An earlier attempt of this change (prepared/rolling, rolled back before `finish`) ran
      // `up`: these are its pending migrations, and this attempt finishes them.
      facts.resumesMigratedDatabase = true;
    } else if (state === "pending") {
      problems.push(pendingProblem(spec, result.stdout));
    } else if (state === "new" && spec.kind === "install") {
      problems.push(
        `the database ${spec.database.database} on ${spec.database.host}:${spec.database.port} already holds an older Kong schema, but this stack has no record of deploying it; set kong-gateway:version to the version that created it so the stack adopts it, then upgrade from there`,
      );
    } else if (state === "needs-bootstrap" && spec.kind === "upgrade") {
      problems.push(
        `the database ${spec.database.database} on ${spec.database.host}:${spec.database.port} is not bootstrapped, yet the stack records Kong ${spec.from} as deployed; check kong-gateway:database`,
      );
    }
  }
  const db = problems.length === 0 ? await databaseFacts(spec.database) : undefined;
  if (db) {
    facts.databaseBytes = db.bytes;
  }
  if (db && spec.kind !== "install") {
    const room = checkRoom(spec.backup, db.bytes);
    facts.backupFreeBytes = room.free;
    if (!room.ok) {
      problems.push(
        `the backup directory ${spec.backup.dir} has ${room.free} bytes free; the backup needs about ${room.needed} (database ${db.bytes} bytes + kong-gateway:backup.minFreeMb); free space or point backup.dir elsewhere`,
      );
    }
    const pg = await pgClientCheck(spec, Math.floor(db.serverVersionNum / 10000));
    facts.pgDump = pg.text;
    facts.pgClient = pg.via;
    process.stderr.write(`[kong-gateway] backups: ${pg.text}\n`);
    if (pg.problem) {
      problems.push(pg.problem);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `preflight refused the change ${spec.from ?? "(new)"} → ${spec.to}; nothing was stopped or written:\n  - ${problems.join("\n  - ")}`,
    );
  }
  return facts;
}

/**
 * A rollback restores the backup its upgrade took: it must be there, whole and of the right
 * versions, before Y stops — afterwards is too late to find out.
 */
async function checkRestoreTarget(spec: StepSpec): Promise<string | undefined> {
  const id = spec.restoreBackupId;
  if (!id) {
    return "this rollback names no backup to restore (restoreBackupId is empty)";
  }
  let m: BackupManifest;
  try {
    // Taken on another machine: fetched from the store (and checked) before anything stops.
    await fetchBackup(spec.backup, id);
    m = readManifest(spec.backup.dir, id);
  } catch (e) {
    return `${(e as Error).message}; the rollback cannot restore it (README: "Recovering by hand")`;
  }
  const problem = await backupFileProblem(m);
  if (problem) {
    return problem.kind === "missing"
      ? `the ${problem.text}; the rollback cannot restore it (README: "Recovering by hand")`
      : `the ${problem.text}; refusing to roll back onto a damaged backup`;
  }
  if (m.fromVersion !== spec.to) {
    return `backup ${id} was taken before an upgrade from ${m.fromVersion}, not from ${spec.to}; Kong ${spec.to} cannot run on it`;
  }
  return undefined;
}

/**
 * Stops every other running node of this cluster (X), all at once, gracefully. `prepared` with
 * `start` next (`ctx.startsNext`), on this machine: returns as soon as every listener of X refuses
 * connections — Kong (nginx) closes them when `kong quit` begins, so Y can bind the same ports —
 * and X finishes its in-flight requests in {@link RunContext.draining} while Y starts.
 */
export async function stop(spec: StepSpec, ctx: RunContext = {}): Promise<StepDetails> {
  const rt = runtimeFor(spec);
  const running = await runningOthers(spec, rt);
  if (running.length === 0) {
    return { stopped: [], note: "no other node of this cluster was running" };
  }
  const quitSentAt = new Date();
  // Caught here: when a stop fails (e.g. the step runs out of time) these watchers are never
  // awaited, and one rejecting later ("cancelled" at its next pause) would crash the runner in
  // the middle of its automatic rollback.
  const downAt: Date[] = [];
  const downs = running.map((r) =>
    watchUntilDown(`${r.proxyUrl}/`, spec.timeouts.quitSeconds + 10).then(
      (d) => (d && downAt.push(d), d),
      () => undefined,
    ),
  );
  const quits = Promise.all(running.map((r) => rt.stop(r, spec.timeouts.quitSeconds)));
  // Only where this process can see every listener (a remote node's admin port may not be
  // reachable from here, and refused would be a false "closed").
  const overlap =
    ctx.startsNext === true &&
    strategyOf(spec) === "prepared" &&
    running.every((r) => r.host === undefined && r.container === undefined);
  const closedAt = overlap
    ? await waitListenersClosed(
        running.flatMap((r) => [r.proxyUrl, r.adminUrl, r.statusUrl]),
        spec.timeouts.quitSeconds + 10,
        quits,
      )
    : undefined;
  const details = (firstDown: Date | undefined): StepDetails => ({
    stopped: running.map((r) => `${r.id}@${r.version}`),
    quitSentAt: quitSentAt.toISOString(),
    firstStopAt: (firstDown ?? quitSentAt).toISOString(),
    ...(closedAt ? { listenersClosedAt: closedAt.toISOString() } : {}),
  });
  const earliest = () => downAt.sort((a, b) => a.getTime() - b.getTime())[0];
  const finish = async (): Promise<StepDetails> => {
    await quits;
    await Promise.all(downs);
    return {
      ...details(earliest()),
      // `prepared`: X served after the backup; nothing it took in may be lost.
      ...(strategyOf(spec) === "prepared" ? await backupIfWritten(spec, "after the stop") : {}),
    };
  };
  if (!closedAt) {
    return finish();
  }
  const rest = finish();
  rest.catch(() => undefined);
  ctx.draining = rest;
  return {
    // Not waited for: the proxies were down by `closedAt` at the latest.
    ...details(earliest() ?? closedAt),
    draining: "X's nodes finish their in-flight requests while Y starts",
  };
}

/** The context's early connection, now owned by the caller. */
function takeEarly(ctx: RunContext): EarlyConnection | undefined {
  const early = ctx.early;
  ctx.early = undefined;
  return early;
}

/** Takes the verified backup of this change (skipped on a fresh database). */
export async function backup(spec: StepSpec, known: RunContext = {}): Promise<StepDetails> {
  const state =
    known.state ?? (await migrationState(runtimeFor(spec), spec.timeouts.dbTimeoutSeconds)).state;
  if (state === "needs-bootstrap") {
    return { skipped: "the database is not bootstrapped yet: nothing to back up" };
  }
  return backupNow(spec, known);
}

/**
 * Takes this change's backup now, with the write mark taken just before it: what a later
 * {@link backupIfWritten} compares with.
 */
async function backupNow(spec: StepSpec, ctx: RunContext = {}): Promise<StepDetails> {
  // The write mark is read in the dump's own snapshot (backup.ts takeBackup): a write it misses
  // is missing from the dump too.
  const m = await takeBackup(
    spec.database,
    spec.backup,
    {
      cluster: spec.cluster,
      // An install's re-run over its own bootstrapped database backs up that version.
      from: spec.from ?? spec.to,
      to: spec.to,
      // Retention must never delete the backup this rollback is about to restore.
      keep: spec.restoreBackupId ? [spec.restoreBackupId] : [],
      later: ctx.defer === true,
      early: takeEarly(ctx),
    },
    spec,
  );
  const details = (pruned: string[]): StepDetails => ({
    backup: {
      id: m.id,
      path: m.path,
      sha256: m.sha256,
      bytes: m.bytes,
      dumpSeconds: Number(m.dumpSeconds.toFixed(3)),
    },
    ...(pruned.length > 0 ? { pruned } : {}),
    tables: Object.keys(m.tables).length,
    verifiedBy: m.verifiedBy,
    ...(m.writeMark ? { writeMark: m.writeMark } : {}),
  });
  if (!m.durable) {
    return details(m.pruned);
  }
  ctx.durable = m.durable.then((d) => ({ ...details(d.pruned), durable: true }));
  // Awaited by the run before `finish` (or before a rollback restores it).
  ctx.durable.catch(() => undefined);
  return { ...details([]), durable: PENDING };
}

/** The first journal entry of a backup whose test restore and store copy run during `up`. */
const PENDING = "pending: its read-back, test restore and store copy run during 'up'";

/**
 * A backup step found done (an interrupted run's) but not made durable yet: makes it durable now,
 * in `ctx.durable`, as if it had just been taken.
 */
export function resumeBackup(spec: StepSpec, ctx: RunContext, done: StepDetails): void {
  const b = done.backup as { id: string } | undefined;
  if (done.durable !== PENDING || !b) {
    return;
  }
  const m = readManifest(spec.backup.dir, b.id);
  const meta = { cluster: spec.cluster, keep: spec.restoreBackupId ? [spec.restoreBackupId] : [] };
  ctx.durable = finishBackup(spec.database, spec.backup, m, meta, spec).then((d) => ({
    ...done,
    ...(d.pruned.length > 0 ? { pruned: d.pruned } : {}),
    durable: true,
  }));
  ctx.durable.catch(() => undefined);
}

/**
 * `prepared` and `rolling` back up while a gateway serves, so configuration may be written after
 * the backup; a rollback that restores it (only a failed `finish` does) would lose those writes.
 * When `cluster_events` shows writes since this attempt's latest backup, a fresh backup is taken
 * now and journaled as a `backup` step, so the rollback restores that one.
 */
async function backupIfWritten(spec: StepSpec, when: string): Promise<StepDetails> {
  const latest = entries(spec)
    .filter((e) => e.step === "backup" && e.ok)
    .at(-1);
  const mark = latest?.details?.writeMark as WriteMark | undefined;
  if (!mark) {
    return {};
  }
  const writes = await writesSince(spec.database, mark);
  if (writes === 0) {
    return { writesSinceBackup: 0 };
  }
  process.stderr.write(
    `[kong-gateway] ${writes} configuration write(s) since the backup; taking a fresh backup ${when}\n`,
  );
  const startedAt = new Date();
  const details = await backupNow(spec);
  const finishedAt = new Date();
  record(spec, {
    step: "backup",
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    ok: true,
    details: { ...details, reason: `${writes} configuration write(s) since the backup, ${when}` },
  });
  return { writesSinceBackup: writes, freshBackup: details.backup };
}

/**
 * `kong migrations bootstrap` or `up`, confirmed with `list` (exit 0 alone proves nothing). With
 * the state already known (`known`), one `kong` call instead of three: no `list` before it, and
 * its own totals line as the proof after it.
 */
export async function migrationsUp(spec: StepSpec, known: RunContext = {}): Promise<StepDetails> {
  const rt = runtimeFor(spec);
  const t = spec.timeouts;
  const flags = [
    "--db-timeout",
    String(t.dbTimeoutSeconds),
    "--lock-timeout",
    String(t.lockTimeoutSeconds),
  ];
  let given = known.state;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const { state, result } =
      given !== undefined
        ? { state: given, result: undefined }
        : await migrationState(rt, t.dbTimeoutSeconds);
    const listed = given === undefined;
    given = undefined;
    if (state === "error") {
      throw new Error(describeFailure("kong migrations list", result!));
    }
    if (state === "up-to-date" || state === "pending") {
      known.state = state;
      return { state, ran: attempt > 1 };
    }
    const sub = state === "needs-bootstrap" ? "bootstrap" : "up";
    if (sub === "up" && spec.kind === "install") {
      throw new Error(
        `the database holds an older Kong schema, but this is a fresh install of ${spec.to}: refusing to migrate a database the stack did not deploy`,
      );
    }
    if (sub === "bootstrap" && spec.kind !== "install") {
      throw new Error(
        `the database is not bootstrapped, yet this is an ${spec.kind} from ${spec.from}: refusing to bootstrap over what should be an existing Kong database`,
      );
    }
    const r = await rt.kong(["migrations", sub, ...flags], {
      timeoutSeconds: t.dbTimeoutSeconds + t.lockTimeoutSeconds + 600,
      echo: true,
    });
    // Known, not listed, and wrong: someone ran `up` since (Kong refuses a second one). Ask `list`.
    if (!listed && r.code !== 0 && /^Error: .*Database has pending migrations/m.test(r.stderr)) {
      continue;
    }
    if (r.code !== 0) {
      throw new Error(describeFailure(`kong migrations ${sub} (${spec.to})`, r));
    }
    if (/another node is performing database changes/.test(r.stdout + r.stderr)) {
      await sleep(1000);
      continue;
    }
    // Exit 0 alone proves nothing (NOT_LEADER also exits 0, KONG.md §1), but the totals line is
    // printed only by the process that ran the migrations, and `up` runs every new one or exits
    // 1: the database is migrated up (pending, or up to date where no migration has a teardown).
    // `migrations-finish` reads the state from it instead of asking `list`.
    if (sub === "up" && spec.kind === "upgrade" && /^\d+ migrations? processed$/m.test(r.stdout)) {
      known.state = /^Database has pending migrations/m.test(r.stdout) ? "pending" : "up-to-date";
      return { state: "migrated", ran: true, confirmedBy: "its totals line" };
    }
  }
  throw new Error(
    `kong migrations up did not leave the database migrated after 3 attempts (another node holds the migrations lock?)`,
  );
}

/**
 * `kong migrations finish` when migrations are pending, confirmed with `list` — or, with the
 * state known (`known`), without the `list` before it, and by its own output after it: `No
 * pending migrations to finish` is printed only when none is left (KONG.md §1).
 */
export async function migrationsFinish(
  spec: StepSpec,
  known: RunContext = {},
): Promise<StepDetails> {
  const rt = runtimeFor(spec);
  const t = spec.timeouts;
  const before = known.state
    ? { state: known.state, result: undefined }
    : await migrationState(rt, t.dbTimeoutSeconds);
  if (before.state === "up-to-date") {
    return { state: "up-to-date", ran: false };
  }
  if (before.state === "new") {
    throw new Error(
      `kong migrations up (${spec.to}) did not leave the database migrated: 'kong migrations list' still shows new migrations (another node held the migrations lock?); nothing was finished`,
    );
  }
  if (before.state !== "pending") {
    throw new Error(
      `cannot finish migrations: the database state is "${before.state}" (${before.result ? describeFailure("kong migrations list", before.result) : "known"})`,
    );
  }
  // `prepared`/`rolling`: Y served before this step; a failed `finish` restores the latest backup.
  const fresh =
    strategyOf(spec) === "in-place" ? {} : await backupIfWritten(spec, "before 'finish'");
  const r = await rt.kong(
    [
      "migrations",
      "finish",
      "--db-timeout",
      String(t.dbTimeoutSeconds),
      "--lock-timeout",
      String(t.lockTimeoutSeconds),
    ],
    { timeoutSeconds: t.dbTimeoutSeconds + 600, echo: true },
  );
  if (r.code !== 0) {
    throw new Error(describeFailure(`kong migrations finish (${spec.to})`, r));
  }
  const out = r.stdout + r.stderr;
  const finished =
    known.state !== undefined &&
    /^No pending migrations to finish$/m.test(r.stdout) &&
    !/another node is performing database changes|New migrations available|Database has pending migrations/.test(
      out,
    );
  const after = finished ? "up-to-date" : (await migrationState(rt, t.dbTimeoutSeconds)).state;
  if (after !== "up-to-date") {
    throw new Error(`kong migrations finish exited 0 but the database is "${after}" afterwards`);
  }
  known.state = "up-to-date";
  return {
    state: "up-to-date",
    ran: true,
    ...(finished ? { confirmedBy: "its output" } : {}),
    ...fresh,
  };
}

/** Starts one target node and waits until it is ready. */
export async function nodeStart(spec: StepSpec, id: string): Promise<StepDetails> {
  const rec = targetNodes(spec).find((n) => n.id === id);
  if (!rec) {
    throw new Error(
      `node ${id} is not part of this cluster (${spec.nodes.map((n) => n.id).join(", ")})`,
    );
  }
  const rt = runtimeFor(spec);
  // `rolling`: this node's X counterpart (same id, same ports) stops just before it starts; the
  // other nodes serve meanwhile.
  const replaced =
    strategyOf(spec) === "rolling" && !chainCompleted(spec)
      ? (await runningOthers(spec, rt)).filter((x) => x.id === id)
      : [];
  const stopAt = new Date();
  await Promise.all(replaced.map((x) => rt.stop(x, spec.timeouts.quitSeconds)));
  // On a running cluster (its chain completed) this is a settings change: a node that fails with
  // the new settings is brought back with its old ones.
  const r = chainCompleted(spec)
    ? await restartWithFallback(spec, rt, rec)
    : await rt.start(rec, spec.timeouts.startSeconds);
  return {
    node: id,
    version: rec.version,
    startedAt: r.startedAt.toISOString(),
    readyAt: r.readyAt.toISOString(),
    alreadyRunning: r.skipped,
    ...(replaced.length > 0
      ? { replaced: replaced.map((x) => `${x.id}@${x.version}`), stopAt: stopAt.toISOString() }
      : {}),
  };
}

/** Proves the target cluster serves: readiness, version, a proxied request, and no lost rows. */
export async function verify(
  spec: StepSpec,
  backupTables?: Record<string, number>,
): Promise<StepDetails> {
  const problems: string[] = [];
  for (const n of targetNodes(spec)) {
    // A node whose database connections were just cut (a PostgreSQL restart or failover while
    // this step began) reconnects on its own: it gets a few seconds before the change is rolled
    // back for it (found by the fault matrix, README "Safety guarantees").
    if ((await waitReady(n.statusUrl, VERIFY_READY_GRACE_SECONDS)) === undefined) {
      problems.push(
        `${n.id}: ${n.statusUrl}/status/ready is not 200 (or /status reports the database unreachable) for ${VERIFY_READY_GRACE_SECONDS}s`,
      );
      continue;
    }
    const root = await httpJson(`${n.adminUrl}/`);
    if (root?.version !== n.version) {
      problems.push(
        `${n.id}: the Admin API reports version ${String(root?.version)}, expected ${n.version}`,
      );
    }
    const code = await httpStatus(`${n.proxyUrl}${spec.probe.path}`);
    const ok =
      spec.probe.expectStatus.length > 0
        ? spec.probe.expectStatus.includes(code)
        : code > 0 && code < 500;
    if (!ok) {
      problems.push(
        `${n.id}: GET ${n.proxyUrl}${spec.probe.path} answered ${code || "nothing"}, expected ${spec.probe.expectStatus.join(" or ") || "a non-5xx answer"}`,
      );
    }
  }
  const lost: string[] = [];
  if (backupTables) {
    const now = await tableCounts(spec.database);
    for (const t of ENTITY_TABLES) {
      const before = backupTables[t];
      if (before !== undefined && (now[t] ?? 0) < before) {
        lost.push(`${t}: ${now[t] ?? 0} rows, ${before} before the upgrade`);
      }
    }
    if (lost.length > 0) {
      problems.push(`entities were lost: ${lost.join(", ")}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`verification of Kong ${spec.to} failed:\n  - ${problems.join("\n  - ")}`);
  }
  return { nodes: spec.nodes.map((n) => n.id), probe: spec.probe.path };
}

/** How long verify waits for a target node to be ready (again) before it fails. */
const VERIFY_READY_GRACE_SECONDS = 10;

/** Configuration entities Kong's migrations must never lose. */
export const ENTITY_TABLES = [
  "services",
  "routes",
  "consumers",
  "plugins",
  "upstreams",
  "targets",
  "certificates",
  "snis",
  "ca_certificates",
  "keyauth_credentials",
  "basicauth_credentials",
  "acls",
  "jwt_secrets",
  "hmacauth_credentials",
  "oauth2_credentials",
];

/** Rollback chain: restore the backup the planner chose. */
export async function restore(spec: StepSpec): Promise<StepDetails> {
  if (!spec.restoreBackupId) {
    throw new Error("this rollback has no backup to restore (restoreBackupId is empty)");
  }
  await fetchBackup(spec.backup, spec.restoreBackupId);
  const m = readManifest(spec.backup.dir, spec.restoreBackupId);
  // What the rollback's own backup (the database as Y left it) holds that the restored one does
  // not: said out loud, with where it is kept.
  const own = attemptBackup(spec);
  const kept = own ? readManifest(spec.backup.dir, own.id) : undefined;
  const r = await restoreBackup(spec.database, m, spec);
  const differs: Record<string, { kept: number; restored: number }> = {};
  if (kept) {
    for (const t of ENTITY_TABLES) {
      const k = kept.tables[t] ?? 0;
      const restored = m.tables[t] ?? 0;
      if (k !== restored) {
        differs[t] = { kept: k, restored };
      }
    }
    const list = Object.entries(differs).map(([t, d]) => `${t} ${d.kept} → ${d.restored}`);
    process.stderr.write(
      `[kong-gateway] restore: restored ${m.id}; the database as ${spec.from} left it is kept in ${kept.path}` +
        (list.length > 0 ? ` (it differs in ${list.join(", ")})\n` : " (same entity counts)\n"),
    );
  }
  return {
    restored: { id: m.id, path: m.path, sha256: m.sha256, bytes: m.bytes },
    ...(kept ? { keptIn: { id: kept.id, path: kept.path }, differs } : {}),
    ...r,
  };
}

/**
 * Preflight's answer to migrations left pending by an earlier upgrade whose `finish` never ran
 * (Kong/kong#6211, Kong/charts#92): which ones (from `kong migrations list`), why it matters, and
 * the fix, before anything stops.
 */
function pendingProblem(spec: StepSpec, listOutput: string): string {
  const section = /Pending migrations:\n([\s\S]*?)(?:\n\n|$)/.exec(listOutput)?.[1] ?? "";
  const pending = section
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.includes(":"))
    .join("; ");
  const from = spec.from ?? spec.to;
  return (
    `the database has migrations left pending by an earlier upgrade whose 'kong migrations finish' ` +
    `never ran (${pending || "see 'kong migrations list'"}); Kong refuses 'up' until they are ` +
    `finished (Kong/kong#6211). fix: back up the database, then run 'kong migrations finish' with ` +
    `Kong ${from} and KONG_PLUGINS=${spec.plugins} against ${spec.database.database} on ` +
    `${spec.database.host}:${spec.database.port} (its teardowns delete data older versions read), ` +
    `confirm with 'kong migrations list' (exit 0), then run pulumi up again`
  );
}
