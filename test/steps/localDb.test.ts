/**
 * The `local` database (scripts/local-db.sh over scripts/pg-server.sh) for real, as root from a
 * private directory — where root usually clones (its 0700 home, a `mktemp -d`). PostgreSQL will
 * not run as root and the `postgres` user cannot enter such a directory, so the server lives in
 * the postgres user's home and the state directory names it. Checked: the Kong role logs in with
 * its password, a rotated password works, the server process holds no password in its
 * environment, and `delete` removes the server's directory too.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import pg from "pg";
import { freePort } from "../support/postgres";

const script = resolve(__dirname, "../../scripts/local-db.sh");

function localDb(args: string[], password?: string): Promise<{ code: number; out: string }> {
  return new Promise((done) =>
    execFile(
      "bash",
      [script, ...args],
      { env: { ...process.env, ...(password ? { KONG_PG_PASSWORD: password } : {}) } },
      (err, stdout, stderr) =>
        done({ code: err ? Number(err.code ?? 1) : 0, out: `${stdout}${stderr}` }),
    ),
  );
}

async function login(port: number, password: string): Promise<string> {
  const c = new pg.Client({ host: "127.0.0.1", port, user: "kong", password, database: "kong" });
  await c.connect();
  try {
    return (await c.query<{ u: string }>("SELECT current_user AS u")).rows[0]!.u;
  } finally {
    await c.end();
  }
}

/** Pids of processes whose command line mentions `text`. */
function processesWith(text: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const asRoot = process.getuid?.() === 0;

describe(
  "the local database from a private (0700) directory",
  { skip: !asRoot && "needs root" },
  () => {
    const base = mkdtempSync(join(tmpdir(), "kong-gw-private-"));
    chmodSync(base, 0o700);
    const dir = join(base, "state", "postgres");
    after(async () => {
      await localDb(["delete", dir]);
      rmSync(base, { recursive: true, force: true });
    });

    it("starts as the postgres user outside it, rotates the password, and delete removes both", async () => {
      const port = await freePort();
      const created = await localDb(["create", dir, String(port), "kong", "kong"], "first pw$");
      assert.equal(created.code, 0, created.out);
      assert.equal(await login(port, "first pw$"), "kong");
      const serverDir = readFileSync(join(dir, "server-dir"), "utf8").trim();
      assert.ok(!serverDir.startsWith(base), `the server lives outside ${base}: ${serverDir}`);
      assert.ok(existsSync(join(serverDir, "data", "PG_VERSION")));

      const server = processesWith(join(serverDir, "data"));
      assert.ok(server.length > 0, "the server runs");
      for (const pid of server) {
        const env = readFileSync(`/proc/${pid}/environ`, "utf8");
        assert.ok(!env.includes("first pw$"), `server process ${pid} holds the role's password`);
        assert.ok(!/(^|\0)PGPASSWORD=/.test(env), `server process ${pid} holds a PGPASSWORD`);
      }

      const rotated = await localDb(["create", dir, String(port), "kong", "kong"], "second-pw");
      assert.equal(rotated.code, 0, rotated.out);
      assert.equal(await login(port, "second-pw"), "kong");
      await assert.rejects(() => login(port, "first pw$"), /password authentication failed/);

      const deleted = await localDb(["delete", dir]);
      assert.equal(deleted.code, 0, deleted.out);
      assert.equal(existsSync(serverDir), false, `${serverDir} removed`);
      assert.equal(existsSync(dir), false, `${dir} removed`);
      assert.deepEqual(processesWith(join(serverDir, "data")), [], "the server stopped");
    });
  },
);
