/**
 * Driving Kong's CLI exactly as ../shared/KONG.md describes it: the `KONG_*` environment of a
 * node or a migration job, and the migration state read from `kong migrations list` exit codes.
 */
import { ExecResult, tail } from "./exec";
import type { NodeRuntime } from "../runtimes/nodeRuntime";
import { DatabaseSpec, NodeSpec, StepSpec } from "../../contract/spec";

/** The database state `kong migrations list` reports through its exit code (KONG.md §1). */
export type MigrationState = "up-to-date" | "needs-bootstrap" | "pending" | "new" | "error";

/** `KONG_*` settings for the database and plugins (the password is added by the machine). */
export function databaseSettings(db: DatabaseSpec, plugins: string): Record<string, string> {
  const env: Record<string, string> = {
    KONG_DATABASE: "postgres",
    KONG_PG_HOST: db.host,
    KONG_PG_PORT: String(db.port),
    KONG_PG_USER: db.user,
    KONG_PG_DATABASE: db.database,
    KONG_PG_SSL: db.ssl,
    KONG_PLUGINS: plugins,
  };
  if (db.schema) {
    env.KONG_PG_SCHEMA = db.schema;
  }
  return env;
}

/** The non-secret `KONG_*` settings of one node (recorded in its prefix for a later restart). */
export function nodeSettings(
  spec: Pick<StepSpec, "database" | "plugins">,
  node: NodeSpec,
): Record<string, string> {
  const settings: Record<string, string> = {
    KONG_DATABASE: "postgres",
    KONG_PG_HOST: spec.database.host,
    KONG_PG_PORT: String(spec.database.port),
    KONG_PG_USER: spec.database.user,
    KONG_PG_DATABASE: spec.database.database,
    KONG_PG_SSL: spec.database.ssl,
    KONG_PLUGINS: spec.plugins,
    KONG_PROXY_LISTEN: node.proxyListen,
    KONG_ADMIN_LISTEN: node.adminListen,
    KONG_STATUS_LISTEN: node.statusListen,
  };
  if (spec.database.schema) {
    settings.KONG_PG_SCHEMA = spec.database.schema;
  }
  return settings;
}

/** Reads the migration state with `kong migrations list` (KONG.md §1: exit 0, 3, 4 or 5). */
export async function migrationState(
  rt: Pick<NodeRuntime, "kong">,
  dbTimeoutSeconds: number,
): Promise<{ state: MigrationState; result: ExecResult }> {
  const result = await rt.kong(["migrations", "list", "--db-timeout", String(dbTimeoutSeconds)], {
    timeoutSeconds: dbTimeoutSeconds + 30,
  });
  const state: MigrationState =
    result.code === 0
      ? "up-to-date"
      : result.code === 3
        ? "needs-bootstrap"
        : result.code === 4
          ? "pending"
          : result.code === 5
            ? "new"
            : "error";
  return { state, result };
}

/**
 * The version `kong version` printed: `3.6.1`, or `Kong Enterprise 3.4.3.12` for Enterprise
 * builds (the last word either way).
 */
export function reportedVersion(stdout: string): { line: string; version: string } {
  const line = stdout.trim().split("\n")[0] ?? "";
  return { line, version: line.split(" ").at(-1) ?? "" };
}

/**
 * A description of a failed Kong command for error messages: Kong's own `Error: …` line (it
 * comes before a Lua stack traceback, which says nothing to an operator), else the output's end.
 */
export function describeFailure(what: string, r: ExecResult): string {
  const error = (r.stderr + "\n" + r.stdout).split("\n").find((l) => l.startsWith("Error: "));
  return `${what} exited ${r.code}: ${error ?? (tail(r.stderr || r.stdout) || "(no output)")}`;
}
