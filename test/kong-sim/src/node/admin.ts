/**
 * The Admin API: `GET /`, `/status`, and CRUD on services, routes, consumers, plugins and key-auth
 * credentials (including the nested paths Kong offers), with Kong's JSON shapes and status codes.
 */
import { hostname } from "node:os";
import type { IncomingMessage, ServerResponse } from "node:http";
import { bundledPlugins } from "../catalog";
import { typedConf } from "../conf";
import { NOT_FOUND } from "./dao";
import { readBody, sendJson } from "./http";
import { ApiError, isUuid, parseBody } from "./input";
import type { Runtime } from "./runtime";
import { schemas, type EntitySchema } from "./schemas";
import { statusBody } from "./status";

type Row = Record<string, unknown>;

/** Nested collections: `/<parent>/<x>/<child>` → child entity filtered by the parent column. */
const NESTED: Record<string, Record<string, { entity: string; column: string; field: string }>> = {
  services: {
    routes: { entity: "routes", column: "service_id", field: "service" },
    plugins: { entity: "plugins", column: "service_id", field: "service" },
  },
  routes: { plugins: { entity: "plugins", column: "route_id", field: "route" } },
  consumers: {
    plugins: { entity: "plugins", column: "consumer_id", field: "consumer" },
    "key-auth": { entity: "keyauth_credentials", column: "consumer_id", field: "consumer" },
  },
};

function rootInfo(rt: Runtime, enabled: string[]): Row {
  const available = Object.fromEntries(
    bundledPlugins(rt.version)
      .filter((n) => rt.plugins.has(n))
      .map((n) => [n, { version: rt.version.raw, priority: 1000 }]),
  );
  return {
    version: rt.version.raw,
    tagline: "Welcome to kong",
    node_id: rt.nodeId,
    hostname: hostname(),
    lua_version: "LuaJIT 2.1.0-20231117",
    ...(rt.version.major >= 3
      ? { edition: rt.version.enterprise === undefined ? "community" : "enterprise" }
      : {}),
    configuration: typedConf(rt.conf),
    plugins: { available_on_server: available, enabled_in_cluster: enabled },
    timers: { running: 0, pending: 5 },
    pids: { master: process.pid, workers: [process.pid] },
    prng_seeds: {},
  };
}

async function collection(
  rt: Runtime,
  req: IncomingMessage,
  schema: EntitySchema,
  path: string,
  parent?: { column: string; id: string; field: string },
) {
  const url = new URL(req.url ?? "/", "http://admin");
  if (req.method === "GET") {
    const size = Number(url.searchParams.get("size") ?? 100);
    if (!Number.isInteger(size) || size < 1 || size > 1000) {
      throw new ApiError(400, {
        code: 2,
        name: "schema violation",
        message: "schema violation (size: value should be between 1 and 1000)",
        fields: { size: "value should be between 1 and 1000" },
      });
    }
    return {
      status: 200,
      body: await rt.dao.list(
        schema,
        path,
        size,
        url.searchParams.get("offset") ?? undefined,
        parent,
      ),
    };
  }
  if (req.method === "POST") {
    const input = parseBody(req.headers["content-type"], await readBody(req));
    const forced = parent ? { [parent.field]: { id: parent.id } } : {};
    const row = await rt.dao.insert(schema, input, forced);
    await rt.changed();
    return { status: 201, body: row };
  }
  return { status: 405, body: { message: "Method not allowed" } };
}

async function item(
  rt: Runtime,
  req: IncomingMessage,
  schema: EntitySchema,
  key: string,
  parent?: { column: string; id: string; field: string },
) {
  const current = await rt.dao.find(schema, key, parent);
  switch (req.method) {
    case "GET":
      if (!current) {
        throw NOT_FOUND;
      }
      return { status: 200, body: rt.dao.present(schema, current) };
    case "DELETE":
      if (current) {
        await rt.dao.remove(schema, String(current.id));
        await rt.changed();
      }
      return { status: 204, body: undefined };
    case "PATCH": {
      if (!current) {
        throw NOT_FOUND;
      }
      const input = parseBody(req.headers["content-type"], await readBody(req));
      const row = await rt.dao.update(schema, current, input);
      await rt.changed();
      return { status: 200, body: row };
    }
    case "PUT": {
      const input = parseBody(req.headers["content-type"], await readBody(req));
      const forced: Row = parent ? { [parent.field]: { id: parent.id } } : {};
      if (!isUuid(key) && schema.endpointKey) {
        forced[schema.endpointKey] = key;
      }
      const row = current
        ? await rt.dao.update(schema, current, { ...input, ...forced })
        : await rt.dao.insert(schema, input, forced, isUuid(key) ? key : undefined);
      await rt.changed();
      return { status: 200, body: row };
    }
    default:
      return { status: 405, body: { message: "Method not allowed" } };
  }
}

async function route(
  rt: Runtime,
  req: IncomingMessage,
  parts: string[],
): Promise<{ status: number; body: unknown }> {
  const all = schemas(rt.version);
  const byPath = (p: string) => Object.values(all).find((s) => s.path === p);
  if (parts.length === 0) {
    const enabled = rt.snapshot ? [...new Set(rt.snapshot.plugins.map((p) => p.name))].sort() : [];
    return { status: 200, body: rootInfo(rt, enabled) };
  }
  if (parts.length === 1 && parts[0] === "status") {
    return { status: 200, body: statusBody(rt) };
  }
  const [top = "", key, child, childKey, extra] = parts;
  const schema = byPath(top);
  if (!schema || extra !== undefined) {
    throw NOT_FOUND;
  }
  if (key === undefined) {
    return collection(rt, req, schema, `/${top}`);
  }
  if (child === undefined) {
    return item(rt, req, schema, key);
  }
  if (top === "routes" && child === "service" && childKey === undefined && req.method === "GET") {
    const r = await rt.dao.find(schema, key);
    const sid = r?.service_id;
    const svc =
      typeof sid === "string" ? await rt.dao.find(all.services as EntitySchema, sid) : undefined;
    if (!svc) {
      throw NOT_FOUND;
    }
    return { status: 200, body: rt.dao.present(all.services as EntitySchema, svc) };
  }
  const nested = NESTED[top]?.[child];
  if (!nested) {
    throw NOT_FOUND;
  }
  const parentRow = await rt.dao.find(schema, key);
  if (!parentRow) {
    throw NOT_FOUND;
  }
  const childSchema = all[nested.entity] as EntitySchema;
  const parent = { column: nested.column, id: String(parentRow.id), field: nested.field };
  return childKey === undefined
    ? collection(rt, req, childSchema, `/${top}/${key}/${child}`, parent)
    : item(rt, req, childSchema, childKey, parent);
}

/** Handles one Admin API request. */
export async function handleAdmin(
  rt: Runtime,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = Date.now();
  const headers = () => ({
    "Access-Control-Allow-Origin": "*",
    Server: `kong/${rt.version.raw}`,
    "X-Kong-Admin-Latency": String(Date.now() - started),
  });
  const parts = new URL(req.url ?? "/", "http://admin").pathname
    .split("/")
    .filter((p) => p !== "")
    .map(decodeURIComponent);
  try {
    const { status, body } = await route(rt, req, parts);
    if (status === 204) {
      res.writeHead(204, headers());
      res.end();
      return;
    }
    sendJson(res, status, body, headers());
  } catch (err) {
    if (err instanceof ApiError) {
      sendJson(res, err.status, err.body, headers());
      return;
    }
    rt.log.write("error", `[kong] admin API error: ${(err as Error).message}`);
    sendJson(res, 500, { message: "An unexpected error occurred" }, headers());
  }
}
