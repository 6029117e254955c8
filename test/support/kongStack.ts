/**
 * A real kong-gateway stack for end-to-end tests: this repository's program (index.ts) in a
 * throwaway project directory of its own (its own stacks/ folder and file backend), the `local`
 * runtime, a `local` database on a free port, and Kong binaries from the stand-in — exactly as
 * stacks/Pulumi.local.yaml configures the demo.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, stackFor } from "./engine";
import { E2E_PASSWORD } from "./e2e";
import { freePort, freePortRun } from "./postgres";

/** A stack plus where it keeps its state. */
export interface KongStack {
  readonly stack: Stack;
  readonly stateDir: string;
  readonly basePort: number;
  readonly dbPort: number;
  /** The Kong role's password as the stack configures it now (a test may rotate it). */
  dbPassword: string;
  /** Proxy URL of node i. */
  proxyUrl(i?: number): string;
  /** Admin URL of node i. */
  adminUrl(i?: number): string;
  /** Sets kong-gateway:version. */
  setVersion(version: string): Promise<void>;
  /**
   * `pulumi destroy`, then stops whatever a failed test left running (nodes, the database) and
   * removes the stack's temp directory.
   */
  dispose(): Promise<void>;
}

/**
 * Creates a fresh stack named `name` at `version`; `extra` config may depend on the stack's own
 * temp directory (e.g. to give SSH "hosts" their trees beside it).
 */
export async function createKongStack(
  name: string,
  version: string,
  extra: Record<string, unknown> | ((base: string) => Record<string, unknown>) = {},
  env: Record<string, string> = {},
): Promise<KongStack> {
  const base = mkdtempSync(join(tmpdir(), `kong-gw-e2e-${name}-`));
  chmodSync(base, 0o755);
  const dir = join(base, "project");
  mkdirSync(join(dir, "stacks"), { recursive: true });
  mkdirSync(join(base, "backend"));
  for (const f of ["index.ts", "node_modules", "components", "package.json", "tsconfig.json"]) {
    symlinkSync(join(repoRoot, f), join(dir, f));
  }
  copyFileSync(join(repoRoot, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  const stateDir = join(base, "state");
  const more = typeof extra === "function" ? extra(base) : extra;
  // Node i listens at basePort + 10i (+1 admin, +2 status), and a test may move the listeners up
  // (reconfigure: basePort + 50): the stack owns at least 100 ports from basePort, a run reserved
  // across test processes (freePortRun), so files running at once never share a port.
  const nodes = Number(more["kong-gateway:nodes"] ?? 2);
  const basePort = await freePortRun(Math.max(100, 10 * nodes));
  const dbPort = await freePort();
  const stack = await stackFor(dir, join(base, "backend"), name, env);
  // Objects go into the stack file as YAML objects (JSON is YAML), as a user would write them.
  const config: Record<string, unknown> = {
    "kong-gateway:version": version,
    "kong-gateway:nodes": 2,
    "kong-gateway:stateDir": stateDir,
    "kong-gateway:database": { mode: "local", port: dbPort },
    "kong-gateway:local": {
      install: `${repoRoot}/test/kong-sim/install {version} {dir}`,
      basePort,
    },
    ...more,
  };
  writeFileSync(join(dir, "stacks", `Pulumi.${name}.yaml`), JSON.stringify({ config }, null, 2));
  await stack.setConfig("kong-gateway:dbPassword", { value: E2E_PASSWORD, secret: true });
  return {
    stack,
    stateDir,
    basePort,
    dbPort,
    dbPassword: E2E_PASSWORD,
    proxyUrl: (i = 0) => `http://127.0.0.1:${basePort + 10 * i}`,
    adminUrl: (i = 0) => `http://127.0.0.1:${basePort + 10 * i + 1}`,
    setVersion: (v) => stack.setConfig("kong-gateway:version", { value: v }),
    async dispose() {
      await stack
        .destroy()
        .catch((e: Error) =>
          process.stderr.write(`destroy of ${name} failed: ${e.message.slice(0, 500)}\n`),
        );
      spawnSync("pkill", ["-f", stateDir]);
      spawnSync("bash", [
        join(repoRoot, "scripts/pg-server.sh"),
        "stop",
        join(stateDir, "postgres"),
      ]);
      // The project, backend, state (dumps, node prefixes, the database) and any hosts' trees.
      rmSync(base, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}
