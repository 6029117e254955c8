/**
 * The `kong` executable of the stand-in (kong/cmd/init.lua): dispatches commands, parses options the
 * lapp way, and prints errors as Kong does. The version it plays is in `VERSION` beside this file.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseVersion, type KongVersion } from "../version";
import { parseArgs, UsageError, flag, str, type OptSpec, type ParsedArgs } from "./args";
import { configCommand } from "./config";
import { ExitRequest, KongError, reportError } from "./errors";
import { dockerStart, health, quit, restart, runningPid, start, stop } from "./lifecycle";
import { log } from "./log";
import {
  MIGRATIONS_USAGE,
  migrationsCommand,
  migrationsOptions,
  migrationsSubcommands,
} from "./migrations";
import { loadConfLogged } from "./setup";

const p = (long: string, short?: string): OptSpec => ({ long, short, kind: "string" });
const startOpts: OptSpec[] = [
  p("conf", "c"),
  p("prefix", "p"),
  p("nginx-conf"),
  { long: "run-migrations", kind: "flag" },
  { long: "db-timeout", kind: "number", default: "60" },
  { long: "lock-timeout", kind: "number", default: "60" },
];

interface Command {
  readonly opts: (v: KongVersion) => OptSpec[];
  readonly subs?: (v: KongVersion) => string[];
  readonly usage: string;
  readonly run: (v: KongVersion, args: ParsedArgs, sub?: string) => Promise<number> | number;
}

const COMMANDS: Record<string, Command> = {
  start: { opts: () => startOpts, usage: "Usage: kong start [OPTIONS]\n", run: start },
  restart: { opts: () => startOpts, usage: "Usage: kong restart [OPTIONS]\n", run: restart },
  "docker-start": {
    opts: () => startOpts,
    usage: "Usage: kong docker-start [OPTIONS]\n",
    run: dockerStart,
  },
  stop: {
    opts: () => [p("prefix", "p")],
    usage: "Usage: kong stop [OPTIONS]\n",
    run: (v, a) => stop(v, a),
  },
  quit: {
    opts: () => [
      p("prefix", "p"),
      { long: "timeout", short: "t", kind: "number", default: "10" },
      { long: "wait", short: "w", kind: "number", default: "0" },
    ],
    usage: "Usage: kong quit [OPTIONS]\n",
    run: quit,
  },
  health: { opts: () => [p("prefix", "p")], usage: "Usage: kong health [OPTIONS]\n", run: health },
  reload: {
    opts: () => [p("conf", "c"), p("prefix", "p"), p("nginx-conf")],
    usage: "Usage: kong reload [OPTIONS]\n",
    run: (v, a) => {
      const conf = loadConfLogged(v, str(a, "conf"), str(a, "prefix"));
      const pid = runningPid(conf.prefix);
      if (pid === undefined) {
        throw new KongError(`nginx not running in prefix: ${conf.prefix}`);
      }
      process.kill(pid, "SIGHUP");
      log.info("Kong reloaded");
      return 0;
    },
  },
  check: {
    opts: () => [],
    usage: "Usage: kong check <conf>\n",
    run: (v, a) => {
      loadConfLogged(v, a.positional[0]);
      log.info(`configuration at ${a.positional[0] ?? "the default location"} is valid`);
      return 0;
    },
  },
  migrations: {
    opts: migrationsOptions,
    subs: migrationsSubcommands,
    usage: MIGRATIONS_USAGE,
    run: (v, a, sub) => migrationsCommand(v, sub ?? "", a),
  },
  config: {
    opts: () => [p("conf", "c"), p("prefix", "p")],
    subs: () => ["db_import", "db_export"],
    usage:
      "Usage: kong config COMMAND [OPTIONS]\n\nThe available commands are:\n  db_import <file>\n  db_export [<file>]\n",
    run: (v, a, sub) => configCommand(v, sub ?? "", a),
  },
  version: {
    opts: () => [{ long: "all", short: "a", kind: "flag" }],
    usage: "Usage: kong version [OPTIONS]\n",
    run: (v, a) => {
      const name = v.enterprise === undefined ? "Kong" : "Kong Enterprise";
      if (flag(a, "all")) {
        process.stdout.write(
          `${name}: ${v.raw}\nngx_lua: 10026\nnginx: 1025003\nLua: LuaJIT 2.1.0-20231117\n`,
        );
      } else {
        process.stdout.write(
          v.enterprise === undefined ? `${v.raw}\n` : `Kong Enterprise ${v.raw}\n`,
        );
      }
      return 0;
    },
  },
};

const HELP = `Usage: kong COMMAND [OPTIONS]

The available commands are:
 ${Object.keys(COMMANDS).sort().join("\n ")}

Options:
 --v              verbose
 --vv             debug
`;

async function run(argv: string[]): Promise<number> {
  const version = parseVersion(readFileSync(join(__dirname, "VERSION"), "utf8"));
  const [name, ...rest] = argv;
  const cmd = name === undefined ? undefined : COMMANDS[name];
  if (!cmd) {
    process.stderr.write(name === undefined ? HELP : `No such command: ${name}\n\n${HELP}`);
    return 1;
  }
  let args: ParsedArgs;
  try {
    args = parseArgs(cmd.opts(version), rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`kong: ${err.message}\n\n${cmd.usage}`);
      return 1;
    }
    throw err;
  }
  let sub: string | undefined;
  if (cmd.subs) {
    sub = args.positional[0];
    if (sub === undefined) {
      process.stderr.write(cmd.usage);
      return 1;
    }
    if (!cmd.subs(version).includes(sub)) {
      process.stderr.write(`No such command for ${name}: ${sub}\n\n${cmd.usage}`);
      return 1;
    }
    args = { ...args, positional: args.positional.slice(1) };
  }
  if (flag(args, "v")) {
    log.setLevel("verbose");
  } else if (flag(args, "vv")) {
    log.setLevel("debug");
  }
  log.verbose(`Kong: ${version.raw}`);
  log.debug("ngx_lua: 10026");
  log.debug("nginx: 1025003");
  log.debug("Lua: LuaJIT 2.1.0-20231117");
  try {
    return await cmd.run(version, args, sub);
  } catch (err) {
    if (err instanceof ExitRequest) {
      return err.code;
    }
    if (err instanceof KongError) {
      return reportError(err, flag(args, "v") || flag(args, "vv"));
    }
    throw err;
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `Error: ${err instanceof Error ? err.message : String(err)}\n\n  Run with --v (verbose) or --vv (debug) for more details\n`,
    );
    process.exit(1);
  },
);
