/**
 * An external prober: a GET to the proxy every `intervalMs`, as a monitoring system would, to
 * measure the outage users see independently of what the upgrade reports about itself.
 */

/** One probe. */
export interface Probe {
  readonly at: number;
  readonly ok: boolean;
}

/** A running prober; `stop()` takes one last probe and returns every probe. */
export interface Prober {
  /** Probes so far (a test waits on this, e.g. for the first failure, instead of sleeping). */
  readonly probes: readonly Probe[];
  stop(): Promise<Probe[]>;
}

/** One GET per URL until one answers with a non-5xx status. */
async function probeOnce(urls: readonly string[]): Promise<Probe> {
  const at = Date.now();
  for (const u of urls) {
    try {
      const res = await fetch(u, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status < 500) {
        return { at, ok: true };
      }
    } catch {
      // this node does not answer: try the next
    }
  }
  return { at, ok: false };
}

/**
 * Starts probing `url`; a probe is "ok" when Kong's proxy answers with any non-5xx status. With
 * several URLs it probes like a load balancer in front of the nodes: ok when any one answers.
 * `stop()` ends with one more probe, so an outage still going on when the test stops shows.
 */
export function startProber(
  url: string | readonly string[],
  intervalMs = 50,
  maxSeconds = 600,
): Prober {
  const urls = typeof url === "string" ? [url] : url;
  const probes: Probe[] = [];
  let running = true;
  const deadline = Date.now() + maxSeconds * 1000;
  const loop = (async () => {
    while (running && Date.now() < deadline) {
      const p = await probeOnce(urls);
      probes.push(p);
      const wait = p.at + intervalMs - Date.now();
      if (wait > 0) {
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  })();
  return {
    probes,
    async stop() {
      running = false;
      await loop;
      probes.push(await probeOnce(urls));
      return probes;
    },
  };
}

/**
 * The longest run of failed probes, in seconds: from the last success before it (or the first
 * probe, when nothing succeeded before) to the first success after it — or, for an outage still
 * going on at the last probe, to that probe: an outage that never ended is never 0. Throws on no
 * probes at all (nothing was measured, so nothing can be claimed).
 */
export function longestOutage(probes: readonly Probe[]): number {
  if (probes.length === 0) {
    throw new Error("the prober took no probes");
  }
  let worst = 0;
  let since: number | undefined;
  let lastOk: number | undefined;
  for (const p of probes) {
    if (p.ok) {
      if (since !== undefined) {
        worst = Math.max(worst, (p.at - since) / 1000);
      }
      since = undefined;
      lastOk = p.at;
    } else if (since === undefined) {
      since = lastOk ?? p.at;
    }
  }
  const last = probes[probes.length - 1]!;
  if (since !== undefined) {
    // Still failing at the end: at least from its start to the last probe (never 0).
    worst = Math.max(worst, Math.max((last.at - since) / 1000, 0.001));
  }
  return worst;
}
