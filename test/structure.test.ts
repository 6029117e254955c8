/**
 * The shape of the code (issue: one step table, typed seams): no import circles among the
 * project's modules (type-only imports count: they tie the files together just the same), the
 * layers below the program (contract, plan, config, state, runner) import nothing of Pulumi, and
 * no layer imports from one above it (README "Development" has the map).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";

const root = resolve(__dirname, "..");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith(".ts") ? [path] : [];
  });
}

/** The project files a file imports (relative specifiers resolved to files). */
function imports(file: string): { local: string[]; packages: string[] } {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)].map(
    (m) => m[1]!,
  );
  const local: string[] = [];
  const packages: string[] = [];
  for (const spec of specs) {
    if (!spec.startsWith(".")) {
      packages.push(spec);
      continue;
    }
    const base = resolve(dirname(file), spec);
    const hit = [`${base}.ts`, join(base, "index.ts")].find((p) => existsSync(p));
    if (hit) {
      local.push(hit);
    }
  }
  return { local, packages };
}

const files = [join(root, "index.ts"), ...sources(join(root, "components"))];
const graph = new Map(files.map((f) => [f, imports(f).local]));

describe("code structure", () => {
  it("has no import circles", () => {
    const circles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, "open");
      stack.push(f);
      for (const g of graph.get(f) ?? []) {
        if (state.get(g) === "open") {
          circles.push(
            [...stack.slice(stack.indexOf(g)), g].map((p) => relative(root, p)).join(" → "),
          );
        } else if (!state.has(g)) {
          visit(g);
        }
      }
      stack.pop();
      state.set(f, "done");
    };
    for (const f of files) {
      if (!state.has(f)) {
        visit(f);
      }
    }
    assert.deepEqual(circles, []);
  });

  it("keeps every layer below the program free of Pulumi", () => {
    const pure = files.filter((f) => layerOf(f) !== "program");
    assert.ok(pure.length > 40);
    const offenders = pure.filter((f) => imports(f).packages.some((p) => p.startsWith("@pulumi/")));
    assert.deepEqual(
      offenders.map((f) => relative(root, f)),
      [],
    );
  });

  it("imports only downwards: contract ← plan ← config, state ← runner ← program", () => {
    const upward: string[] = [];
    for (const f of files) {
      const mine = layerOf(f);
      for (const g of graph.get(f) ?? []) {
        const theirs = layerOf(g);
        if (!MAY_IMPORT[mine].includes(theirs)) {
          upward.push(`${relative(root, f)} (${mine}) → ${relative(root, g)} (${theirs})`);
        }
      }
    }
    assert.deepEqual(upward, []);
  });
});

/** The layers, lowest first, by folder under components/ (the rest is the program). */
type Layer = "contract" | "plan" | "config" | "state" | "runner" | "program";

function layerOf(file: string): Layer {
  const m = /^components\/(contract|plan|report|config|state|runner)\//.exec(relative(root, file));
  const folder = m?.[1];
  return folder === undefined ? "program" : folder === "report" ? "plan" : (folder as Layer);
}

/** Which layers each layer may import (its own included). */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  contract: ["contract"],
  plan: ["contract", "plan"],
  config: ["contract", "plan", "config"],
  state: ["contract", "plan", "state"],
  runner: ["contract", "plan", "state", "runner"],
  program: ["contract", "plan", "config", "state", "runner", "program"],
};
