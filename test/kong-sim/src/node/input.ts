/**
 * Admin API input: JSON or form bodies (`paths[]=/a`, `service.id=…`, `config.minute=5`) turned
 * into typed entity fields with Kong's schema-violation messages.
 */
import type { EntitySchema, Field } from "./schemas";

/** An Admin API error answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message));
  }
}

/** Kong's 400 for schema violations (one or several fields). */
export function schemaViolation(fields: Record<string, string>): ApiError {
  const parts = Object.entries(fields).map(([k, v]) => (k === "@entity" ? v : `${k}: ${v}`));
  const message =
    parts.length === 1
      ? `schema violation (${parts[0]})`
      : `${parts.length} schema violations (${parts.join("; ")})`;
  const shown: Record<string, unknown> = { ...fields };
  if (fields["@entity"]) {
    shown["@entity"] = [fields["@entity"]];
  }
  return new ApiError(400, { code: 2, name: "schema violation", message, fields: shown });
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function setPath(target: Record<string, Json>, key: string, value: string): void {
  const parts = key
    .replace(/\[\]$/, "")
    .replace(/\[(\d+)\]/g, ".$1")
    .split(".");
  const isArray = key.endsWith("[]");
  let node: Record<string, Json> = target;
  parts.forEach((part, idx) => {
    const last = idx === parts.length - 1;
    if (!last) {
      const next = node[part];
      node[part] = next && typeof next === "object" && !Array.isArray(next) ? next : {};
      node = node[part] as Record<string, Json>;
      return;
    }
    const prev = node[part];
    if (isArray || prev !== undefined) {
      node[part] = [...(Array.isArray(prev) ? prev : prev === undefined ? [] : [prev]), value];
    } else {
      node[part] = value;
    }
  });
}

/** Parses a request body; form values stay strings until `coerce`. */
export function parseBody(contentType: string | undefined, raw: string): Record<string, unknown> {
  if (raw.trim() === "") {
    return {};
  }
  if ((contentType ?? "").includes("application/json")) {
    try {
      const v = JSON.parse(raw) as unknown;
      if (v && typeof v === "object" && !Array.isArray(v)) {
        return v as Record<string, unknown>;
      }
    } catch {
      // fall through
    }
    throw new ApiError(400, { message: "Cannot parse JSON body" });
  }
  const out: Record<string, Json> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    setPath(out, k, v);
  }
  return out;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID (Kong decides id-or-name lookups this way). */
export function isUuid(v: string): boolean {
  return UUID.test(v);
}

/** Converts one input value to the field's type, or returns an error text. */
function coerce(field: Field, value: unknown): { value?: unknown; error?: string } {
  if (value === null) {
    return { value: null };
  }
  switch (field.kind) {
    case "string":
      if (typeof value !== "string") {
        return { error: "expected a string" };
      }
      if (field.oneOf && !field.oneOf.includes(value)) {
        return { error: `expected one of: ${field.oneOf.join(", ")}` };
      }
      return { value };
    case "integer": {
      const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      return typeof n === "number" && Number.isInteger(n)
        ? { value: n }
        : { error: "expected an integer" };
    }
    case "boolean":
      if (value === "true" || value === true) {
        return { value: true };
      }
      return value === "false" || value === false
        ? { value: false }
        : { error: "expected a boolean" };
    case "array": {
      const list = typeof value === "string" ? [value] : value;
      return Array.isArray(list) && list.every((x) => typeof x === "string")
        ? { value: list }
        : { error: "expected a set" };
    }
    case "json":
      return typeof value === "object" && !Array.isArray(value)
        ? { value }
        : { error: "expected a record" };
    case "foreign": {
      const id = typeof value === "object" ? (value as { id?: unknown }).id : undefined;
      if (typeof id !== "string" || !isUuid(id)) {
        return { error: "expected a valid UUID" };
      }
      return { value: id };
    }
  }
}

/** Validates `input` against `schema`: known fields only, typed; returns column → value. */
export function toColumns(
  schema: EntitySchema,
  input: Record<string, unknown>,
  creating: boolean,
): Record<string, unknown> {
  const errors: Record<string, string> = {};
  const cols: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const field = schema.fields.find((x) => x.name === key);
    if (key === "id" || key === "created_at" || key === "updated_at") {
      continue;
    }
    if (!field) {
      errors[key] = "unknown field";
      continue;
    }
    const r = coerce(field, value);
    if (r.error) {
      errors[field.kind === "foreign" ? `${key}.id` : key] = r.error;
    } else {
      cols[field.kind === "foreign" ? `${key}_id` : key] = r.value;
    }
  }
  if (creating) {
    for (const field of schema.fields) {
      const col = field.kind === "foreign" ? `${field.name}_id` : field.name;
      if (cols[col] === undefined && field.default !== undefined) {
        cols[col] = field.default;
      }
      if (
        field.required &&
        (cols[col] === undefined || cols[col] === null) &&
        !errors[field.name]
      ) {
        errors[field.name] = "required field missing";
      }
    }
  }
  if (Object.keys(errors).length > 0) {
    throw schemaViolation(errors);
  }
  return cols;
}

const NUMERIC =
  /^(second|minute|hour|day|month|year|error_code|sync_rate|redis_port|redis_timeout|redis_database|port|timeout|database)$/;
const BOOLEAN =
  /^(fault_tolerant|hide_client_headers|hide_credentials|key_in_header|key_in_query|key_in_body|run_on_preflight|ssl|ssl_verify|redis_ssl|redis_ssl_verify)$/;

/** Form bodies give strings: turns the known numeric/boolean config fields into numbers/booleans. */
export function coerceConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (typeof v === "string" && NUMERIC.test(k) && v.trim() !== "" && Number.isFinite(Number(v))) {
      out[k] = Number(v);
    } else if (typeof v === "string" && BOOLEAN.test(k) && (v === "true" || v === "false")) {
      out[k] = v === "true";
    } else if (k === "key_names" && typeof v === "string") {
      out[k] = [v];
    } else if (v && typeof v === "object" && !Array.isArray(v)) {
      out[k] = coerceConfig(v as Record<string, unknown>);
    } else {
      out[k] = v;
    }
  }
  return out;
}
