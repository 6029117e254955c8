/**
 * An external prober: a GET to the proxy every `intervalMs`, as a monitoring system would, to
 * measure the outage users see independently of what the upgrade reports about itself.
 */

/** One probe. */
export interface Probe {
  readonly at: number;
  readonly ok: boolean;
}

/** A running prober; `stop()` returns every probe. */
export interface Prober {
  stop(): Promise<Probe[]>;
}

/**
 * Starts probing `url`; a probe is "ok" when Kong's proxy answers with any non-5xx status. With
 * several URLs it probes like a load balancer in front of the nodes: ok when any one answers.
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
      const at = Date.now();
      let ok = false;
      for (const u of urls) {
        try {
          const res = await fetch(u, { signal: AbortSignal.timeout(1000) });
          await res.arrayBuffer();
          ok = res.status < 500;
        } catch {
          ok = false;
        }
        if (ok) {
          break;
        }
      }
      probes.push({ at, ok });
      const wait = at + intervalMs - Date.now();
      if (wait > 0) {
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return probes;
    },
  };
}

/** The longest run of failed probes, in seconds: from the last success before it to the first after. */
export function longestOutage(probes: readonly Probe[]): number {
  let worst = 0;
  let lastOk: number | undefined;
  let inOutage = false;
  for (const p of probes) {
    if (p.ok) {
      if (inOutage && lastOk !== undefined) {
        worst = Math.max(worst, (p.at - lastOk) / 1000);
      }
      inOutage = false;
      lastOk = p.at;
    } else {
      inOutage = true;
    }
  }
  return worst;
}
