/**
 * The pure arithmetic of `npm run bench`: the outage an external prober saw, medians and ratios to
 * the scripted runbook. No clock, no I/O: the same samples give the same numbers.
 */

/** One probe round: at `at` (ms since the epoch) some node answered (`ok`) or none did. */
export interface Sample {
  readonly at: number;
  readonly ok: boolean;
}

/** What the prober saw during one run. */
export interface Outage {
  /** Longest stretch with no node answering: last success before it → first success after (s). */
  readonly longestSeconds: number;
  /** Every such stretch added up (s); more than `longestSeconds` when the gateway flapped. */
  readonly totalSeconds: number;
  /** When the longest stretch began (ms since the epoch, the last good probe), if any. */
  readonly startedAt?: number;
  /** Probe rounds taken. */
  readonly samples: number;
  /** Failed rounds. */
  readonly failed: number;
}

/**
 * The outage in `samples` (sorted by time or not). A stretch of failures is measured from the
 * last success before it to the first success after it, so at a 20 ms interval the error is under
 * 20 ms at each end; failures before the first success or after the last are not an outage the
 * prober can bound, and the bench starts and stops the prober with the gateway up.
 */
export function outageOf(samples: readonly Sample[]): Outage {
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  let longest = 0;
  let total = 0;
  let startedAt: number | undefined;
  let lastOk: number | undefined;
  let down = false;
  for (const s of sorted) {
    if (!s.ok) {
      down = true;
      continue;
    }
    if (down && lastOk !== undefined) {
      const seconds = (s.at - lastOk) / 1000;
      total += seconds;
      if (seconds > longest) {
        longest = seconds;
        startedAt = lastOk;
      }
    }
    down = false;
    lastOk = s.at;
  }
  return {
    longestSeconds: round3(longest),
    totalSeconds: round3(total),
    ...(startedAt !== undefined ? { startedAt } : {}),
    samples: sorted.length,
    failed: sorted.filter((s) => !s.ok).length,
  };
}

/** Rounds to milliseconds (what a 20 ms prober can tell apart, with room). */
export const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** The median of `values`; undefined for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) {
    return undefined;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[mid]
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * `value / baseline`, rounded to hundredths; undefined when either is missing or the baseline is
 * 0 (a ratio to nothing says nothing). A 0 s outage against a positive baseline is 0.
 */
export function ratio(value: number | undefined, baseline: number | undefined): number | undefined {
  if (value === undefined || baseline === undefined || !(baseline > 0)) {
    return undefined;
  }
  return Math.round((value / baseline) * 100) / 100;
}
