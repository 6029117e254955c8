/** The HTTP probes every runtime and step shares: readiness, status, JSON. */
import { connect } from "node:net";
import { assertNotCancelled } from "./exec";

/** Polls `GET <statusUrl>/status/ready` until 200; returns the moment it answered, or undefined. */
export async function waitReady(
  statusUrl: string,
  timeoutSeconds: number,
): Promise<Date | undefined> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    if (await isReady(statusUrl)) {
      return new Date();
    }
    await sleep(20);
  }
  return undefined;
}

/**
 * Whether a node is ready: `GET /status/ready` 200 (Kong 3.3+), or, on versions without that
 * endpoint (404), `GET /status` reporting the database reachable.
 */
export async function isReady(statusUrl: string): Promise<boolean> {
  const ready = await httpStatus(`${statusUrl}/status/ready`);
  if (ready === 200) {
    return true;
  }
  if (ready !== 404) {
    return false;
  }
  const status = await httpJson(`${statusUrl}/status`);
  return (status?.database as { reachable?: boolean } | undefined)?.reachable === true;
}

/**
 * Polls `url` every 20 ms until it stops answering and returns that moment: the real start of
 * the outage a client sees (a node keeps serving while `kong quit` itself starts up).
 */
export async function watchUntilDown(
  url: string,
  timeoutSeconds: number,
): Promise<Date | undefined> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    if ((await httpStatus(url, 500)) === 0) {
      return new Date();
    }
    await sleep(20);
  }
  return undefined;
}

/** The HTTP status of a GET, or 0 when nothing answers. */
export async function httpStatus(url: string, timeoutMs = 2000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** GETs JSON, or undefined when nothing (valid) answers. */
export async function httpJson(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  // A poll loop of work that ran out of time ends at its next pause.
  assertNotCancelled();
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether a TCP connect to `url`'s host and port is refused: nothing listens there any more. */
export function refusesConnections(url: string, timeoutMs = 500): Promise<boolean> {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  return new Promise((resolve) => {
    const s = connect({ host: u.hostname.replace(/^\[|\]$/g, ""), port });
    const done = (refused: boolean) => {
      s.destroy();
      resolve(refused);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(false));
    s.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED"));
  });
}

/**
 * Polls every 10 ms until each of `urls` refuses connections (their listeners are closed, so a
 * new node can bind the same ports) and returns that moment, or undefined at the deadline or once
 * `unless` settles first.
 */
export async function waitListenersClosed(
  urls: readonly string[],
  timeoutSeconds: number,
  unless: Promise<unknown>,
): Promise<Date | undefined> {
  let settled = false;
  unless.then(
    () => (settled = true),
    () => (settled = true),
  );
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (!settled && Date.now() < deadline) {
    if ((await Promise.all(urls.map((u) => refusesConnections(u)))).every(Boolean)) {
      return new Date();
    }
    await sleep(10);
  }
  return undefined;
}
