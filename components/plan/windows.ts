/**
 * Maintenance windows: when a change that takes the gateway down may run. Specs are
 * `<days> HH:MM-HH:MM <zone>` (`Sat 02:00-04:00 UTC`, `daily 01:00-03:00 UTC`,
 * `Mon-Fri 22:00-23:30 UTC+01:00`). Zones are UTC or fixed offsets only: named zones such as
 * `Europe/Berlin` shift with daylight saving time, and a window that silently moves by an hour
 * twice a year is worse than one that has to be written with its offset.
 * Time comes in as an argument (`now`): nothing here reads the clock, so plans are reproducible.
 */
import { PlanError } from "./errors";

/** A parsed window spec. */
export interface MaintenanceWindow {
  /** The spec as written, for messages. */
  readonly spec: string;
  /** Days it opens on, 0 = Sunday … 6 = Saturday, in its own zone. */
  readonly days: readonly number[];
  /** Opening time in minutes after midnight, in its own zone. */
  readonly startMinute: number;
  /** Length in minutes (1 … 1440); a window may run past midnight into the next day. */
  readonly durationMinutes: number;
  /** The zone's offset from UTC in minutes (`UTC+01:00` → 60). */
  readonly offsetMinutes: number;
}

/** Whether a plan may start at `now` and whether its downtime ends before the window closes. */
export interface WindowCheck {
  /** The specs checked. */
  readonly windows: string[];
  /** The injected time the check was made for (ISO 8601). */
  readonly now: string;
  /** True when `now` is inside a window. */
  readonly mayStartNow: boolean;
  /** True when `now` is inside a window and `now + spanSeconds` is not after it closes. */
  readonly fits: boolean;
  /** Seconds from the start of the plan to the end of its downtime (high estimates). */
  readonly spanSeconds: number;
  /** `now + spanSeconds`: when the gateway serves again at the latest (ISO 8601). */
  readonly downtimeEndsBy: string;
  /** When the current window closes (adjacent or overlapping windows merged), if inside one. */
  readonly closesAt?: string;
  /** When the next window opens, if outside every window. */
  readonly nextOpensAt?: string;
}

const EXAMPLES =
  `for example "Sat 02:00-04:00 UTC", "daily 01:00-03:00 UTC" or ` +
  `"Mon-Fri 22:00-23:30 UTC+01:00"`;
const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const FULL_DAY_NAMES = [
  "sunday",
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday",
];
const MINUTE_MS = 60_000;
const DAY_MS = 1440 * MINUTE_MS;

function refuse(spec: string, why: string): PlanError {
  return new PlanError(
    "window",
    `maintenance window ${JSON.stringify(spec)} ${why}; write windows as ` +
      `"<days> HH:MM-HH:MM <zone>", ${EXAMPLES}`,
  );
}

function parseDay(spec: string, text: string): number {
  const short = DAY_NAMES.indexOf(text);
  const index = short >= 0 ? short : FULL_DAY_NAMES.indexOf(text);
  if (index < 0) {
    throw refuse(spec, `has "${text}" where a day (Mon … Sun) belongs`);
  }
  return index;
}

function parseDays(spec: string, text: string): number[] {
  if (text === "daily") {
    return [0, 1, 2, 3, 4, 5, 6];
  }
  const days = new Set<number>();
  for (const part of text.split(",")) {
    const [first, last, extra] = part.split("-");
    if (extra !== undefined) {
      throw refuse(spec, `has the day range "${part}" with more than two ends`);
    }
    const from = parseDay(spec, first as string);
    const to = last === undefined ? from : parseDay(spec, last);
    // A range may wrap around the week: Fri-Mon is Fri, Sat, Sun, Mon.
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === to) {
        break;
      }
    }
  }
  return [...days].sort((a, b) => a - b);
}

function parseTimes(spec: string, text: string): { start: number; end: number } {
  const m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(text);
  if (m === null) {
    throw refuse(spec, `has "${text}" where the times HH:MM-HH:MM belong`);
  }
  const [sh, sm, eh, em] = m.slice(1).map(Number) as [number, number, number, number];
  const start = sh * 60 + sm;
  const end = eh * 60 + em;
  if (sh > 23 || sm > 59 || em > 59 || end > 1440) {
    throw refuse(
      spec,
      `has "${text}", which is not a time of day (00:00 … 23:59, or 24:00 as an end)`,
    );
  }
  if (start === end) {
    throw refuse(spec, `opens and closes at the same time; for a whole day write 00:00-24:00`);
  }
  return { start, end };
}

function parseZone(spec: string, text: string): number {
  if (/^(UTC|GMT|Z)$/i.test(text)) {
    return 0;
  }
  const m = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(text);
  if (m === null) {
    const why = text.includes("/")
      ? `uses the named zone "${text}", whose offset changes with daylight saving time; ` +
        `give UTC or a fixed offset such as UTC+01:00 instead`
      : `has "${text}" where the zone (UTC or an offset such as UTC+01:00) belongs`;
    throw refuse(spec, why);
  }
  const hours = Number(m[2]);
  const minutes = Number(m[3] ?? "0");
  if (hours > 14 || minutes > 59) {
    throw refuse(spec, `has the offset "${text}", beyond ±14:00`);
  }
  return (m[1] === "-" ? -1 : 1) * (hours * 60 + minutes);
}

/** Parses one window spec; throws a `window` refusal quoting it, with examples, when malformed. */
export function parseWindow(spec: string): MaintenanceWindow {
  const parts = spec.trim().split(/\s+/);
  if (parts.length !== 3) {
    throw refuse(spec, "does not have the three parts days, times and zone");
  }
  const [days, times, zone] = parts as [string, string, string];
  const { start, end } = parseTimes(spec, times);
  return {
    spec,
    days: parseDays(spec, days.toLowerCase()),
    startMinute: start,
    durationMinutes: end > start ? end - start : end + 1440 - start,
    offsetMinutes: parseZone(spec, zone),
  };
}

interface Occurrence {
  readonly open: number;
  readonly close: number;
}

/** The openings of `w` from two days before `nowMs` to eight days after, in UTC milliseconds. */
function occurrences(w: MaintenanceWindow, nowMs: number): Occurrence[] {
  const offsetMs = w.offsetMinutes * MINUTE_MS;
  const localMidnight = Math.floor((nowMs + offsetMs) / DAY_MS) * DAY_MS;
  const found: Occurrence[] = [];
  for (let day = -2; day <= 8; day++) {
    const midnight = localMidnight + day * DAY_MS;
    if (w.days.includes(new Date(midnight).getUTCDay())) {
      const open = midnight + w.startMinute * MINUTE_MS - offsetMs;
      found.push({ open, close: open + w.durationMinutes * MINUTE_MS });
    }
  }
  return found;
}

/**
 * Checks `now` against the windows. `spanSeconds` is how long after the start the downtime may
 * last at worst; the plan fits when that end is inside the window (windows that touch or overlap
 * count as one).
 */
export function evaluateWindows(
  windows: readonly MaintenanceWindow[],
  now: Date,
  spanSeconds: number,
): WindowCheck {
  const nowMs = now.getTime();
  const all = windows.flatMap((w) => occurrences(w, nowMs));
  const endMs = nowMs + spanSeconds * 1000;
  const base = {
    windows: windows.map((w) => w.spec),
    now: now.toISOString(),
    spanSeconds,
    downtimeEndsBy: new Date(endMs).toISOString(),
  };
  const containing = all.filter((o) => o.open <= nowMs && nowMs < o.close);
  if (containing.length === 0) {
    const next = Math.min(...all.filter((o) => o.open > nowMs).map((o) => o.open));
    return { ...base, mayStartNow: false, fits: false, nextOpensAt: new Date(next).toISOString() };
  }
  let close = Math.max(...containing.map((o) => o.close));
  for (let grew = true; grew;) {
    const extended = all.filter((o) => o.open <= close && o.close > close);
    grew = extended.length > 0;
    close = Math.max(close, ...extended.map((o) => o.close));
  }
  return {
    ...base,
    mayStartNow: true,
    fits: endMs <= close,
    closesAt: new Date(close).toISOString(),
  };
}

/**
 * Throws a `window` refusal unless the check allows starting now and finishing in time. The Pulumi
 * component calls this before `up` (but not for `preview`, which should still show the plan).
 */
export function assertWithinWindow(check: WindowCheck): void {
  if (!check.mayStartNow) {
    throw new PlanError(
      "window",
      `maintenanceWindows: ${check.now} is outside every window (${check.windows.join("; ")}); ` +
        `the gateway may only go down inside one; run the change after ${check.nextOpensAt}, ` +
        `or add a window that covers now`,
    );
  }
  if (!check.fits) {
    throw new PlanError(
      "window",
      `maintenanceWindows: the downtime may last until ${check.downtimeEndsBy} (high estimate), ` +
        `after the window closes at ${check.closesAt}; start earlier in the window, widen it, ` +
        `or reduce the estimate (a smaller database, or measured runs via history)`,
    );
  }
}
