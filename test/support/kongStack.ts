/**
 * A real kong-gateway stack for end-to-end tests: this repository's program (index.ts) in a
 * throwaway project directory of its own (its own stacks/ folder and file backend), the `local`
 * runtime, a `local` database on a free port, and Kong binaries from the stand-in — exactly as
 * stacks/Pulumi.local.yaml configures the demo.
 */
import type { ConfigMap, Stack } from "@pulumi/pulumi/automation";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, stackFor } from "./engine";
import { freePort } from "./postgres";

/** A stack plus where it keeps its state. */
export interface KongStack {
  readonly stack: Stack;
  readonly stateDir: string;
  readonly basePort: number;
  readonly dbPort: number;
  /** Proxy URL of node i. */
  proxyUrl(i?: number): string;
  /** Admin URL of node i. */
  adminUrl(i?: number): string;
  /** Sets kong-gateway:version. */
  setVersion(version: string): Promise<void>;
}

let nextBase = 21000 + (process.pid % 50) * 200;

/** Creates a fresh stack named `name` at `version`. */
export async function createKongStack(name: string, version: string, extra: ConfigMap = {}, env: Record<string, string> = {}): Promise<KongStack> {
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
  const basePort = nextBase;
  nextBase += 100;
  const dbPort = await freePort();
  const stack = await stackFor(dir, join(base, "backend"), name, env);
  await stack.setAllConfig({
    "kong-gateway:version": { value: version },
    "kong-gateway:nodes": { value: "2" },
    "kong-gateway:stateDir": { value: stateDir },
    "kong-gateway:database": { value: JSON.stringify({ mode: "local", port: dbPort }) },
    "kong-gateway:local": { value: JSON.stringify({ install: `${repoRoot}/test/kong-sim/install {version} {dir}`, basePort }) },
    "kong-gateway:dbPassword": { value: "e2e-db-password", secret: true },
    ...extra,
  });
  return {
    stack,
    stateDir,
    basePort,
    dbPort,
    proxyUrl: (i = 0) => `http://127.0.0.1:${basePort + 10 * i}`,
    adminUrl: (i = 0) => `http://127.0.0.1:${basePort + 10 * i + 1}`,
    setVersion: (v) => stack.setConfig("kong-gateway:version", { value: v }),
  };
}
