/**
 * Entity storage for the Admin API: SQL on Kong's tables, Kong's JSON shapes (foreign keys as
 * `{"id": …}`, timestamps as epoch seconds), and Kong's 404/409/foreign-key answers.
 */
import { randomUUID } from "node:crypto";
import { DbError, type Db } from "../pg";
import type { KongVersion } from "../version";
import { ApiError, coerceConfig, isUuid, schemaViolation, toColumns } from "./input";
import { pluginCheck, pluginConfig, randomKey, type EntitySchema } from "./schemas";

type Row = Record<string, unknown>;

/** Kong's 404 body. */
export const NOT_FOUND = new ApiError(404, { message: "Not found" });

/** Storage bound to one database and node. */
export class Dao {
  private wsId: string | null | undefined;

  constructor(
    private readonly db: Db,
    private readonly version: KongVersion,
    private readonly plugins: ReadonlySet<string>,
  ) {}

  private async workspace(): Promise<string | null> {
    if (this.wsId === undefined) {
      const rows = await this.db
        .query<{ id: string }>("SELECT id FROM workspaces WHERE name = 'default'")
        .catch(() => []);
      this.wsId = rows[0]?.id ?? null;
    }
    return this.wsId;
  }

  /** Turns a row into Kong's JSON entity. */
  present(schema: EntitySchema, row: Row): Row {
    const out: Row = { id: row.id };
    const epoch = (d: unknown) => (d instanceof Date ? Math.floor(d.getTime() / 1000) : null);
    out.created_at = epoch(row.created_at);
    if (schema.updatedAt) {
      out.updated_at = epoch(row.updated_at);
    }
    for (const field of schema.fields) {
      if (field.kind === "foreign") {
        const id = row[`${field.name}_id`];
        out[field.name] = typeof id === "string" ? { id } : null;
      } else {
        out[field.name] = row[field.name] ?? null;
      }
    }
    return out;
  }

  /** Finds by id, or by the endpoint key (name, username, key) when `key` is not a UUID. */
  async find(
    schema: EntitySchema,
    key: string,
    parent?: { column: string; id: string },
  ): Promise<Row | undefined> {
    const byId = isUuid(key) || !schema.endpointKey;
    const where = byId ? "id = $1" : `${schema.endpointKey} = $1`;
    if (byId && !isUuid(key)) {
      return undefined;
    }
    const extra = parent ? ` AND ${parent.column} = $2` : "";
    const rows = await this.db.query(
      `SELECT * FROM ${schema.table} WHERE ${where}${extra}`,
      parent ? [key, parent.id] : [key],
    );
    return rows[0];
  }

  /** One page of a collection, oldest first; `next` is Kong's `/path?offset=…` or null. */
  async list(
    schema: EntitySchema,
    basePath: string,
    size: number,
    offset: string | undefined,
    parent?: { column: string; id: string },
  ) {
    const start = offset ? Number(Buffer.from(offset, "base64").toString("utf8")) : 0;
    if (!Number.isInteger(start) || start < 0) {
      throw new ApiError(400, {
        code: 8,
        name: "invalid offset",
        message: `'${offset}' is not a valid offset: bad base64 encoding`,
      });
    }
    const where = parent ? `WHERE ${parent.column} = $1` : "";
    const rows = await this.db.query(
      `SELECT * FROM ${schema.table} ${where} ORDER BY created_at, id LIMIT ${size + 1} OFFSET ${start}`,
      parent ? [parent.id] : [],
    );
    const data = rows.slice(0, size).map((r) => this.present(schema, r));
    if (rows.length <= size) {
      return { data, next: null };
    }
    const token = Buffer.from(String(start + size)).toString("base64");
    return { data, next: `${basePath}?offset=${encodeURIComponent(token)}`, offset: token };
  }

  private prepare(schema: EntitySchema, input: Row, creating: boolean, current?: Row): Row {
    const body = { ...input };
    if (schema.table === "services" && typeof body.url === "string") {
      Object.assign(body, splitUrl(body.url));
      delete body.url;
    }
    const cols = toColumns(schema, body, creating);
    if (schema.table === "plugins") {
      const name = (cols.name ?? current?.name) as string;
      if (!this.plugins.has(name)) {
        throw schemaViolation({
          name: `plugin '${name}' not enabled; add it to the 'plugins' configuration property`,
        });
      }
      const given = coerceConfig((cols.config ?? (creating ? {} : current?.config) ?? {}) as Row);
      const config = pluginConfig(
        this.version,
        name,
        creating || cols.config
          ? { ...(creating ? {} : (current?.config as Row)), ...given }
          : given,
      );
      const problem = pluginCheck(name, config);
      if (problem) {
        throw schemaViolation({ "@entity": problem });
      }
      cols.config = config;
    }
    if (schema.table === "routes") {
      const merged = { ...(current ?? {}), ...cols };
      const http = ((merged.protocols as string[] | null) ?? ["http", "https"]).some((p) =>
        p.startsWith("http"),
      );
      const set = ["methods", "hosts", "headers", "paths", "snis"].some((k) => {
        const v = merged[k];
        return Array.isArray(v)
          ? v.length > 0
          : v !== null && v !== undefined && Object.keys(v).length > 0;
      });
      if (http && !set) {
        throw schemaViolation({
          "@entity":
            "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'",
        });
      }
    }
    if (
      schema.table === "keyauth_credentials" &&
      creating &&
      (cols.key === undefined || cols.key === null)
    ) {
      cols.key = randomKey();
    }
    if (schema.table === "consumers" && creating && !cols.username && !cols.custom_id) {
      throw schemaViolation({
        "@entity": "at least one of these fields must be non-empty: 'custom_id', 'username'",
      });
    }
    return cols;
  }

  private cacheKey(cols: Row): string {
    const id = (k: string) => (typeof cols[k] === "string" ? cols[k] : "");
    return `plugins:${String(cols.name)}:${id("route_id")}:${id("service_id")}:${id("consumer_id")}::`;
  }

  private async write(
    schema: EntitySchema,
    sql: string,
    params: unknown[],
    cols: Row,
  ): Promise<Row> {
    try {
      const rows = await this.db.query(sql, params);
      return this.present(schema, rows[0] ?? {});
    } catch (err) {
      throw translate(err, schema, cols);
    }
  }

  /** Creates an entity (POST); `forced` sets parent foreign keys from the URL. */
  async insert(
    schema: EntitySchema,
    input: Row,
    forced: Row = {},
    id: string = randomUUID(),
  ): Promise<Row> {
    const cols: Row = { ...this.prepare(schema, { ...input, ...forced }, true), id };
    if (schema.table === "plugins") {
      cols.cache_key = this.cacheKey(cols);
    }
    const ws = await this.workspace();
    if (ws) {
      cols.ws_id = ws;
    }
    const names = Object.keys(cols);
    const values = names.map((n) =>
      isJsonCol(n) && cols[n] !== null ? JSON.stringify(cols[n]) : cols[n],
    );
    const sql = `INSERT INTO ${schema.table} (${names.join(", ")}) VALUES (${names.map((_, i) => `$${i + 1}`).join(", ")}) RETURNING *`;
    return this.write(schema, sql, values, cols);
  }

  /** Updates an entity (PATCH). */
  async update(schema: EntitySchema, current: Row, input: Row): Promise<Row> {
    const cols = this.prepare(schema, input, false, current);
    if (schema.table === "plugins") {
      cols.cache_key = this.cacheKey({ ...current, ...cols });
    }
    if (schema.updatedAt) {
      cols.updated_at = new Date();
    }
    const names = Object.keys(cols);
    if (names.length === 0) {
      return this.present(schema, current);
    }
    const values = names.map((n) =>
      isJsonCol(n) && cols[n] !== null ? JSON.stringify(cols[n]) : cols[n],
    );
    const sets = names.map((n, i) => `${n} = $${i + 1}`).join(", ");
    const sql = `UPDATE ${schema.table} SET ${sets} WHERE id = $${names.length + 1} RETURNING *`;
    return this.write(schema, sql, [...values, current.id], cols);
  }

  /** Deletes by id; true when a row went away. */
  async remove(schema: EntitySchema, id: string): Promise<void> {
    await this.db.query(`DELETE FROM ${schema.table} WHERE id = $1`, [id]).catch((err: unknown) => {
      throw translate(err, schema, {});
    });
  }
}

function isJsonCol(name: string): boolean {
  return name === "config" || name === "headers";
}

function splitUrl(url: string): Row {
  try {
    const u = new URL(url);
    const protocol = u.protocol.replace(/:$/, "");
    const port = u.port ? Number(u.port) : protocol === "https" ? 443 : 80;
    return {
      protocol,
      host: u.hostname,
      port,
      path: u.pathname === "/" && !url.endsWith("/") ? null : u.pathname,
    };
  } catch {
    throw schemaViolation({ url: "missing host in url" });
  }
}

/** Maps PostgreSQL constraint errors to Kong's 409 / foreign key answers. */
function translate(err: unknown, schema: EntitySchema, cols: Row): unknown {
  if (!(err instanceof DbError)) {
    return err;
  }
  if (err.code === "23505") {
    const m = /Key \((\w+)\)=\((.*)\) already exists/.exec(err.detail ?? "");
    const field = m?.[1] ?? "id";
    if (field === "cache_key") {
      const ref = (k: string) =>
        typeof cols[`${k}_id`] === "string" ? `{id="${String(cols[`${k}_id`])}"}` : "null";
      const msg = `UNIQUE violation detected on '{consumer=${ref("consumer")},name="${String(cols.name)}",route=${ref("route")},service=${ref("service")}}'`;
      return new ApiError(409, {
        code: 5,
        name: "unique constraint violation",
        message: msg,
        fields: { name: cols.name },
      });
    }
    const value = m?.[2] ?? "";
    return new ApiError(409, {
      code: 5,
      name: "unique constraint violation",
      message: `UNIQUE violation detected on '{${field}="${value}"}'`,
      fields: { [field]: value },
    });
  }
  if (err.code === "23503") {
    const m = /Key \((\w+)_id\)=\(([^)]*)\)/.exec(err.detail ?? "");
    if (m && !/is still referenced/.test(err.detail ?? "")) {
      const ref = schema.fields.find((f) => f.name === m[1])?.ref ?? `${m[1]}s`;
      return new ApiError(400, {
        code: 3,
        name: "foreign key violation",
        message: `the foreign key '{id="${m[2]}"}' does not reference an existing '${ref}' entity.`,
        fields: { [m[1] ?? ""]: { id: m[2] } },
      });
    }
    const by = /from table "(\w+)"/.exec(err.detail ?? "")?.[1] ?? "routes";
    return new ApiError(400, {
      code: 4,
      name: "foreign keys violation",
      message: `an existing '${by}' entity references this '${schema.table}' entity`,
      fields: { "@referenced_by": by },
    });
  }
  return err;
}
