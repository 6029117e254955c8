/**
 * kong-gateway as a library: the repository packed with `npm pack`, the tarball installed into a
 * copy of examples/consumer (a Pulumi program of its own, with its own config names), then
 * 3.5.0 installed and upgraded to 3.6.0 through the real engine. Nothing of the checkout is
 * reachable from the program but the Kong stand-in's installer, passed in config: the step runner
 * and the local database's scripts must come from the installed package.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { E2E_PASSWORD, outputs, progress, versionAt } from "../support/e2e";
import { repoRoot, stackFor } from "../support/engine";
import { freePort } from "../support/postgres";

/** Runs a command to its end; rejects with its output when it fails. */
function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((done, fail) =>
    execFile(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err
        ? fail(new Error(`${cmd} ${args.join(" ")} failed:\n${stdout}\n${stderr}`))
        : done(stdout),
    ),
  );
}

/** Every file under `dir` with its size and modification time, to tell that nothing changed. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => {
      const s = statSync(join(dir, f));
      return `${f} ${s.size} ${s.mtimeMs}`;
    })
    .sort();
}

/** A resource of the stack's checkpoint, by the last part of its URN. */
async function resource(
  stack: Stack,
  name: string,
): Promise<{ inputs: Record<string, unknown> } | undefined> {
  const state = await stack.exportStack();
  const resources =
    (state.deployment as { resources?: { urn: string; inputs: Record<string, unknown> }[] })
      .resources ?? [];
  return resources.find((r) => r.urn.endsWith(`::${name}`));
}

describe(
  "another Pulumi program imports KongGateway from the packed package",
  { timeout: 900_000 },
  () => {
    let base: string;
    let project: string;
    let pkg: string;
    let stack: Stack;
    let basePort: number;
    const adminUrl = (i: number) => `http://127.0.0.1:${basePort + 10 * i + 1}`;

    before(async () => {
      base = mkdtempSync(join(tmpdir(), "kong-gw-consumer-"));
      // The local PostgreSQL runs as an unprivileged user when tests run as root: it must reach it.
      chmodSync(base, 0o755);
      progress("consumer: npm pack (builds dist/)");
      await run("npm", ["pack", "--silent", "--pack-destination", base], repoRoot);
      const tarball = readdirSync(base).find((f) => f.endsWith(".tgz"));
      assert.ok(tarball, "npm pack wrote a tarball");
      project = join(base, "project");
      cpSync(join(repoRoot, "examples", "consumer"), project, {
        recursive: true,
        filter: (src) => !/\/(node_modules|\.state)$/.test(src),
      });
      const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as {
        dependencies: Record<string, string>;
      };
      manifest.dependencies["kong-gateway"] = `file:${join(base, tarball)}`;
      writeFileSync(join(project, "package.json"), JSON.stringify(manifest, null, 2));
      progress("consumer: npm install of the tarball");
      await run(
        "npm",
        ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
        project,
      );
      pkg = join(project, "node_modules", "kong-gateway");
      basePort = await freePort();
      const backend = join(base, "backend");
      mkdirSync(backend);
      stack = await stackFor(project, backend, "dev");
      await stack.setAllConfig({
        "consumer:kongVersion": { value: "3.5.0" },
        "consumer:kongInstall": { value: join(repoRoot, "test/kong-sim/install") },
        "consumer:basePort": { value: String(basePort) },
        "consumer:dbPort": { value: String(await freePort()) },
        "consumer:dbPassword": { value: E2E_PASSWORD, secret: true },
      });
    });

    after(async () => {
      if (stack) {
        progress("consumer: destroying the stack");
        await stack
          .destroy()
          .catch((e: Error) =>
            process.stderr.write(`destroy failed: ${e.message.slice(0, 500)}\n`),
          );
      }
      if (project) {
        // Whatever a failed test left running: the nodes and the database under the program's .state.
        spawnSync("pkill", ["-f", join(project, ".state")]);
        spawnSync("bash", [
          join(repoRoot, "scripts/pg-server.sh"),
          "stop",
          join(project, ".state", "dev", "postgres"),
        ]);
      }
      // The copy holds its own node_modules (about 120 MB).
      if (base) {
        rmSync(base, { recursive: true, force: true });
      }
    });

    it("ships the library, its declarations, the runner bundle and the database scripts, and nothing else", () => {
      for (const f of [
        "dist/components/index.js",
        "dist/components/index.d.ts",
        "dist/runner/run.js",
        "scripts/local-db.sh",
        "scripts/pg-server.sh",
      ]) {
        assert.ok(statSync(join(pkg, f)).isFile(), `${f} is in the package`);
      }
      const top = readdirSync(pkg).sort();
      assert.deepEqual(top, ["README.md", "dist", "package.json", "scripts"]);
      assert.deepEqual(readdirSync(join(pkg, "scripts")).sort(), ["local-db.sh", "pg-server.sh"]);
    });

    it("importing it has no side effect: no resource, no build, no file written", async () => {
      const before = snapshot(pkg);
      const probe = `
      const pulumi = require("@pulumi/pulumi");
      const registered = [];
      pulumi.runtime.setMocks(
        { newResource: (a) => { registered.push(a.type); return { id: a.name, state: { outputs: {}, ...a.inputs } }; },
          call: (a) => a.inputs },
        "consumer", "dev", false, "organization");
      const kg = require("kong-gateway");
      const plan = kg.planChange({
        deployed: { version: "3.5.0", nodes: 2, plugins: "bundled" },
        target: { version: "3.6.0", nodes: 2, plugins: "bundled" },
        databaseBytes: 1048576,
      });
      setTimeout(() => console.log(JSON.stringify({
        registered, exports: Object.keys(kg).sort(), kind: plan.kind, to: plan.to,
        esbuild: (() => { try { require.resolve("esbuild"); return true; } catch { return false; } })(),
      })), 200);`;
      const out = JSON.parse(await run(process.execPath, ["-e", probe], project)) as {
        registered: string[];
        exports: string[];
        kind: string;
        to: string;
        esbuild: boolean;
      };
      assert.deepEqual(out.registered, [], "importing registers no resource");
      assert.ok(out.exports.includes("KongGateway") && out.exports.includes("previousDeployment"));
      assert.deepEqual([out.kind, out.to], ["upgrade", "3.6.0"], "planChange runs offline");
      assert.equal(out.esbuild, false, "the program has no bundler: the runner comes prebuilt");
      assert.deepEqual(snapshot(pkg), before, "importing writes nothing into the package");
    });

    it("installs 3.5.0 with the package's own runner and database scripts", async () => {
      progress("consumer: up 3.5.0");
      const res = await stack.up();
      assert.equal(res.summary.result, "succeeded");
      assert.equal(await versionAt(adminUrl(0)), "3.5.0");
      assert.equal(await versionAt(adminUrl(1)), "3.5.0");
      const node = await resource(stack, "edge-3.5.0-node-0");
      assert.equal(node?.inputs.dir, pkg, "runner commands run in the installed package");
      assert.equal(node?.inputs.create, "node dist/runner/run.js node-start node-0");
      const db = await resource(stack, "edge-db-server");
      assert.match(
        String(db?.inputs.create),
        new RegExp(`^bash ${pkg}/scripts/local-db\\.sh create `),
      );
    });

    it("upgrades to 3.6.0: both nodes serve it, the report says so", async () => {
      await stack.setConfig("consumer:kongVersion", { value: "3.6.0" });
      progress("consumer: up 3.6.0");
      const res = await stack.up();
      assert.equal(res.summary.result, "succeeded");
      assert.equal(await versionAt(adminUrl(0)), "3.6.0");
      assert.equal(await versionAt(adminUrl(1)), "3.6.0");
      const o = await outputs(stack);
      const last = o.lastUpgrade as { kind: string; from: string; to: string; outcome: string };
      assert.deepEqual([last.kind, last.from, last.to], ["upgrade", "3.5.0", "3.6.0"]);
      assert.equal(o.version, "3.6.0");
    });

    it("a second up has no changes", async () => {
      const res = await stack.up({ diff: true });
      assert.deepEqual(
        Object.keys(res.summary.resourceChanges ?? {}).sort(),
        ["read", "same"],
        res.stdout,
      );
    });
  },
);
