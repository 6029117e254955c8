/**
 * `kong config db_export [file]` and `kong config db_import <file>` (kong/cmd/config.lua). The
 * stand-in writes Kong's flat declarative format as JSON (which is also YAML 1.2) and reads JSON.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadedPlugins } from "../catalog";
import { loadConf } from "../conf";
import { Dao } from "../node/dao";
import { ApiError } from "../node/input";
import { schemas, type EntitySchema } from "../node/schemas";
import { atLeast, type KongVersion } from "../version";
import { str, type ParsedArgs } from "./args";
import { KongError, LUA_ROOT } from "./errors";
import { log } from "./log";
import { connect, type Session } from "./setup";

const CONFIG = `${LUA_ROOT}/cmd/config.lua`;
/** Declarative keys in load order (parents before children). */
const ORDER = ["services", "routes", "consumers", "plugins", "keyauth_credentials"] as const;

async function session(version: KongVersion, args: ParsedArgs): Promise<Session> {
  log.disable();
  let conf = loadConf(version, { path: str(args, "conf"), prefix: str(args, "prefix") });
  log.enable();
  const env = resolve(conf.prefix, ".kong_env");
  if (existsSync(env)) {
    conf = loadConf(version, { path: env });
  }
  return connect(version, conf, conf.pg.timeout);
}

function tableExists(s: Session, table: string): Promise<boolean> {
  return s.db
    .query<{ n: number }>(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = CURRENT_SCHEMA AND table_name = $1",
      [table],
    )
    .then((r) => (r[0]?.n ?? 0) > 0);
}

/** Export: flat entity lists, foreign keys as ids, nulls left out. */
async function dbExport(version: KongVersion, s: Session, file: string): Promise<number> {
  if (existsSync(file)) {
    throw new KongError(`${file} already exists. Will not overwrite it.`, `${CONFIG}:20`);
  }
  const all = schemas(version);
  const dao = new Dao(s.db, version, loadedPlugins(version, s.conf.plugins));
  const out: Record<string, unknown> = {
    _format_version: atLeast(version, "3.0.0") ? "3.0" : "2.1",
    _transform: false,
  };
  for (const key of ORDER) {
    const schema = all[key] as EntitySchema;
    if (!(await tableExists(s, schema.table))) {
      continue;
    }
    const rows = await s.db.query(`SELECT * FROM ${schema.table} ORDER BY created_at, id`);
    if (rows.length === 0) {
      continue;
    }
    out[key] = rows.map((r) => {
      const e = dao.present(schema, r);
      return Object.fromEntries(
        Object.entries(e)
          .filter(([, v]) => v !== null)
          .map(([k, v]) => [
            k,
            v && typeof v === "object" && "id" in v && Object.keys(v).length === 1
              ? (v as { id: string }).id
              : v,
          ]),
      );
    });
  }
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  return 0;
}

/** Import: upserts every entity by id, parents first. */
async function dbImport(version: KongVersion, s: Session, file: string): Promise<number> {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    if (!parsed || typeof parsed !== "object" || typeof parsed._format_version !== "string") {
      throw new Error("expected an object with a _format_version (JSON declarative configuration)");
    }
  } catch (err) {
    throw new KongError(`Failed parsing:\n${(err as Error).message}`, `${CONFIG}:108`);
  }
  log.info("parse successful, beginning import");
  const all = schemas(version);
  const dao = new Dao(s.db, version, loadedPlugins(version, s.conf.plugins));
  try {
    for (const key of ORDER) {
      const schema = all[key] as EntitySchema;
      const list = Array.isArray(parsed[key]) ? (parsed[key] as Record<string, unknown>[]) : [];
      for (const entity of list) {
        const input: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(entity)) {
          const field = schema.fields.find((f) => f.name === k);
          input[k] = field?.kind === "foreign" && typeof v === "string" ? { id: v } : v;
        }
        const id = typeof entity.id === "string" ? entity.id : undefined;
        const current = id ? await dao.find(schema, id) : undefined;
        if (current) {
          await dao.update(schema, current, input);
        } else {
          await dao.insert(schema, input, {}, id);
        }
      }
    }
  } catch (err) {
    const msg = err instanceof ApiError ? JSON.stringify(err.body) : (err as Error).message;
    throw new KongError(`Failed importing:\n${msg}`, `${CONFIG}:119`);
  }
  log.info("import successful");
  return 0;
}

/** Runs `kong config <sub>`. */
export async function configCommand(
  version: KongVersion,
  sub: string,
  args: ParsedArgs,
): Promise<number> {
  const s = await session(version, args);
  try {
    if (sub === "db_export") {
      return await dbExport(version, s, resolve(args.positional[0] ?? "./kong.yml"));
    }
    const file = args.positional[0];
    if (!file) {
      throw new KongError(
        "expected a declarative configuration file; see `kong config --help`",
        `${CONFIG}:100`,
      );
    }
    return await dbImport(version, s, resolve(file));
  } finally {
    await s.db.close();
  }
}
