/**
 * What most commands do first: load the configuration, connect to PostgreSQL with Kong's checks,
 * and work out the migration catalog for the node's `plugins` setting.
 */
import { catalogFor, loadedPlugins, type Subsystem } from "../catalog";
import { loadConf, type KongConf, type PgConf } from "../conf";
import { DbError, openForKong, type Db } from "../pg";
import type { KongVersion } from "../version";
import { KongError, LUA_ROOT } from "./errors";
import { log } from "./log";

/** A connected command context. */
export interface Session {
  readonly version: KongVersion;
  readonly conf: KongConf;
  readonly db: Db;
  readonly catalog: readonly Subsystem[];
}

/** Loads the configuration with Kong's verbose/debug output; KongError on invalid settings. */
export function loadConfLogged(version: KongVersion, path?: string, prefix?: string): KongConf {
  const conf = loadConf(version, { path, prefix, onVerbose: (m) => log.verbose(m) });
  for (const [k, v] of [...conf.raw].sort(([a], [b]) => a.localeCompare(b))) {
    if (v !== undefined) {
      log.debug(`${k} = ${k.includes("password") ? '"******"' : JSON.stringify(v)}`);
    }
  }
  log.verbose(`prefix in use: ${conf.prefix}`);
  return conf;
}

/** Connects as Kong's `assert(db:init_connector())` would, with `timeoutMs` for every operation. */
export async function connect(
  version: KongVersion,
  conf: KongConf,
  timeoutMs: number,
): Promise<Session> {
  if (conf.database !== "postgres") {
    throw new KongError(
      `the Kong stand-in only models database = postgres (got database = ${conf.database})`,
      `${LUA_ROOT}/db/init.lua:61`,
    );
  }
  const pg: PgConf = { ...conf.pg, timeout: timeoutMs };
  let db: Db;
  try {
    db = await openForKong(pg);
  } catch (err) {
    if (err instanceof DbError) {
      throw new KongError(err.message, `${LUA_ROOT}/cmd/migrations.lua:115`);
    }
    throw err;
  }
  log.debug("loading subsystems migrations...");
  const catalog = catalogFor(version, loadedPlugins(version, conf.plugins));
  return { version, conf, db, catalog };
}
