/**
 * The proxy listener: routes by the database's routes, runs key-auth and rate-limiting, then either
 * answers from the built-in echo upstream (service host `echo.sim`) or forwards over real HTTP.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { sendJson } from "./http";
import { keyAuth, pickPlugin, type AuthResult } from "./plugins";
import { matchRoute } from "./router";
import type { Runtime } from "./runtime";
import type { RouteRow, ServiceRow } from "./store";

/** Service host answered by the node itself: a JSON echo of the upstream request. */
export const ECHO_HOST = "echo.sim";

/** Kong's v0 path handling: service path + the rest of the request path, without a double `/`. */
function joinPath(base: string | null, rest: string): string {
  const b = base ?? "/";
  if (rest === "") {
    return b;
  }
  return b.endsWith("/") && rest.startsWith("/") ? b + rest.slice(1) : b + rest;
}

function upstreamPath(route: RouteRow, service: ServiceRow, path: string, matched: string): string {
  const rest =
    route.strip_path !== false && route.paths?.length ? path.slice(matched.length) : path;
  return joinPath(service.path, rest);
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) {
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Handles one proxied request. */
export async function handleProxy(
  rt: Runtime,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = Date.now();
  const server = `kong/${rt.version.raw}`;
  const kongReply = (status: number, body: unknown, extra: Record<string, string> = {}) =>
    sendJson(res, status, body, {
      Server: server,
      "X-Kong-Response-Latency": String(Date.now() - started),
      ...extra,
    });
  const snap = rt.snapshot;
  if (!snap || rt.buildError) {
    kongReply(500, { message: "An unexpected error occurred" });
    return;
  }
  const url = new URL(req.url ?? "/", "http://proxy");
  const match = matchRoute(
    snap.routes,
    {
      method: req.method ?? "GET",
      host: req.headers.host ?? "",
      path: url.pathname,
      headers: req.headers,
      protocol: "http",
    },
    rt.version.major < 3,
  );
  if (!match) {
    kongReply(404, { message: "no Route matched with those values" });
    return;
  }
  const service = match.route.service_id ? snap.services.get(match.route.service_id) : undefined;
  if (!service || service.enabled === false) {
    kongReply(503, { message: "no Service found with those values" });
    return;
  }
  const auth: AuthResult = { upstreamHeaders: {}, hideHeaders: [], hideQuery: [] };
  const ka = pickPlugin(snap, "key-auth", match.route.id, service.id);
  if (ka) {
    const reply = keyAuth(snap, ka, req.method ?? "GET", req.headers, url.searchParams, auth);
    if (reply) {
      kongReply(reply.status, reply.body, reply.headers);
      return;
    }
  }
  let extraHeaders: Record<string, string> = {};
  const rl = pickPlugin(snap, "rate-limiting", match.route.id, service.id, auth.consumerId);
  if (rl) {
    const by = rl.config.limit_by;
    const ip = req.socket.remoteAddress ?? "unknown";
    const id =
      by === "ip"
        ? ip
        : by === "credential"
          ? (auth.credentialId ?? ip)
          : by === "service"
            ? service.id
            : (auth.consumerId ?? ip);
    const r = rt.rates.hit(rl, id);
    if (r.reply) {
      kongReply(r.reply.status, r.reply.body, r.reply.headers);
      return;
    }
    extraHeaders = r.headers;
  }
  auth.hideQuery.forEach((q) => url.searchParams.delete(q));
  const headers: Record<string, string | string[] | undefined> = {
    ...req.headers,
    ...auth.upstreamHeaders,
  };
  auth.hideHeaders.forEach((h) => delete headers[h.toLowerCase()]);
  const query = url.searchParams.toString();
  const path =
    upstreamPath(match.route, service, url.pathname, match.matchedPath) +
    (query ? `?${query}` : "");
  const body = await readAll(req);
  const kongHeaders = {
    Via: `1.1 ${server}`,
    "X-Kong-Proxy-Latency": String(Date.now() - started),
    ...extraHeaders,
  };
  if (match.route.preserve_host !== true) {
    headers.host =
      service.port === 80 || service.port === 443
        ? service.host
        : `${service.host}:${service.port}`;
  }
  headers["x-forwarded-for"] = req.socket.remoteAddress ?? "";
  headers["x-forwarded-proto"] = "http";
  headers["x-forwarded-host"] = req.headers.host ?? "";
  headers["x-forwarded-path"] = url.pathname;
  headers["x-real-ip"] = req.socket.remoteAddress ?? "";
  if (service.host === ECHO_HOST) {
    const echo = {
      method: req.method,
      path,
      headers,
      body: body.toString("utf8"),
      route: match.route.name ?? match.route.id,
      service: service.name ?? service.id,
      node: { version: rt.version.raw, pid: process.pid },
    };
    sendJson(res, 200, echo, { ...kongHeaders, "X-Kong-Upstream-Latency": "0" });
    return;
  }
  const send = service.protocol === "https" ? httpsRequest : httpRequest;
  const upstreamStarted = Date.now();
  const up = send(
    {
      host: service.host,
      port: service.port,
      method: req.method,
      path,
      headers,
      timeout: service.read_timeout,
      rejectUnauthorized: false,
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, {
        ...upRes.headers,
        ...kongHeaders,
        "X-Kong-Upstream-Latency": String(Date.now() - upstreamStarted),
      });
      upRes.pipe(res);
    },
  );
  up.on("timeout", () => {
    up.destroy();
    if (!res.headersSent) {
      kongReply(504, { message: "The upstream server is timed out" });
    }
  });
  up.on("error", (err) => {
    rt.log.write(
      "error",
      `connect() failed (${err.message}) while connecting to upstream, upstream: "http://${service.host}:${service.port}${path}"`,
    );
    if (!res.headersSent) {
      kongReply(502, { message: "An invalid response was received from the upstream server" });
    }
  });
  up.end(body);
}
