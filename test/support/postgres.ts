/**
 * A throwaway PostgreSQL server for tests: a real `postgres` from Debian's package, in a temp
 * directory, on a free loopback port, driven by scripts/pg-server.sh (the same script the `local`
 * stack uses). Nothing here is a mock.
 */
import { execFile } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);
const script = resolve(__dirname, "../../scripts/pg-server.sh");

/** Connection settings of a running throwaway server, and how to stop it. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** Superuser name (`postgres`). */
  readonly user: string;
  /** Superuser password. */
  readonly password: string;
  /** The server's own directory (data, logs). */
  readonly dir: string;
  /** Creates a login role and a database it owns; returns the settings to reach it. */
  createDatabase(name: string, owner?: string, ownerPassword?: string): Promise<DatabaseSettings>;
  /** Runs SQL as the superuser in `database` and returns the rows. */
  query<T extends object = Record<string, unknown>>(
    database: string,
    sql: string,
    params?: unknown[],
  ): Promise<T[]>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** What a Kong node (or any client) needs to reach one database. */
export interface DatabaseSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
}

/**
 * A free TCP port on 127.0.0.1 whose next 29 ports are free too, outside the ephemeral range, and
 * reserved: no other call, in this process or in any other test process on this machine, is handed
 * an overlapping run while this process lives (a lock file per run of 30 in the temp directory,
 * taken over only when the process that holds it is gone). Checking that a port is free is not
 * enough on its own: two calls made before either listens would both see it free.
 */
export async function freePort(): Promise<number> {
  // Below the kernel's ephemeral range (32768–60999 here), so no client connection's source port
  // can take one of them later, and with the next PORT_SPAN ports free as well: tests put a node's
  // admin and status listeners, and a second node, at base+1, +2, +10, ….
  const slots = Math.floor(10000 / PORT_SPAN);
  const start = Math.floor(Math.random() * slots);
  for (let i = 0; i < slots; i++) {
    const slot = (start + i) % slots;
    const base = 10000 + slot * PORT_SPAN;
    if (held.has(slot) || !reserve(slot)) {
      continue;
    }
    held.add(slot);
    if (await allFree(base, PORT_SPAN)) {
      return base;
    }
  }
  throw new Error("freePort: no free run of ports found between 10000 and 20000");
}

/**
 * A reserved run of at least `ports` consecutive free ports (a multiple of 30, as {@link freePort}
 * hands them out), for clusters whose nodes listen at base+10i for more than 3 nodes.
 */
export async function freePortRun(ports: number): Promise<number> {
  const runs = Math.ceil(ports / PORT_SPAN);
  const slots = Math.floor(10000 / PORT_SPAN);
  const start = Math.floor(Math.random() * slots);
  for (let i = 0; i + runs <= slots; i++) {
    const first = (start + i) % (slots - runs + 1);
    const taken: number[] = [];
    for (let k = 0; k < runs; k++) {
      if (held.has(first + k) || !reserve(first + k)) {
        break;
      }
      held.add(first + k);
      taken.push(first + k);
    }
    if (taken.length === runs && (await allFree(10000 + first * PORT_SPAN, runs * PORT_SPAN))) {
      return 10000 + first * PORT_SPAN;
    }
  }
  throw new Error(`freePortRun: no free run of ${ports} ports found between 10000 and 20000`);
}

/** How many consecutive ports {@link freePort} checks. */
const PORT_SPAN = 30;

/** The runs this process was handed (or found busy): never handed out again. */
const held = new Set<number>();

const lockDir = join(tmpdir(), "kong-gateway-test-ports");

/** Takes run `slot` for this process, unless a live process holds it. */
function reserve(slot: number): boolean {
  mkdirSync(lockDir, { recursive: true, mode: 0o1777 });
  const file = join(lockDir, String(slot));
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(file, String(process.pid), { flag: "wx" });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        return false;
      }
    }
    const owner = Number(readFileOr(file));
    if (owner === process.pid || alive(owner)) {
      return false;
    }
    try {
      unlinkSync(file);
    } catch {
      return false;
    }
  }
  return false;
}

function readFileOr(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function allFree(base: number, span: number): Promise<boolean> {
  for (let port = base; port < base + span; port++) {
    const ok = await new Promise<boolean>((done) => {
      const srv = createServer();
      srv.unref();
      srv.once("error", () => done(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => done(true)));
    });
    if (!ok) {
      return false;
    }
  }
  return true;
}

/** Who may reach a {@link startPostgres} server besides this machine's loopback clients. */
export interface PostgresOptions {
  /**
   * Listen on every address (`listen_addresses = '*'`), so containers reach the server at their
   * network's gateway address — which only exists once the engine has created the bridge.
   * @default false (127.0.0.1 only)
   */
  readonly listenAll?: boolean;
  /** CIDRs let in with the password (pg_hba.conf), e.g. container subnets. @default [] */
  readonly allow?: readonly string[];
}

/** Starts a fresh server; call `stop()` when done (e.g. in an `after` hook). */
export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresServer> {
  const base = mkdtempSync(join(tmpdir(), "kong-gw-pg-"));
  // The server runs as the unprivileged `postgres` user when tests run as root: it must reach it.
  chmodSync(base, 0o755);
  const dir = join(base, "pg");
  const password = "test-superuser-password";
  const port = await freePort();
  const env = {
    ...process.env,
    PGPASSWORD: password,
    PG_LISTEN_ADDRESSES: opts.listenAll ? "*" : "127.0.0.1",
    PG_HBA_ALLOW: (opts.allow ?? []).join(" "),
  };
  await run("bash", [script, "start", dir, String(port)], { env });
  const host = "127.0.0.1";

  const query = async <T extends object>(database: string, sql: string, params: unknown[] = []) => {
    const client = new pg.Client({ host, port, user: "postgres", password, database });
    await client.connect();
    try {
      const res = await client.query(sql, params);
      return res.rows as T[];
    } finally {
      await client.end();
    }
  };

  return {
    host,
    port,
    user: "postgres",
    password,
    dir,
    query,
    async createDatabase(name, owner = "kong", ownerPassword = "kong-test-password") {
      const roles = await query<{ n: number }>(
        "postgres",
        "SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1",
        [owner],
      );
      if (roles[0]?.n === 0) {
        await query("postgres", `CREATE ROLE "${owner}" LOGIN PASSWORD '${ownerPassword}'`);
      }
      await query("postgres", `CREATE DATABASE "${name}" OWNER "${owner}"`);
      return { host, port, database: name, user: owner, password: ownerPassword };
    },
    async stop() {
      await run("bash", [script, "stop", dir], { env }).catch(() => undefined);
      rmSync(base, { recursive: true, force: true });
    },
  };
}
