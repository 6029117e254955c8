/**
 * Kong's own texts (../shared/KONG.md §1–§3) and how a `kong` run is compared with them. One copy:
 * the conformance rows and the stand-in's contract tests (test/kong-sim) both take them from here.
 */

/** What one `kong` command printed and returned. */
export interface KongRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Kong's NEEDS_BOOTSTRAP_MSG, verbatim (the typo "migrated to" is Kong's). */
export const NEEDS_BOOTSTRAP =
  "Database needs bootstrapping or is older than Kong 1.0.\n\nTo start a new installation from scratch, run 'kong migrations bootstrap'.\n\nTo migrate from a version older than 1.0, migrated to Kong 1.5.0 first. \nIf you still have 'apis' entities, you can convert them to Routes and Services\nusing the 'kong migrations migrate-apis' command in Kong 1.5.0.\n\n";

/** The line Kong prints under every error. */
export const RUN_WITH_V = "\n  Run with --v (verbose) or --vv (debug) for more details\n";

/** Kong's NOT_LEADER_MSG: another node holds the migrations lock. */
export const NOT_LEADER = "aborted: another node is performing database changes";

/** `Error: <message>` and the verbose hint, as Kong's CLI prints a failure on stderr. */
export const kongError = (message: string): string => `Error: ${message}\n${RUN_WITH_V}`;

/** How `kong start` refuses a database state: an `error()` from cmd/utils/migrations.lua. */
export function startRefusal(message: string): RegExp {
  return new RegExp(
    `^Error: \\S*kong/cmd/utils/migrations\\.lua:\\d+: ${escape(message)}\\n${escape(RUN_WITH_V)}$`,
  );
}

/** The `list` table: one `<subsystem>: m1, m2` line per subsystem, names right-aligned. */
export const LIST_TABLE = "(?: *[\\w-]+: \\S.*\\n)+";

/** The per-migration lines and totals of a run of `up`, `finish` or `bootstrap`. */
export const MIGRATING =
  "(?:migrating [\\w-]+ on database '[^']+'\\.\\.\\.\\n|[\\w-]+ migrated up to: \\S+ \\((?:executed|pending)\\)\\n)+\\d+ migrations? processed\\n(?:\\d+ executed\\n)?(?:\\d+ pending\\n)?";

/** Escapes `text` for use inside a RegExp. */
export function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One stream's expected text: exact, or a pattern with the words a reader sees instead. */
export type TextRule = string | { readonly like: RegExp; readonly says: string };

/** What a `kong` run must show: the exit code and, optionally, each stream. */
export interface Expect {
  readonly code: number;
  readonly stdout?: TextRule;
  readonly stderr?: TextRule;
}

/** Whether `text` satisfies `rule`. */
export function textOk(rule: TextRule, text: string): boolean {
  return typeof rule === "string" ? text === rule : rule.like.test(text);
}

/** A one-line rendering of a text, newlines shown as ⏎, cut to `max` characters. */
export function oneLine(text: string, max = 60): string {
  const flat = JSON.stringify(text).slice(1, -1).replace(/\\n/g, "⏎").replace(/\\"/g, '"');
  return flat.length > max ? `"${flat.slice(0, max - 1)}…"` : `"${flat}"`;
}

/** The expectation in words: `exit 3 · stdout "…" · stderr empty`. */
export function describeExpect(e: Expect): string {
  const parts = [`exit ${e.code}`];
  for (const stream of ["stdout", "stderr"] as const) {
    const rule = e[stream];
    if (rule === undefined) {
      continue;
    }
    const says = typeof rule === "string" ? (rule === "" ? "empty" : oneLine(rule, 44)) : rule.says;
    parts.push(`${stream} ${says}`);
  }
  return parts.join(" · ");
}

/** A run in the same words, showing only the streams the expectation looks at. */
export function describeRun(r: KongRun, e: Expect): string {
  const parts = [`exit ${r.code}`];
  for (const stream of ["stdout", "stderr"] as const) {
    const rule = e[stream];
    if (rule === undefined) {
      continue;
    }
    const text = r[stream];
    const good = textOk(rule, text);
    parts.push(
      `${stream} ${text === "" ? "empty" : good && typeof rule !== "string" ? rule.says : oneLine(text, 44)}`,
    );
  }
  return parts.join(" · ");
}

/** Whether a run meets an expectation, and what differs (for the details under the table). */
export function compare(r: KongRun, e: Expect): { ok: boolean; differences: string[] } {
  const differences: string[] = [];
  if (r.code !== e.code) {
    differences.push(`exit code: expected ${e.code}, seen ${r.code}`);
  }
  for (const stream of ["stdout", "stderr"] as const) {
    const rule = e[stream];
    if (rule !== undefined && !textOk(rule, r[stream])) {
      const want = typeof rule === "string" ? JSON.stringify(rule) : `/${rule.like.source}/`;
      differences.push(`${stream}: expected ${want}\n    seen ${JSON.stringify(r[stream])}`);
    }
  }
  return { ok: differences.length === 0, differences };
}

/** What `up` prints when it ran migrations (with the pending note when teardowns are left). */
export const UP_RAN: Expect = {
  code: 0,
  stdout: {
    like: new RegExp(
      `^${MIGRATING}(\\nDatabase has pending migrations; run 'kong migrations finish' when ready\\n)?$`,
    ),
    says: '"migrating <subsystem> on database…", totals',
  },
  stderr: "",
};

/** A run's exact outcome: every stream given. */
export type ExactRun = KongRun & Expect;

/**
 * The outcomes of KONG.md §1 and §3 that are the same on every database: exit code, stdout and
 * stderr, exactly. The conformance rows and the stand-in's contract tests assert these same
 * objects, so a text of Kong's is written down once.
 */
export const EXACT = {
  listNotBootstrapped: { code: 3, stdout: `${NEEDS_BOOTSTRAP}\n`, stderr: "" },
  cannotRun: {
    code: 1,
    stdout: "",
    stderr: kongError(`Cannot run migrations: ${NEEDS_BOOTSTRAP}`),
  },
  upUpToDate: { code: 0, stdout: "Database is already up-to-date\n", stderr: "" },
  finishUpToDate: { code: 0, stdout: "No pending migrations to finish\n", stderr: "" },
  finishNew: {
    code: 0,
    stdout: "\nNew migrations available; run 'kong migrations up' to proceed\n",
    stderr: "",
  },
  alreadyBootstrapped: { code: 0, stdout: "Database already bootstrapped\n", stderr: "" },
  upPending: {
    code: 1,
    stdout: "",
    stderr: kongError("Database has pending migrations; run 'kong migrations finish'"),
  },
  notLeader: { code: 0, stdout: `${NOT_LEADER}\n`, stderr: "" },
  lockTimeout: { code: 1, stdout: "", stderr: kongError("[PostgreSQL error] timeout") },
  started: { code: 0, stdout: "Kong started\n", stderr: "" },
  quit: { code: 0, stdout: "Kong stopped (gracefully)\n", stderr: "" },
  stopped: { code: 0, stdout: "Kong stopped\n", stderr: "" },
} as const satisfies Record<string, ExactRun>;
