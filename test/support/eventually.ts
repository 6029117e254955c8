/**
 * Waiting on state that changes by itself (a node refreshing its router, a request reaching an
 * upstream), instead of sleeping a fixed time and hoping the machine was fast enough: a 2-core CI
 * machine under a full test run is not.
 */
import { createServer, type Server } from "node:http";

/**
 * Calls `probe` until `ok` accepts its value or `seconds` pass, and returns the last value, so the
 * test asserts on what it saw (with its own message) rather than on a timeout.
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  seconds = 15,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() >= until) {
      return value;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** An upstream that answers "late but complete" after `delayMs`; `arrived` settles per request. */
export interface SlowUpstream {
  readonly server: Server;
  readonly port: number;
  /** Resolves when the next request has reached the upstream (so it is truly in flight). */
  arrived(): Promise<void>;
  close(): void;
}

export async function slowUpstream(delayMs = 1500): Promise<SlowUpstream> {
  let waiting: (() => void)[] = [];
  const server = createServer((_req, res) => {
    waiting.forEach((w) => w());
    waiting = [];
    setTimeout(() => res.end("late but complete"), delayMs);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    server,
    port: (server.address() as { port: number }).port,
    arrived: () => new Promise<void>((r) => waiting.push(r)),
    close: () => server.close(),
  };
}
