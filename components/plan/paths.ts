/**
 * Kong's upgrade guarantees (KONG.md §5) as a graph over minor releases, and the checks built on
 * it. Running a hop Kong does not guarantee "may run database modifications in the wrong sequence
 * and leave the schema broken", so every upgrade the project performs is exactly one edge here.
 *
 * Interpretation of KONG.md §5: the guaranteed hops are patch → patch (same major.minor),
 * adjacent minors of the same major (`3.3 → 3.4`, `2.7 → 2.8`) and the adjacent LTS hops
 * `2.8 → 3.4` and `3.4 → 3.10`. `2.8 → 3.0` is NOT a hop: 3.0 is not in 2.x, and KONG.md lists no
 * major-boundary hop other than the LTS one. So the only way from 2.x into 3.x is 2.8 → 3.4, and
 * 3.0–3.3 cannot be reached from 2.x at all. (Kong's 3.0-era documentation did describe
 * 2.8 → 3.0; KONG.md, which reflects Kong's current guarantee table, does not, and this module
 * follows KONG.md.)
 */
import { PlanError } from "./errors";
import { compareVersions, formatVersion, KongVersion, minorOf } from "./version";

/**
 * Minor releases the planner has facts for (KONG.md §4–5), oldest first. Versions outside this
 * list are refused: the planner cannot know their migrations or guarantees.
 */
export const KNOWN_MINORS: readonly string[] = [
  ...[1, 2, 3, 4, 5, 6, 7, 8].map((m) => `2.${m}`),
  ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((m) => `3.${m}`),
];

/** The newest minor release the planner knows; named in refusals of newer versions. */
export const LATEST_MINOR = "3.10";

/** Long-term-support hops Kong guarantees in one step, `[from, to]` (KONG.md §5). */
export const LTS_HOPS: readonly (readonly [string, string])[] = [
  ["2.8", "3.4"],
  ["3.4", "3.10"],
];

/** How a permitted upgrade hop qualifies as guaranteed. */
export type HopKind = "patch" | "minor" | "lts";

/**
 * Result of {@link checkHop}: either nothing to do, a guaranteed hop, a downgrade (which only a
 * restore can perform), or a skip with the route to take instead.
 */
export type HopCheck =
  | { readonly allowed: true; readonly kind: "same" }
  | { readonly allowed: true; readonly kind: HopKind }
  | { readonly allowed: false; readonly kind: "downgrade"; readonly message: string }
  | {
      readonly allowed: false;
      readonly kind: "skip";
      readonly route: string[];
      readonly message: string;
    };

/**
 * Throws a `version` refusal when `v` is outside {@link KNOWN_MINORS}; `role` names the setting
 * (for example `target.version`) so the message points at what to change.
 */
export function assertKnownVersion(v: KongVersion, role: string): void {
  if (KNOWN_MINORS.includes(minorOf(v))) {
    return;
  }
  let why = `is not a Kong release (2.x ended with 2.8)`;
  if (v.major < 2 || (v.major === 2 && v.minor < 1)) {
    why = "is older than 2.1, the oldest release the planner has migration facts for";
  } else if (v.major >= 3) {
    why = `is newer than ${LATEST_MINOR}, the latest release the planner has migration facts for`;
  }
  throw new PlanError(
    "version",
    `${role} ${formatVersion(v)} ${why} (known: 2.1 … 2.8, 3.0 … ${LATEST_MINOR}); ` +
      `choose a version in that range`,
  );
}

function parseMinor(minor: string): [number, number] {
  const [major, min] = minor.split(".").map(Number);
  return [major as number, min as number];
}

/**
 * Whether going from minor `from` to minor `to` (`"3.3"`, `"3.4"`) is one guaranteed hop:
 * the same minor, the next minor of the same major, or an LTS hop. It applies the rules only;
 * whether the minors exist is {@link assertKnownVersion}'s business.
 */
export function classifyMinorHop(from: string, to: string): HopKind | undefined {
  if (from === to) {
    return "patch";
  }
  if (LTS_HOPS.some(([a, b]) => a === from && b === to)) {
    return "lts";
  }
  const [fMajor, fMinor] = parseMinor(from);
  const [tMajor, tMinor] = parseMinor(to);
  return fMajor === tMajor && tMinor === fMinor + 1 ? "minor" : undefined;
}

/** Minors reachable from `minor` in one guaranteed hop, ascending (the order makes routes stable). */
function nextMinors(minor: string): string[] {
  return KNOWN_MINORS.filter((m) => m !== minor && classifyMinorHop(minor, m) !== undefined);
}

/**
 * The shortest sequence of guaranteed hops from `from` to `to`, as the minor versions to pass
 * through including the target's (`3.2.1 → 3.6.0` gives `["3.3", "3.4", "3.5", "3.6"]`; a patch
 * upgrade gives its own minor). Empty when there is nothing to upgrade (same or lower version) or
 * when no guaranteed route exists (2.x → 3.0–3.3). Ties are broken towards lower minors, so the
 * answer is deterministic. Both versions must be known ({@link assertKnownVersion}).
 */
export function shortestRoute(from: KongVersion, to: KongVersion): string[] {
  assertKnownVersion(from, "from");
  assertKnownVersion(to, "to");
  if (compareVersions(from, to) >= 0) {
    return [];
  }
  const start = minorOf(from);
  const goal = minorOf(to);
  if (start === goal) {
    return [goal];
  }
  const previous = new Map<string, string>([[start, start]]);
  const queue = [start];
  while (queue.length > 0) {
    const current = queue.shift() as string;
    for (const next of nextMinors(current)) {
      if (!previous.has(next)) {
        previous.set(next, current);
        queue.push(next);
      }
    }
  }
  if (!previous.has(goal)) {
    return [];
  }
  const route: string[] = [];
  for (let m = goal; m !== start; m = previous.get(m) as string) {
    route.unshift(m);
  }
  return route;
}

const GUARANTEES =
  "Kong guarantees only patch upgrades, adjacent minors of one major and the LTS hops 2.8 → 3.4 " +
  "and 3.4 → 3.10; a skipped path may run database modifications in the wrong sequence and " +
  "leave the schema broken";

/**
 * Decides whether `from → to` can be done in one `pulumi up`. Refusals carry a message naming
 * both versions, why, and what to do: the shortest guaranteed route, or for a downgrade the fact
 * that only restoring a backup goes back.
 */
export function checkHop(from: KongVersion, to: KongVersion): HopCheck {
  assertKnownVersion(from, "deployed version");
  assertKnownVersion(to, "target version");
  const order = compareVersions(from, to);
  if (order === 0) {
    return { allowed: true, kind: "same" };
  }
  const hop = `${formatVersion(from)} → ${formatVersion(to)}`;
  if (order > 0) {
    return {
      allowed: false,
      kind: "downgrade",
      message:
        `${hop} is a downgrade; Kong migrations cannot be reversed, so the only way back is ` +
        `restoring the backup taken by the upgrade that left ${formatVersion(to)}`,
    };
  }
  const kind = classifyMinorHop(minorOf(from), minorOf(to));
  if (kind !== undefined) {
    return { allowed: true, kind };
  }
  const route = shortestRoute(from, to);
  const message =
    route.length > 0
      ? `${hop} is not a guaranteed upgrade path; upgrade through ${route.join(" → ")}, ` +
        `one pulumi up each (${GUARANTEES})`
      : `${hop} is not a guaranteed upgrade path and no route of guaranteed hops reaches ` +
        `${minorOf(to)}: the only hop from 2.x into 3.x is the LTS hop 2.8 → 3.4; ` +
        `target 3.4 or later instead (${GUARANTEES})`;
  return { allowed: false, kind: "skip", route, message };
}
