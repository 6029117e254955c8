/**
 * Where this package's own files are at run time: the step runner bundle every command resource
 * executes, and the helper scripts of the local database. Both ship inside the package, so a
 * program that imports KongGateway needs nothing of its own beside it.
 *
 * The step runner is one JavaScript file: every step then starts in about 0.1 s instead of the
 * ~1 s TypeScript-on-the-fly costs, and five steps sit inside the downtime window. It is built
 * ahead of time, never by the program: by `npm run setup` into `.tools/runner/run.js` for this
 * repository's own stacks (rebuilt when stale, scripts/build-runner.ts), and by `npm run build`
 * into `dist/runner/run.js` for the package. Importing this module reads nothing; the functions
 * below touch the disk only when a component calls them.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, extname, join, relative } from "node:path";

/** The bundle of a source checkout (this repository run through TypeScript), relative to its root. */
export const SOURCE_RUNNER_BUNDLE = ".tools/runner/run.js";
/** The bundle of the built package (`npm run build`, `npm pack`), relative to its root. */
export const PACKAGE_RUNNER_BUNDLE = "dist/runner/run.js";

/** Where the running code of this package lives, and the bundle that goes with it. */
export interface PackageLocation {
  /** The package root: package.json, scripts/, and dist/ or components/. */
  readonly root: string;
  /** `compiled`: loaded from dist/ (an installed package); `source`: this repository's .ts files. */
  readonly layout: "compiled" | "source";
  /**
   * The runner bundle, relative to `root`. Command resources run `node <bundle> <step>` in
   * `root`, so their command text holds no absolute path: it stays the same wherever the
   * package is installed, and it is the text this repository's stacks have always had.
   */
  readonly runnerBundle: string;
}

/**
 * The package's location, from the path of this module (`components/runnerBundle.ts` in a
 * checkout, `dist/components/runnerBundle.js` in the package). Pure.
 */
export function packageLocation(moduleFile: string = __filename): PackageLocation {
  const compiled = extname(moduleFile) === ".js";
  const components = dirname(moduleFile);
  return compiled
    ? {
        root: dirname(dirname(components)),
        layout: "compiled",
        runnerBundle: PACKAGE_RUNNER_BUNDLE,
      }
    : { root: dirname(components), layout: "source", runnerBundle: SOURCE_RUNNER_BUNDLE };
}

/** A helper script shipped with the package (scripts/local-db.sh, scripts/pg-server.sh). */
export function packageScript(name: string, loc: PackageLocation = packageLocation()): string {
  return join(loc.root, "scripts", name);
}

/** Modification time of the newest `.ts` file under `dir` (0 when there is none). */
export function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      newest = Math.max(newest, newestSource(path));
    } else if (entry.name.endsWith(".ts")) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

/**
 * Why the runner bundle cannot be used, or undefined: missing, or (in a checkout) older than a
 * source under components/, which the runner bundles. The message says how to build it.
 */
export function runnerBundleProblem(loc: PackageLocation = packageLocation()): string | undefined {
  const bundle = join(loc.root, loc.runnerBundle);
  const fix =
    loc.layout === "source"
      ? `run 'npm run setup' (or 'npx tsx scripts/build-runner.ts') in ${loc.root}`
      : `the kong-gateway package at ${loc.root} is incomplete; reinstall it, or run 'npm run build' where it was packed`;
  if (!existsSync(bundle)) {
    return `the step runner bundle ${bundle} is missing: ${fix}`;
  }
  if (loc.layout === "source") {
    const sources = newestSource(join(loc.root, "components"));
    if (statSync(bundle).mtimeMs < sources) {
      return `the step runner bundle ${relative(loc.root, bundle)} is older than the sources under components/: ${fix}`;
    }
  }
  return undefined;
}
