/**
 * The install script and the parts of the `kong` CLI that need no database: accepted and refused
 * versions, idempotence, running by absolute path with an empty environment, `kong version`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { installKong, kong } from "./helpers";

const exec = promisify(execFile);
const INSTALL = resolve(__dirname, "install");

async function install(version: string, dir: string) {
  try {
    const r = await exec(INSTALL, [version, dir]);
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test("install refuses versions the stand-in does not know, with a clear message", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kong-sim-refuse-"));
  for (const v of ["2.7.0", "3.11.0", "4.0.0", "latest", "3.4", "3.4.3.12.1"]) {
    const r = await install(v, dir);
    assert.equal(r.code, 1, v);
    assert.equal(
      r.stderr,
      `install: Kong version '${v}' is not supported by the stand-in; it knows 2.8.x and 3.0.x … 3.10.x (open source X.Y.Z, or Enterprise X.Y.Z.N such as 3.4.3.12)\n`,
    );
  }
});

test("install is idempotent: an installed version is not rebuilt", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kong-sim-idem-"));
  assert.equal((await install("3.4.2", dir)).code, 0);
  const built = statSync(join(dir, "lib", "kong.js")).mtimeMs;
  assert.equal((await install("3.4.2", dir)).code, 0);
  assert.equal(statSync(join(dir, "lib", "kong.js")).mtimeMs, built, "not rebuilt");
  assert.equal((await install("3.5.0", dir)).code, 0);
  assert.equal(
    (await kong(join(dir, "bin", "kong"), ["version"], {})).stdout,
    "3.5.0\n",
    "another version replaces it",
  );
});

test("kong runs by absolute path from any directory with an empty environment", async () => {
  const bin = await installKong("3.6.1");
  const elsewhere = mkdtempSync(join(tmpdir(), "kong-sim-cwd-"));
  assert.deepEqual(await kong(bin, ["version"], {}, elsewhere), {
    code: 0,
    stdout: "3.6.1\n",
    stderr: "",
  });
  assert.deepEqual(await kong(bin, ["version", "-a"], {}, "/"), {
    code: 0,
    stdout: "Kong: 3.6.1\nngx_lua: 10026\nnginx: 1025003\nLua: LuaJIT 2.1.0-20231117\n",
    stderr: "",
  });
});

test("Enterprise versions print as Kong Enterprise does", async () => {
  const bin = await installKong("3.4.3.12");
  assert.deepEqual(await kong(bin, ["version"], {}), {
    code: 0,
    stdout: "Kong Enterprise 3.4.3.12\n",
    stderr: "",
  });
});

test("unknown command and missing subcommand", async () => {
  const bin = await installKong("3.6.1");
  const unknown = await kong(bin, ["frobnicate"], {});
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^No such command: frobnicate\n\nUsage: kong COMMAND \[OPTIONS\]\n/);
  const bare = await kong(bin, ["migrations"], {});
  assert.equal(bare.code, 1);
  assert.match(bare.stderr, /^Usage: kong migrations COMMAND/);
});
