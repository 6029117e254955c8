/** The Status API (`/status`, `/status/ready` from 3.3) and the shared `/status` body. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { atLeast } from "../version";
import { sendJson } from "./http";
import type { Runtime } from "./runtime";

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

/** Kong's `/status` body: memory, nginx counters, database reachability. */
export function statusBody(rt: Runtime): Record<string, unknown> {
  const c = rt.counters;
  return {
    memory: {
      workers_lua_vms: [
        { http_allocated_gc: mib(process.memoryUsage().heapUsed), pid: process.pid },
      ],
      lua_shared_dicts: {
        kong: { allocated_slabs: "0.04 MiB", capacity: "5.00 MiB" },
        kong_db_cache: { allocated_slabs: "0.80 MiB", capacity: "128.00 MiB" },
      },
    },
    server: {
      connections_accepted: c.accepted,
      connections_active: c.active,
      connections_handled: c.handled,
      connections_reading: 0,
      connections_waiting: Math.max(c.active - c.writing, 0),
      connections_writing: c.writing,
      total_requests: c.total,
    },
    database: { reachable: rt.dbReachable },
  };
}

/** Handles one Status API request. */
export function handleStatus(rt: Runtime, req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? "/", "http://status").pathname.replace(/\/+$/, "");
  const headers = { Server: `kong/${rt.version.raw}`, "Access-Control-Allow-Origin": "*" };
  if (path === "/status") {
    sendJson(res, 200, statusBody(rt), headers);
    return;
  }
  if (path === "/status/ready" && atLeast(rt.version, "3.3.0")) {
    const reason = rt.unreadyReason();
    sendJson(res, reason ? 503 : 200, { message: reason ?? "ready" }, headers);
    return;
  }
  sendJson(res, 404, { message: "Not found" }, headers);
}
