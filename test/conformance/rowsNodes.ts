/**
 * Node rows (KONG.md §3): `kong start` / `health` / `quit` / `stop`, the `/status` and
 * `/status/ready` endpoints the runner's readiness check reads, the Admin API's version, an
 * unmatched proxy request, the `status_listen` default, and nodes of both versions while
 * migrations are pending. Every node listens on free loopback ports.
 */
import { linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { escape, EXACT, LIST_TABLE, RUN_WITH_V } from "./contract";
import {
  kongRow,
  type Kit,
  type KitKong,
  type KitNode,
  type Outcome,
  type Row,
  type Scenario,
} from "./kit";

/** One GET: status (0 when nothing answers) and the JSON body, if any. */
export async function get(
  url: string,
): Promise<{ status: number; json?: Record<string, unknown> }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    try {
      return { status: res.status, json: JSON.parse(text) as Record<string, unknown> };
    } catch {
      return { status: res.status };
    }
  } catch {
    return { status: 0 };
  }
}

/**
 * Waits until the node is ready as the runner judges it (components/runner/infra/http.ts isReady):
 * `/status/ready` 200, or on versions without it (404) `/status` with the database reachable.
 */
export async function waitReady(statusUrl: string, seconds = 60): Promise<boolean> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const ready = await get(`${statusUrl}/status/ready`);
    if (ready.status === 200) {
      return true;
    }
    if (ready.status === 404) {
      const s = await get(`${statusUrl}/status`);
      if ((s.json?.database as { reachable?: unknown } | undefined)?.reachable === true) {
        return true;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const NODE = "node";

/** The node the node scenario's rows share (started by its first row). */
function shared(kit: Kit): KitNode {
  const n = kit.scratch.get(NODE) as KitNode | undefined;
  if (!n) {
    throw new Error("no node: the 'start' row did not run");
  }
  return n;
}

/** A follow-up: the node became ready. */
const becomesReady = (node: (kit: Kit) => KitNode) => async (kit: Kit) => {
  const ok = await waitReady(node(kit).status);
  return {
    seen: ok ? "then ready" : "never ready",
    difference: ok ? undefined : "the node did not become ready within 60 s",
  };
};

/** A follow-up: nothing answers on the node's Admin API any more. */
const adminClosed = async (kit: Kit) => {
  const s = (await get(`${shared(kit).admin}/`)).status;
  return {
    seen: s === 0 ? "admin port closed" : `admin still answers ${s}`,
    difference: s === 0 ? undefined : `the Admin API still answers (${s})`,
  };
};

/** A row that GETs one URL of the shared node and judges status and body. */
function httpRow(
  name: string,
  expected: string,
  url: (n: KitNode) => string,
  judge: (r: { status: number; json?: Record<string, unknown> }, kit: Kit) => boolean,
  bounds: Pick<Row, "since" | "before"> = {},
): Row {
  return {
    name,
    expected,
    ...bounds,
    async check(kit): Promise<Outcome> {
      const r = await get(url(shared(kit)));
      const seen = `${r.status}${r.json ? ` ${JSON.stringify(r.json).slice(0, 70)}` : ""}`;
      const ok = judge(r, kit);
      return { ok, seen, details: ok ? [] : [`GET ${url(shared(kit))}: ${seen}`] };
    },
  };
}

const statusShape = (r: { status: number; json?: Record<string, unknown> }) =>
  r.status === 200 &&
  ["memory", "server", "database"].every((k) => r.json !== undefined && k in r.json) &&
  (r.json?.database as { reachable?: unknown }).reachable === true;

/**
 * Runs `check` while this process holds the machine-wide lock on 127.0.0.1:`port`: a file in the
 * temp directory naming its holder's pid (written whole, then linked into place), taken over once
 * that process is gone. Two kit runs at once (test files run concurrently) would otherwise race
 * for Kong's default 8007: one's node binding it between the other's check and its node's start.
 * Waits for the holder (polling the file) for up to 5 minutes, then skips.
 */
async function withPortLock(port: number, check: () => Promise<Outcome>): Promise<Outcome> {
  const file = join(tmpdir(), `kong-gateway-conformance-port-${port}.lock`);
  const mine = `${file}.${process.pid}`;
  writeFileSync(mine, String(process.pid));
  const deadline = Date.now() + 300_000;
  try {
    for (;;) {
      try {
        linkSync(mine, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
          throw err;
        }
      }
      if (!holderAlive(file)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        return { skip: `skipped: 127.0.0.1:${port} is in use on this machine (another kit run)` };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    rmSync(mine, { force: true });
  }
  try {
    return await check();
  } finally {
    rmSync(file, { force: true });
  }
}

/** True while the process whose pid the lock file `file` names runs. */
function holderAlive(file: string): boolean {
  let pid = 0;
  try {
    pid = Number(readFileSync(file, "utf8"));
  } catch {
    return true; // gone meanwhile: try again
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Binds 127.0.0.1:`port` for the caller; undefined when something else holds it. */
function holdPort(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(undefined));
    srv.listen(port, "127.0.0.1", () => resolve(srv));
  });
}

/**
 * `status_listen` left at its default. From 3.6 it is 127.0.0.1:8007: the node serves `/status`
 * there (the kit checks the port is free first). Before 3.6 it is off: the node starts although
 * the kit itself holds 127.0.0.1:8007, which proves it never tries to bind it.
 */
function statusDefaultRow(name: string, bounds: Pick<Row, "since" | "before">, on: boolean): Row {
  return {
    name,
    ...bounds,
    expected: on
      ? "GET 127.0.0.1:8007/status → 200"
      : "starts while 127.0.0.1:8007 is taken (status off)",
    check: (kit) =>
      withPortLock(8007, async () => {
        const held = await holdPort(8007);
        if (!held) {
          return { skip: "skipped: 127.0.0.1:8007 is in use on this machine" };
        }
        if (on) {
          await new Promise((r) => held.close(r));
        }
        try {
          const n = await kit.node();
          const env = { ...n.env };
          delete env.KONG_STATUS_LISTEN;
          const start = await kit.kong.target.kong(["start"], env, 120);
          if (start.code !== 0) {
            return { ok: false, seen: `kong start exited ${start.code}`, details: [start.stderr] };
          }
          const ready = await waitReady(n.admin);
          const r = on ? await get("http://127.0.0.1:8007/status") : undefined;
          await kit.kong.target.kong(["stop", "-p", n.prefix], env, 60);
          if (!on) {
            return { ok: ready, seen: ready ? "started and ready, 8007 taken" : "never ready" };
          }
          return { ok: r?.status === 200, seen: `GET 127.0.0.1:8007/status → ${r?.status ?? 0}` };
        } finally {
          if (!on) {
            held.close();
          }
        }
      }),
  };
}

/** A running, bootstrapped node, and what Kong's CLI and endpoints say about it. */
export const nodeScenario: Scenario = {
  name: "node",
  setup: async (kit) => {
    const r = await kit.kong.target.kong(["migrations", "bootstrap"], kit.env(), 600);
    if (r.code !== 0) {
      throw new Error(`kong migrations bootstrap exited ${r.code}: ${r.stderr.trim()}`);
    }
  },
  rows: [
    kongRow(
      "start",
      EXACT.started,
      async (kit) => {
        const n = await kit.node();
        kit.scratch.set(NODE, n);
        return kit.kong.target.kong(["start"], n.env, 120);
      },
      { then: becomesReady(shared), thenExpected: "then ready" },
    ),
    kongRow(
      "health",
      {
        code: 0,
        stdout: {
          like: /^nginx\.+running\n\nKong is healthy at \S+\n$/,
          says: '"nginx.......running", "Kong is healthy at <prefix>"',
        },
        stderr: "",
      },
      (kit) => kit.kong.target.kong(["health", "-p", shared(kit).prefix], shared(kit).env),
    ),
    httpRow(
      "GET /status (status listener)",
      "200 {memory, server, database: {reachable: true}}",
      (n) => `${n.status}/status`,
      statusShape,
    ),
    httpRow(
      "GET /status (admin listener)",
      "200 {memory, server, database: {reachable: true}}",
      (n) => `${n.admin}/status`,
      statusShape,
    ),
    httpRow(
      "GET /status/ready",
      '200 {"message":"ready"}',
      (n) => `${n.status}/status/ready`,
      (r) => r.status === 200 && r.json?.message === "ready",
      { since: [3, 3] },
    ),
    httpRow(
      "GET /status/ready before 3.3",
      "404 (the runner then reads /status)",
      (n) => `${n.status}/status/ready`,
      (r) => r.status === 404,
      { before: [3, 3] },
    ),
    httpRow(
      "GET / (admin) version",
      "200, version = kong version",
      (n) => `${n.admin}/`,
      (r, kit) => r.status === 200 && r.json?.version === kit.kong.version.text,
    ),
    httpRow(
      "proxy, no route",
      '404 {"message":"no Route matched with those values"}',
      (n) => `${n.proxy}/conformance-kit-no-such-route`,
      (r) => r.status === 404 && r.json?.message === "no Route matched with those values",
    ),
    kongRow(
      "start again",
      {
        code: 1,
        stdout: "",
        stderr: {
          like: new RegExp(`^Error: Kong is already running in \\S+\\n${escape(RUN_WITH_V)}$`),
          says: '"Error: Kong is already running in <prefix>"',
        },
      },
      (kit) => kit.kong.target.kong(["start"], shared(kit).env, 120),
    ),
    kongRow(
      "quit",
      EXACT.quit,
      (kit) => kit.kong.target.kong(["quit", "-p", shared(kit).prefix], shared(kit).env, 120),
      {
        then: adminClosed,
        thenExpected: "admin port closed",
      },
    ),
    kongRow(
      "health after quit",
      {
        code: 1,
        stderr: {
          like: new RegExp(`^Error: Kong is not running at \\S+\\n${escape(RUN_WITH_V)}$`),
          says: '"Error: Kong is not running at <prefix>"',
        },
      },
      (kit) => kit.kong.target.kong(["health", "-p", shared(kit).prefix], shared(kit).env),
    ),
    kongRow(
      "stop",
      EXACT.stopped,
      async (kit) => {
        const again = await kit.kong.target.kong(["start"], shared(kit).env, 120);
        if (again.code !== 0 || !(await waitReady(shared(kit).status))) {
          return { ...again, stderr: `(start before stop failed) ${again.stderr}` };
        }
        return kit.kong.target.kong(["stop", "-p", shared(kit).prefix], shared(kit).env, 120);
      },
      { then: adminClosed, thenExpected: "admin port closed" },
    ),
    statusDefaultRow("status_listen default (3.6+)", { since: [3, 6] }, true),
    statusDefaultRow("status_listen default (before 3.6)", { before: [3, 6] }, false),
  ],
};

/** A node of `who` started on the pending database: `expect`, then ready, then stopped. */
function pendingStart(
  name: string,
  who: (kit: Kit) => KitKong,
  stdout: string | { like: RegExp; says: string },
): Row {
  return kongRow(
    name,
    { code: 0, stdout, stderr: "" },
    async (kit) => {
      const node = await kit.node(who(kit));
      kit.scratch.set(name, node);
      return who(kit).target.kong(["start"], node.env, 120);
    },
    {
      thenExpected: "then ready",
      then: async (kit) => {
        const n = kit.scratch.get(name) as KitNode;
        const ok = await waitReady(n.status);
        await who(kit).target.kong(["stop", "-p", n.prefix], n.env, 60);
        return {
          seen: ok ? "then ready" : "never ready",
          difference: ok ? undefined : "the node did not become ready within 60 s",
        };
      },
    },
  );
}

/** Rows on a database where `up` left migrations pending (blue-green: both versions run). */
export const pendingNodeRows: readonly Row[] = [
  pendingStart("old node starts before finish", (kit) => kit.from!, "Kong started\n"),
  pendingStart("new node starts with pending", (kit) => kit.kong, {
    like: new RegExp(`^Database has pending migrations:\\n${LIST_TABLE}Kong started\\n$`),
    says: '"Database has pending migrations:" + table, "Kong started"',
  }),
];
