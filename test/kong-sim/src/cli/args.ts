/**
 * Command-line parsing in the manner of Penlight's lapp, which Kong uses: `-x value`, `--long value`,
 * `--long=value`, flags, defaults, and lapp's refusal of unknown parameters.
 */

/** One option of a command. */
export interface OptSpec {
  readonly long: string;
  readonly short?: string;
  readonly kind: "flag" | "string" | "number";
  /** lapp `(default X)`. */
  readonly default?: string;
}

/** Parsed arguments: option values by long name, and the positional words. */
export interface ParsedArgs {
  readonly opts: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly positional: readonly string[];
}

/** A lapp usage error: printed as `kong: <msg>` plus the usage text, exit 1. */
export class UsageError extends Error {}

/** `--v` and `--vv`, accepted by every command (kong/cmd/init.lua). */
export const UNIVERSAL: readonly OptSpec[] = [
  { long: "v", kind: "flag" },
  { long: "vv", kind: "flag" },
];

/** Parses `argv` against `specs` (plus --v/--vv); throws UsageError for unknown or bad input. */
export function parseArgs(specs: readonly OptSpec[], argv: readonly string[]): ParsedArgs {
  const all = [...specs, ...UNIVERSAL];
  const opts: Record<string, string | number | boolean | undefined> = {};
  for (const s of all) {
    opts[s.long] =
      s.kind === "flag" ? false : s.default === undefined ? undefined : convert(s, s.default);
  }
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? "";
    if (!word.startsWith("-") || word === "-") {
      positional.push(word);
      continue;
    }
    const [name = "", inline] = word.replace(/^--?/, "").split(/=(.*)/s, 2);
    const spec = word.startsWith("--")
      ? all.find((s) => s.long === name)
      : (all.find((s) => s.short === name) ?? all.find((s) => s.long === name && name.length > 1));
    if (!spec) {
      throw new UsageError(`unrecognized parameter: ${word}`);
    }
    if (spec.kind === "flag") {
      opts[spec.long] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) {
      throw new UsageError(`no value for parameter: ${word}`);
    }
    opts[spec.long] = convert(spec, value);
  }
  return { opts, positional };
}

function convert(spec: OptSpec, value: string): string | number {
  if (spec.kind !== "number") {
    return value;
  }
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) {
    throw new UsageError(`unable to convert to number: ${value}`);
  }
  return n;
}

/** Reads a string option. */
export function str(a: ParsedArgs, name: string): string | undefined {
  const v = a.opts[name];
  return typeof v === "string" ? v : undefined;
}

/** Reads a number option (its default when absent). */
export function num(a: ParsedArgs, name: string): number | undefined {
  const v = a.opts[name];
  return typeof v === "number" ? v : undefined;
}

/** Reads a flag. */
export function flag(a: ParsedArgs, name: string): boolean {
  return a.opts[name] === true;
}
