/** `kong migrations <bootstrap|up|finish|list|reset|status>` (kong/cmd/migrations.lua). */
import { readFaults } from "../faults";
import { DbError } from "../pg";
import { formatGroups, loadState, stateJson, type SchemaState } from "../state";
import { atLeast, type KongVersion } from "../version";
import { flag, num, str, type OptSpec, type ParsedArgs } from "./args";
import { ExitRequest, KongError, LUA_ROOT, luaError } from "./errors";
import { log } from "./log";
import { bootstrap, finish, NEEDS_BOOTSTRAP, reset, up, type OpContext } from "./migrate-ops";
import { confirm } from "./prompt";
import { connect, loadConfLogged, type Session } from "./setup";

/** Subcommands by version (`status` arrived in 3.0). */
export function migrationsSubcommands(v: KongVersion): string[] {
  const base = ["bootstrap", "up", "finish", "list", "reset"];
  return atLeast(v, "3.0.0") ? [...base, "status"] : base;
}

/** Options of `kong migrations` for `v` (`--db-timeout` lost its default in 3.7). */
export function migrationsOptions(v: KongVersion): OptSpec[] {
  const opts: OptSpec[] = [
    { long: "yes", short: "y", kind: "flag" },
    { long: "quiet", short: "q", kind: "flag" },
    { long: "force", short: "f", kind: "flag" },
    { long: "db-timeout", kind: "number", default: atLeast(v, "3.7.0") ? undefined : "60" },
    { long: "lock-timeout", kind: "number", default: "60" },
    { long: "conf", short: "c", kind: "string" },
  ];
  return atLeast(v, "3.0.0") ? [...opts, { long: "prefix", short: "p", kind: "string" }] : opts;
}

/** Usage text printed by lapp. */
export const MIGRATIONS_USAGE = `Usage: kong migrations COMMAND [OPTIONS]

Manage database schema migrations.

The available commands are:
  bootstrap                         Bootstrap the database and run all
                                    migrations.

  up                                Run any new migrations.

  finish                            Finish running any pending migrations after
                                    'up'.

  list                              List executed migrations.

  reset                             Reset the database.

  status                            Dump the database migration status in JSON format

Options:
 -y,--yes                           Assume "yes" to prompts and run
                                    non-interactively.

 -q,--quiet                         Suppress all output.

 -f,--force                         Run migrations even if database reports
                                    as already executed.

 --db-timeout     (default 60)      Timeout, in seconds, for all database
                                    operations.

 --lock-timeout   (default 60)      Timeout, in seconds, for nodes waiting on
                                    the leader node to finish running
                                    migrations.

 -c,--conf        (optional string) Configuration file.

 -p,--prefix      (optional string) Override prefix directory.

 --v              verbose
 --vv             debug
`;

function list(state: SchemaState): number {
  if (state.needsBootstrap) {
    log.info(NEEDS_BOOTSTRAP);
    return 3;
  }
  let r = "";
  if (state.executed) {
    log.info(`Executed migrations:\n${formatGroups(state.executed)}`);
    r = "\n";
  }
  if (state.pending) {
    log.info(`${r}Pending migrations:\n${formatGroups(state.pending)}`);
    r = "\n";
  }
  if (state.new) {
    log.info(`${r}New migrations available:\n${formatGroups(state.new)}`);
    r = "\n";
  }
  return 0;
}

async function dispatch(
  s: Session,
  command: string,
  args: ParsedArgs,
  state: SchemaState,
): Promise<number> {
  const ttl = num(args, "lock-timeout") ?? 60;
  const ctx: OpContext = {
    db: s.db,
    catalog: s.catalog,
    faults: readFaults(),
    dbName: s.conf.pg.database,
  };
  switch (command) {
    case "list": {
      const code = list(state);
      if (code !== 0) {
        return code;
      }
      if (state.pending && state.new) {
        log.info("");
        log.warn(
          `Database has pending migrations from a previous upgrade, and new migrations from this upgrade (version ${s.version.raw})`,
        );
        log.info(
          "\nRun 'kong migrations finish' when ready to complete pending migrations (postgres database will be incompatible with the previous Kong version)",
        );
        return 4;
      }
      if (state.pending) {
        log.info("\nRun 'kong migrations finish' when ready");
        return 4;
      }
      if (state.new) {
        log.info("\nRun 'kong migrations up' to proceed");
        return 5;
      }
      return 0;
    }
    case "status":
      process.stdout.write(`${stateJson(state)}\n`);
      return 0;
    case "bootstrap": {
      let st = state;
      if (flag(args, "force")) {
        await reset(ctx, st, ttl);
        st = await loadStateOrThrow(s);
      }
      await bootstrap(ctx, st, ttl);
      return 0;
    }
    case "reset": {
      if (!flag(args, "yes")) {
        if (!process.stdin.isTTY) {
          throw luaError(
            "not a tty: invoke 'reset' non-interactively with the --yes flag",
            "cmd/migrations.lua:205",
          );
        }
        if (
          !state.needsBootstrap &&
          !(await confirm("Are you sure? This operation is irreversible."))
        ) {
          log.info("cancelled");
          return 0;
        }
      }
      return (await reset(ctx, state, ttl)) ? 0 : 1;
    }
    case "up":
      await up(ctx, state, { ttl, force: flag(args, "force") });
      return 0;
    case "finish":
      await finish(ctx, state, { ttl, force: flag(args, "force") });
      return 0;
    default:
      throw new ExitRequest(1);
  }
}

async function loadStateOrThrow(s: Session): Promise<SchemaState> {
  log.verbose("retrieving database schema state...");
  try {
    const state = await loadState(s.db, s.catalog);
    log.verbose("schema state retrieved");
    return state;
  } catch (err) {
    if (err instanceof DbError) {
      throw new KongError(err.message, `${LUA_ROOT}/cmd/migrations.lua:120`);
    }
    throw err;
  }
}

/** Runs one migrations subcommand; returns the exit code. */
export async function migrationsCommand(
  version: KongVersion,
  command: string,
  args: ParsedArgs,
): Promise<number> {
  if (flag(args, "quiet")) {
    log.disable();
  }
  const conf = loadConfLogged(version, str(args, "conf"), str(args, "prefix"));
  const given = num(args, "db-timeout");
  const timeout = given !== undefined ? given * 1000 : conf.pg.timeout;
  const session = await connect(version, conf, timeout);
  try {
    const state = await loadStateOrThrow(session);
    return await dispatch(session, command, args, state);
  } finally {
    await session.db.close();
  }
}
