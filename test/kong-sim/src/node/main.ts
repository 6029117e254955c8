/**
 * Entry point of a started node (what nginx is for real Kong), spawned detached by `kong start`:
 * loads `<prefix>/.kong_env`, builds its configuration from PostgreSQL, binds the proxy, admin and
 * status listeners, writes `<prefix>/pids/nginx.pid`, then tells `kong start` over IPC.
 * SIGQUIT drains (stop accepting, finish requests, exit); SIGTERM/SIGINT stop at once.
 */
import { rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join, resolve } from "node:path";
import { loadedPlugins } from "../catalog";
import { loadConf } from "../conf";
import { readFaults } from "../faults";
import type { Listener } from "../listeners";
import { Db } from "../pg";
import { parseVersion } from "../version";
import { handleAdmin } from "./admin";
import { ErrorLog } from "./errlog";
import { handleProxy } from "./proxy";
import { Runtime } from "./runtime";
import { handleStatus } from "./status";

type Handler = (rt: Runtime, req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** Messages sent to `kong start`. */
export type StartMessage = { type: "ready" } | { type: "error"; message: string };

function tell(msg: StartMessage): void {
  process.send?.(msg);
}

function listen(rt: Runtime, l: Listener, handler: Handler): Promise<Server> {
  const server = createServer((req, res) => {
    rt.counters.total++;
    rt.counters.writing++;
    res.on("close", () => rt.counters.writing--);
    Promise.resolve(handler(rt, req, res)).catch((err: unknown) => {
      rt.log.write("error", `[kong] ${(err as Error).message}`);
      if (!res.headersSent) {
        res.writeHead(500).end();
      }
    });
  });
  server.keepAliveTimeout = 60000;
  server.on("connection", (sock) => {
    rt.counters.accepted++;
    rt.counters.handled++;
    rt.counters.active++;
    sock.on("close", () => rt.counters.active--);
  });
  return new Promise((res, rej) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const why =
        err.code === "EADDRINUSE"
          ? "98: Address already in use"
          : err.code === "EACCES"
            ? "13: Permission denied"
            : err.message;
      rej(
        new Error(
          `nginx: [emerg] bind() to ${l.ip}:${l.port} failed (${why})\nnginx: [emerg] still could not bind()`,
        ),
      );
    });
    server.listen(l.port, l.ip, () => res(server));
  });
}

async function main(): Promise<void> {
  const [versionRaw = "", prefix = ""] = process.argv.slice(2);
  const version = parseVersion(versionRaw);
  const conf = loadConf(version, { path: join(prefix, ".kong_env") });
  const log = new ErrorLog(resolve(prefix, conf.raw.get("proxy_error_log") ?? "logs/error.log"));
  const faults = readFaults();
  if (faults.failStart) {
    throw new Error(
      "nginx: [error] init_by_lua error: /usr/local/share/lua/5.1/kong/init.lua:618: simulated start failure (KONG_SIM_FAIL_START)\nstack traceback:\n\t[C]: in function 'error'\n\t/usr/local/share/lua/5.1/kong/init.lua:618: in function 'init'\n\tinit_by_lua:3: in main chunk",
    );
  }
  const db = await Db.connect(conf.pg);
  const rt = new Runtime(version, conf, db, loadedPlugins(version, conf.plugins), faults, log);
  await rt.rebuild();
  const servers: Server[] = [];
  const groups: [readonly Listener[], Handler][] = [
    [conf.proxyListen, handleProxy],
    [conf.adminListen, handleAdmin],
    [conf.statusListen, handleStatus],
  ];
  try {
    for (const [listeners, handler] of groups) {
      for (const l of listeners.filter((x) => !x.ssl)) {
        servers.push(await listen(rt, l, handler));
      }
    }
  } catch (err) {
    servers.forEach((s) => s.close());
    throw err;
  }
  const pidFile = join(prefix, "pids", "nginx.pid");
  writeFileSync(pidFile, `${process.pid}\n`);
  process.on("exit", () => rmSync(pidFile, { force: true }));
  const refresh = setInterval(() => void rt.rebuild(), 1000);
  if (faults.unreadyAfterMs !== undefined) {
    setTimeout(() => {
      rt.simulatedOutage = true;
      rt.dbReachable = false;
      log.write(
        "error",
        "[kong] [PostgreSQL error] connection refused (KONG_SIM_UNREADY_AFTER_MS)",
      );
    }, faults.unreadyAfterMs).unref();
  }
  const stopNow = () => {
    clearInterval(refresh);
    servers.forEach((s) => {
      s.close();
      s.closeAllConnections();
    });
    log.write("notice", "signal 15 (SIGTERM) received, exiting");
    process.exit(0);
  };
  process.on("SIGTERM", stopNow);
  process.on("SIGINT", stopNow);
  process.on("SIGHUP", () => void rt.rebuild());
  process.on("SIGQUIT", () => {
    log.write("notice", "signal 3 (SIGQUIT) received, shutting down");
    rt.draining = true;
    clearInterval(refresh);
    let open = servers.length;
    const idle = setInterval(() => servers.forEach((s) => s.closeIdleConnections()), 100);
    servers.forEach((s) =>
      s.close(() => {
        open--;
        if (open === 0) {
          clearInterval(idle);
          log.write("notice", "gracefully shutting down");
          void db.close().finally(() => process.exit(0));
        }
      }),
    );
    servers.forEach((s) => s.closeIdleConnections());
    if (open === 0) {
      process.exit(0);
    }
  });
  process.on("disconnect", () => undefined);
  log.write(
    "notice",
    `[kong] init.lua: Kong ${version.raw} (stand-in) started with ${servers.length} listeners`,
  );
  tell({ type: "ready" });
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  tell({ type: "error", message });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 50);
});
