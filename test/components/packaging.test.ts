/**
 * What lets another program import KongGateway: the package finds its step runner and scripts
 * from its own location (a checkout or an installed dist/), says how to build a missing or stale
 * runner, and a chain's frozen settings read back from the stack give the spec's exact text.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { chainSettingsOf, withChainSettings } from "../../components/chain";
import { runnerCommand, runnerDir } from "../../components/runnerCommand";
import { packageLocation, packageScript, runnerBundleProblem } from "../../components/runnerBundle";
import { oneNodeSpec, specBase } from "../support/runner";

const repo = resolve(__dirname, "../..");

/** A package tree with components/x.ts and, when `bundle` is given, a runner bundle there. */
function tree(layout: "source" | "compiled", bundleAge?: "older" | "newer") {
  const root = mkdtempSync(join(tmpdir(), "kong-gw-pkg-"));
  mkdirSync(join(root, "components"));
  writeFileSync(join(root, "components", "x.ts"), "");
  const moduleFile =
    layout === "source"
      ? join(root, "components", "runnerBundle.ts")
      : join(root, "dist", "components", "runnerBundle.js");
  const loc = packageLocation(moduleFile);
  if (bundleAge) {
    const bundle = join(root, loc.runnerBundle);
    mkdirSync(join(bundle, ".."), { recursive: true });
    writeFileSync(bundle, "");
    const t = Date.now() / 1000 + (bundleAge === "older" ? -60 : 60);
    utimesSync(bundle, t, t);
  }
  return { root, loc };
}

describe("the package's own files", () => {
  it("a checkout runs .tools/runner/run.js from its root: the command text its stacks always had", () => {
    assert.deepEqual(packageLocation(join(repo, "components", "runnerBundle.ts")), {
      root: repo,
      layout: "source",
      runnerBundle: ".tools/runner/run.js",
    });
    assert.equal(runnerDir(), repo);
    assert.equal(
      runnerCommand("node-start", "node-0"),
      "node .tools/runner/run.js node-start node-0",
    );
    assert.equal(packageScript("local-db.sh"), join(repo, "scripts", "local-db.sh"));
  });

  it("an installed package runs dist/runner/run.js from the package, wherever it is installed", () => {
    const loc = packageLocation("/app/node_modules/kong-gateway/dist/components/runnerBundle.js");
    assert.deepEqual(loc, {
      root: "/app/node_modules/kong-gateway",
      layout: "compiled",
      runnerBundle: "dist/runner/run.js",
    });
    assert.equal(
      packageScript("local-db.sh", loc),
      "/app/node_modules/kong-gateway/scripts/local-db.sh",
    );
  });

  it("a missing bundle is refused with how to build it", () => {
    const src = tree("source");
    assert.match(
      runnerBundleProblem(src.loc) ?? "",
      /step runner bundle .*\.tools\/runner\/run\.js is missing: run 'npm run setup'/,
    );
    const pkg = tree("compiled");
    assert.match(
      runnerBundleProblem(pkg.loc) ?? "",
      /dist\/runner\/run\.js is missing: the kong-gateway package at .* is incomplete; reinstall it/,
    );
  });

  it("a checkout's bundle older than a source is refused; an installed one is never rebuilt", () => {
    assert.match(
      runnerBundleProblem(tree("source", "older").loc) ?? "",
      /\.tools\/runner\/run\.js is older than the sources under components\/: run 'npm run setup'/,
    );
    assert.equal(runnerBundleProblem(tree("source", "newer").loc), undefined);
    assert.equal(runnerBundleProblem(tree("compiled", "older").loc), undefined);
  });
});

describe("frozen chain settings read back from the stack", () => {
  it("give the same spec text even when the engine returns their keys sorted", () => {
    const base = specBase(
      { host: "127.0.0.1", port: 5432, database: "kong", user: "kong", password: "x" },
      "/state",
    );
    const spec = oneNodeSpec(base, "upgrade", "3.6.0", { kongBin: "/kong", port: 18000 });
    const sorted = (v: unknown): unknown =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, x]) => [k, sorted(x)]),
          )
        : v;
    const readBack = sorted(chainSettingsOf(spec)) as ReturnType<typeof chainSettingsOf>;
    assert.equal(JSON.stringify(withChainSettings(spec, readBack)), JSON.stringify(spec));
  });
});
