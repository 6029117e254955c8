/**
 * `kong start|stop|quit|restart|health` (kong/cmd/*.lua): the prefix, its `.kong_env` and
 * `pids/nginx.pid`, the schema checks before start, and signals to the node process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundledPlugins, loadedPlugins } from "../catalog";
import { kongEnvText, loadConf, type KongConf } from "../conf";
import type { StartMessage } from "../node/main";
import { DbError } from "../pg";
import { isUpToDate, formatGroups, loadState, type SchemaState } from "../state";
import type { KongVersion } from "../version";
import { flag, num, str, type ParsedArgs } from "./args";
import { KongError, LUA_ROOT } from "./errors";
import { log } from "./log";
import { NEEDS_BOOTSTRAP, up } from "./migrate-ops";
import { readFaults } from "../faults";
import { connect, loadConfLogged } from "./setup";

const START = `${LUA_ROOT}/cmd/start.lua`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Kong's kill.is_running (the pid file names a live process), made safe where Kong is not: Kong
 * trusts `kill -0`, but pids wrap (32768 here), so a pid file left by a killed node can name an
 * unrelated process, which `kong stop`/`quit`/`reload` would then signal. Here the process must
 * also be this prefix's node: its command line (`node kong-node.js <version> <prefix>`) names
 * the prefix. A stale file is removed and the node is not running.
 */
export function runningPid(prefix: string): number | undefined {
  const file = join(prefix, "pids", "nginx.pid");
  let pid: number;
  try {
    pid = Number(readFileSync(file, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) {
    return undefined;
  }
  if (namesPrefix(pid, prefix)) {
    return pid;
  }
  rmSync(file, { force: true });
  return undefined;
}

/** Whether process `pid` is alive and has `prefix` as a word of its command line. */
function namesPrefix(pid: number, prefix: string): boolean {
  const norm = (path: string) => path.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return false;
  }
  return cmdline.split("\0").some((word) => norm(word) === norm(prefix));
}

function prepare(conf: KongConf): void {
  for (const d of [conf.prefix, join(conf.prefix, "logs"), join(conf.prefix, "pids")]) {
    mkdirSync(d, { recursive: true });
  }
  writeFileSync(join(conf.prefix, ".kong_env"), kongEnvText(conf));
  const listen = (name: string, ls: KongConf["proxyListen"]) =>
    `# ${name}: ${ls.map((l) => l.listener).join(", ") || "off"}`;
  writeFileSync(
    join(conf.prefix, "nginx.conf"),
    `# Written by the Kong stand-in (test/kong-sim); no nginx runs here.\n${listen("proxy", conf.proxyListen)}\n${listen("admin", conf.adminListen)}\n${listen("status", conf.statusListen)}\n`,
  );
}

function checkState(state: SchemaState): void {
  if (isUpToDate(state)) {
    return;
  }
  if (state.needsBootstrap) {
    throw new KongError(NEEDS_BOOTSTRAP, `${LUA_ROOT}/cmd/utils/migrations.lua:16`);
  }
  if (state.new) {
    throw new KongError(
      "New migrations available; run 'kong migrations up' to proceed",
      `${LUA_ROOT}/cmd/utils/migrations.lua:20`,
    );
  }
}

/**
 * Spawns the node process and resolves once its listeners are bound. Detached with its output in
 * `logs/error.log` for `kong start`; for `docker-start` (`onSpawn` given) attached to this
 * process's stdout/stderr (the container's output), and handed to `onSpawn` at once so a stop
 * signal that arrives during init reaches it.
 */
function spawnNode(
  version: KongVersion,
  conf: KongConf,
  onSpawn?: (child: ChildProcess) => void,
): Promise<void> {
  const out = onSpawn ? "inherit" : openSync(join(conf.prefix, "logs", "error.log"), "a");
  const child = spawn(
    process.execPath,
    [join(__dirname, "kong-node.js"), version.raw, conf.prefix],
    {
      detached: !onSpawn,
      stdio: ["ignore", out, out, "ipc"],
    },
  );
  onSpawn?.(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new KongError(
          `${START}:81: nginx: [error] the stand-in node did not start within 30 s`,
          `${START}:99`,
        ),
      );
    }, 30000);
    const done = (err?: Error) => {
      clearTimeout(timer);
      child.removeAllListeners();
      if (child.connected) {
        child.disconnect();
      }
      if (!onSpawn) {
        child.unref();
      }
      if (err) {
        reject(err);
      } else {
        resolve();
      }
    };
    child.on("message", (m: StartMessage) =>
      m.type === "ready" ? done() : done(new KongError(m.message, `${START}:81`)),
    );
    child.on("exit", (code) =>
      done(
        new KongError(
          `nginx: [error] node exited with code ${code} (see ${join(conf.prefix, "logs", "error.log")})`,
          `${START}:81`,
        ),
      ),
    );
  });
}

/** `kong start`. */
export async function start(version: KongVersion, args: ParsedArgs): Promise<number> {
  const conf = loadConfLogged(version, str(args, "conf"), str(args, "prefix"));
  if (runningPid(conf.prefix) !== undefined) {
    throw new KongError(`Kong is already running in ${conf.prefix}`, `${START}:38`);
  }
  await checkAndLaunch(version, args, conf, () => spawnNode(version, conf));
  log.info("Kong started");
  return 0;
}

/**
 * `kong docker-start`: what the official images run as their CMD (their entrypoint prepares the
 * prefix and execs nginx with `daemon off`). The same checks and prefix as `start`, then the node
 * runs attached: its output is the container's, this process (the container's main process)
 * lives exactly as long as it and exits with its code. SIGQUIT is passed on (graceful, like `kong
 * quit`: the container's STOPSIGNAL), SIGTERM/SIGINT too (fast stop). No "already running"
 * refusal: the container holds one node, and a pid file left by a killed container is stale.
 */
export async function dockerStart(version: KongVersion, args: ParsedArgs): Promise<number> {
  const conf = loadConfLogged(version, str(args, "conf"), str(args, "prefix"));
  let child: ChildProcess | undefined;
  let stopping: NodeJS.Signals | undefined;
  for (const sig of ["SIGQUIT", "SIGTERM", "SIGINT"] as const) {
    process.on(sig, () => {
      stopping = sig;
      if (child) {
        child.kill(sig);
      } else {
        // Stopped before the node exists: nothing to drain.
        process.exit(0);
      }
    });
  }
  await checkAndLaunch(version, args, conf, () =>
    spawnNode(version, conf, (c) => {
      child = c;
    }),
  );
  log.info("Kong started");
  const node = child!;
  return new Promise((resolve) => {
    const exited = (code: number | null, signal: NodeJS.Signals | null) =>
      resolve(code ?? (signal === stopping ? 0 : 128 + signalNumber(signal)));
    if (node.exitCode !== null || node.signalCode !== null) {
      exited(node.exitCode, node.signalCode);
    } else {
      node.once("exit", exited);
    }
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGTERM: 15,
  };
  return numbers[signal ?? "SIGKILL"] ?? 9;
}

/** The checks of `kong start` (database, migrations, plugins), the prefix, then `launch`. */
async function checkAndLaunch(
  version: KongVersion,
  args: ParsedArgs,
  conf: KongConf,
  launch: () => Promise<void>,
): Promise<void> {
  const s = await connect(version, conf, (num(args, "db-timeout") ?? 60) * 1000);
  let prepared = false;
  try {
    let state: SchemaState;
    try {
      state = await loadState(s.db, s.catalog);
    } catch (err) {
      throw err instanceof DbError ? new KongError(err.message, `${START}:48`) : err;
    }
    prepare(conf);
    prepared = true;
    if (!isUpToDate(state) && flag(args, "run-migrations")) {
      const ctx = { db: s.db, catalog: s.catalog, faults: readFaults(), dbName: conf.pg.database };
      await up(ctx, state, { ttl: num(args, "lock-timeout") ?? 60, force: false });
      state = await loadState(s.db, s.catalog);
    }
    checkState(state);
    if (state.missing) {
      log.info(`Database is missing some migrations:\n${formatGroups(state.missing)}`);
    }
    if (state.pending) {
      log.info(
        `${state.missing ? "\n\n" : ""}Database has pending migrations:\n${formatGroups(state.pending)}`,
      );
    }
    const unknown = [...loadedPlugins(version, conf.plugins)].filter(
      (p) => !bundledPlugins(version).includes(p),
    );
    if (unknown[0] !== undefined) {
      throw new KongError(
        `nginx: [error] init_by_lua error: ${LUA_ROOT}/init.lua:553: error loading plugin schemas: on plugin '${unknown[0]}': ${unknown[0]} plugin is enabled but not installed;\n  module 'kong.plugins.${unknown[0]}.handler' not found`,
        `${START}:81`,
      );
    }
    log.debug(`starting nginx: nginx -p ${conf.prefix} -c nginx.conf`);
    await launch();
    log.debug("nginx started");
  } catch (err) {
    log.verbose("could not start Kong, stopping services");
    log.verbose("stopped services");
    // start.lua re-raises what its xpcall caught: the inner `file:line: ` stays in the message.
    throw err instanceof KongError && prepared ? new KongError(err.raw, `${START}:99`) : err;
  } finally {
    await s.db.close();
  }
}

/** Loads `<prefix>/.kong_env` as quit/stop/health do (defaults give the prefix). */
function runningConf(version: KongVersion, prefix: string | undefined): KongConf {
  log.disable();
  const def = loadConf(version, { prefix });
  log.enable();
  if (!existsSync(def.prefix)) {
    throw new KongError(`no such prefix: ${def.prefix}`, `${LUA_ROOT}/cmd/stop.lua:16`);
  }
  return loadConf(version, { path: join(def.prefix, ".kong_env") });
}

/** `kong stop` (SIGTERM). */
export async function stop(version: KongVersion, args: ParsedArgs, quiet = false): Promise<number> {
  const conf = runningConf(version, str(args, "prefix"));
  const pid = runningPid(conf.prefix);
  if (pid === undefined) {
    throw new KongError(
      `nginx not running in prefix: ${conf.prefix}`,
      `${LUA_ROOT}/cmd/stop.lua:27`,
    );
  }
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 40 && runningPid(conf.prefix) !== undefined; i++) {
    await sleep(50);
  }
  if (!quiet) {
    log.info("Kong stopped");
  }
  return 0;
}

/** `kong quit` (SIGQUIT, then SIGTERM after --timeout). */
export async function quit(version: KongVersion, args: ParsedArgs): Promise<number> {
  const conf = runningConf(version, str(args, "prefix"));
  const wait = Math.max(num(args, "wait") ?? 0, 0);
  if (wait > 0) {
    log.verbose(`waiting ${wait} seconds before quitting`);
    const until = Date.now() + wait * 1000;
    while (Date.now() < until) {
      await sleep(200);
      if (runningPid(conf.prefix) === undefined) {
        log.error("Kong stopped while waiting (unexpected)");
        return 0;
      }
    }
  }
  const pid = runningPid(conf.prefix);
  if (pid === undefined) {
    throw new KongError(
      `nginx not running in prefix: ${conf.prefix}`,
      `${LUA_ROOT}/cmd/quit.lua:33`,
    );
  }
  process.kill(pid, "SIGQUIT");
  log.verbose("waiting for nginx to finish processing requests");
  const until = Date.now() + Math.max(num(args, "timeout") ?? 10, 1) * 1000;
  let running = true;
  do {
    await sleep(200);
    running = runningPid(conf.prefix) !== undefined;
  } while (running && Date.now() < until);
  if (running) {
    log.verbose(`nginx is still running at ${conf.prefix}, forcing shutdown`);
    process.kill(pid, "SIGTERM");
    log.info("Timeout, Kong stopped forcefully");
    return 0;
  }
  log.info("Kong stopped (gracefully)");
  return 0;
}

/** `kong health` (checks the process only). */
export function health(version: KongVersion, args: ParsedArgs): number {
  log.disable();
  const def = loadConf(version, { prefix: str(args, "prefix") });
  log.enable();
  if (!existsSync(def.prefix)) {
    throw new KongError(`no such prefix: ${def.prefix}`, `${LUA_ROOT}/cmd/health.lua:15`);
  }
  if (!existsSync(join(def.prefix, ".kong_env"))) {
    throw new KongError(`Kong is not running at ${def.prefix}`, `${LUA_ROOT}/cmd/health.lua:17`);
  }
  const running = runningPid(def.prefix) !== undefined;
  log.info(`${"nginx".padEnd(12, ".")}${running ? "running" : "not running"}`);
  log.info("");
  if (!running) {
    throw new KongError(`Kong is not running at ${def.prefix}`, `${LUA_ROOT}/cmd/health.lua:36`);
  }
  log.info(`Kong is healthy at ${def.prefix}`);
  return 0;
}

/** `kong restart`: stop quietly, wait up to 5 s, start. */
export async function restart(version: KongVersion, args: ParsedArgs): Promise<number> {
  log.disable();
  const prefix = str(args, "prefix");
  const conf = prefix
    ? loadConf(version, { path: join(prefix, ".kong_env") })
    : loadConf(version, { path: str(args, "conf") });
  await stop(version, { ...args, opts: { ...args.opts, prefix: conf.prefix } }, true).catch(
    () => undefined,
  );
  log.enable();
  const until = Date.now() + 5000;
  while (runningPid(conf.prefix) !== undefined && Date.now() < until) {
    await sleep(100);
  }
  return start(version, { ...args, opts: { ...args.opts, prefix: conf.prefix } });
}
