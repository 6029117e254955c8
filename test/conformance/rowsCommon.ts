/**
 * Small pieces several row modules share: running `kong migrations …` with the kit's settings,
 * the `migrations status` row, and bootstrapping as a scenario's setup.
 */
import type { Kit, Row } from "./kit";

/** Runs `kong migrations <sub> [...]` with the kit's settings, on the Kong under test. */
export const migrations =
  (...args: string[]) =>
  (kit: Kit) =>
    kit.kong.target.kong(["migrations", ...args], kit.env());

/** `kong migrations status` (3.0+): exit 0 and exactly these top-level keys. */
export function statusRow(name: string, keys: readonly string[], needsBootstrap: boolean): Row {
  return {
    name,
    since: [3, 0],
    expected: `exit 0 · JSON {${keys.join(", ")}}, needs_bootstrap ${needsBootstrap}`,
    async check(kit) {
      const r = await migrations("status")(kit);
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(r.stdout) as Record<string, unknown>;
      } catch {
        return { ok: false, seen: `exit ${r.code} · stdout is not JSON`, details: [r.stdout] };
      }
      const seenKeys = Object.keys(json);
      const ok =
        r.code === 0 &&
        json.needs_bootstrap === needsBootstrap &&
        [...seenKeys].sort().join() === [...keys].sort().join();
      return {
        ok,
        seen: `exit ${r.code} · JSON {${seenKeys.join(", ")}}, needs_bootstrap ${String(json.needs_bootstrap)}`,
        details: ok ? [] : [`stdout: ${r.stdout}`],
      };
    },
  };
}

/** Bootstraps the kit's database with the Kong under test (setup: failing throws). */
export const bootstrapped = async (kit: Kit, env: Record<string, string> = {}) => {
  const r = await kit.kong.target.kong(["migrations", "bootstrap"], kit.env(env), 600);
  if (r.code !== 0) {
    throw new Error(`kong migrations bootstrap exited ${r.code}: ${r.stderr.trim()}`);
  }
};
