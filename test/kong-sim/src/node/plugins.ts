/**
 * The two plugins the stand-in runs on the proxy path: key-auth and rate-limiting (local policy,
 * fixed windows per node, as Kong's `policy = local`). Other plugins are stored but not executed.
 */
import type { PluginRow, Snapshot } from "./store";

/** A short-circuit answer from a plugin. */
export interface PluginReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
}

/** What the plugins learned about the request. */
export interface AuthResult {
  consumerId?: string;
  credentialId?: string;
  /** Headers to add to the upstream request. */
  readonly upstreamHeaders: Record<string, string>;
  /** Header names / query args to strip (hide_credentials). */
  readonly hideHeaders: string[];
  readonly hideQuery: string[];
}

/** Picks the most specific enabled instance of `name` (Kong's plugin precedence). */
export function pickPlugin(
  snap: Snapshot,
  name: string,
  routeId: string,
  serviceId: string | undefined,
  consumerId?: string,
): PluginRow | undefined {
  let best: PluginRow | undefined;
  let bestScore = -1;
  for (const p of snap.plugins) {
    if (p.name !== name) {
      continue;
    }
    if ((p.route_id && p.route_id !== routeId) || (p.service_id && p.service_id !== serviceId)) {
      continue;
    }
    if (p.consumer_id && p.consumer_id !== consumerId) {
      continue;
    }
    const score = (p.consumer_id ? 4 : 0) + (p.route_id ? 2 : 0) + (p.service_id ? 1 : 0);
    if (score > bestScore) {
      best = p;
      bestScore = score;
    }
  }
  return best;
}

const unauthorized = (message: string): PluginReply => ({
  status: 401,
  body: { message },
  headers: { "WWW-Authenticate": 'Key realm="kong"' },
});

/** Runs key-auth; returns a reply to send instead of proxying, or undefined to go on. */
export function keyAuth(
  snap: Snapshot,
  plugin: PluginRow,
  method: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  query: URLSearchParams,
  auth: AuthResult,
): PluginReply | undefined {
  const c = plugin.config;
  if (method === "OPTIONS" && c.run_on_preflight === false) {
    return undefined;
  }
  const names = Array.isArray(c.key_names) ? (c.key_names as string[]) : ["apikey"];
  let key: string | undefined;
  for (const n of names) {
    const h = c.key_in_header === false ? undefined : headers[n.toLowerCase()];
    const v = Array.isArray(h) ? h[0] : h;
    if (v !== undefined) {
      key = v;
      auth.hideHeaders.push(n);
      break;
    }
    const q = c.key_in_query === false ? null : query.get(n);
    if (q !== null) {
      key = q;
      auth.hideQuery.push(n);
      break;
    }
  }
  const anonymous = typeof c.anonymous === "string" && c.anonymous !== "" ? c.anonymous : undefined;
  const cred = key === undefined ? undefined : snap.keys.get(key);
  if (!cred) {
    if (anonymous) {
      setConsumer(snap, anonymous, undefined, auth);
      auth.upstreamHeaders["X-Anonymous-Consumer"] = "true";
      return undefined;
    }
    return unauthorized(
      key === undefined ? "No API key found in request" : "Invalid authentication credentials",
    );
  }
  if (c.hide_credentials !== true) {
    auth.hideHeaders.length = 0;
    auth.hideQuery.length = 0;
  }
  setConsumer(snap, cred.consumer_id, cred.id, auth);
  return undefined;
}

function setConsumer(
  snap: Snapshot,
  consumerId: string,
  credentialId: string | undefined,
  auth: AuthResult,
): void {
  const consumer = snap.consumers.get(consumerId);
  auth.consumerId = consumerId;
  auth.credentialId = credentialId;
  auth.upstreamHeaders["X-Consumer-ID"] = consumerId;
  if (consumer?.username) {
    auth.upstreamHeaders["X-Consumer-Username"] = consumer.username;
  }
  if (consumer?.custom_id) {
    auth.upstreamHeaders["X-Consumer-Custom-ID"] = consumer.custom_id;
  }
  if (credentialId) {
    auth.upstreamHeaders["X-Credential-Identifier"] = credentialId;
  }
}

const PERIODS: readonly (readonly [string, number])[] = [
  ["second", 1],
  ["minute", 60],
  ["hour", 3600],
  ["day", 86400],
  ["month", 2592000],
  ["year", 31536000],
];

/** Per-node counters of the local policy. */
export class RateCounters {
  private readonly counts = new Map<string, number>();

  /**
   * Counts the request; returns the reply for an exceeded limit, else the headers to add to the
   * response (unless hide_client_headers).
   */
  hit(
    plugin: PluginRow,
    identifier: string,
    now = Date.now(),
  ): { reply?: PluginReply; headers: Record<string, string> } {
    const c = plugin.config;
    const headers: Record<string, string> = {};
    let exceeded = false;
    let tightest: { limit: number; remaining: number; reset: number } | undefined;
    const seconds = Math.floor(now / 1000);
    for (const [period, len] of PERIODS) {
      const limit = c[period];
      if (typeof limit !== "number") {
        continue;
      }
      const start = seconds - (seconds % len);
      const key = `${plugin.id}|${identifier}|${period}|${start}`;
      const used = (this.counts.get(key) ?? 0) + 1;
      this.counts.set(key, used);
      const remaining = Math.max(limit - used, 0);
      const cap = period[0]?.toUpperCase() + period.slice(1);
      headers[`X-RateLimit-Limit-${cap}`] = String(limit);
      headers[`X-RateLimit-Remaining-${cap}`] = String(remaining);
      if (used > limit) {
        exceeded = true;
      }
      const reset = start + len - seconds;
      if (!tightest || remaining < tightest.remaining) {
        tightest = { limit, remaining, reset };
      }
    }
    if (tightest) {
      headers["RateLimit-Limit"] = String(tightest.limit);
      headers["RateLimit-Remaining"] = String(tightest.remaining);
      headers["RateLimit-Reset"] = String(tightest.reset);
    }
    const shown = c.hide_client_headers === true ? {} : headers;
    if (exceeded) {
      const status = typeof c.error_code === "number" ? c.error_code : 429;
      const message =
        typeof c.error_message === "string" ? c.error_message : "API rate limit exceeded";
      return {
        reply: {
          status,
          body: { message },
          headers: { ...shown, "Retry-After": String(tightest?.reset ?? 1) },
        },
        headers: shown,
      };
    }
    return { headers: shown };
  }
}
