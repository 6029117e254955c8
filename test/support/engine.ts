/**
 * The real Pulumi engine for tests: the CLI and plugins built into .tools/ by scripts/setup.sh,
 * driven through the Automation API on a file backend in a temp directory. No mocks.
 */
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The repository root. */
export const repoRoot = resolve(__dirname, "../..");

/** Environment every engine run in tests uses. */
export function engineEnv(backendDir: string): Record<string, string> {
  return {
    PATH: `${join(repoRoot, ".tools/bin")}:${process.env.PATH ?? ""}`,
    PULUMI_HOME: join(repoRoot, ".tools/pulumi-home"),
    PULUMI_BACKEND_URL: `file://${backendDir}`,
    PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
}

/** The project's CLI. */
export async function pulumiCommand(): Promise<PulumiCommand> {
  return PulumiCommand.get({ root: join(repoRoot, ".tools"), skipVersionCheck: true });
}

/** Creates a throwaway TypeScript project (Pulumi.yaml, package.json, program) sharing our node_modules. */
export function scratchProject(name: string, program: string): { dir: string; backend: string } {
  const base = mkdtempSync(join(tmpdir(), `kong-gw-${name}-`));
  const dir = join(base, "project");
  const backend = join(base, "state");
  mkdirSync(dir);
  mkdirSync(backend);
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
  writeFileSync(join(dir, "Pulumi.yaml"), `name: ${name}\nruntime: nodejs\n`);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, main: "index.ts" }));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: "ES2022",
        module: "commonjs",
        moduleResolution: "node",
        esModuleInterop: true,
        skipLibCheck: true,
      },
    }),
  );
  writeFileSync(join(dir, "index.ts"), program);
  return { dir, backend };
}

/** Creates (or selects) a stack of a project directory on its own file backend. */
export async function stackFor(
  dir: string,
  backend: string,
  stackName: string,
  extraEnv: Record<string, string> = {},
): Promise<Stack> {
  return LocalWorkspace.createOrSelectStack(
    { stackName, workDir: dir },
    { pulumiCommand: await pulumiCommand(), envVars: { ...engineEnv(backend), ...extraEnv } },
  );
}
