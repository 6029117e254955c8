/**
 * Kong's CLI logger (kong/cmd/utils/log.lua): info lines on stdout without prefix; warnings and
 * errors on stderr as `YYYY/MM/DD HH:MM:SS [warn] msg`; with --v/--vv every line gets the prefix.
 */

/** Kong's log levels, lowest is chattiest. */
export const LEVELS = { debug: 1, verbose: 2, info: 3, warn: 4, error: 5, quiet: 6 } as const;
type LevelName = keyof typeof LEVELS;

let level: number = LEVELS.info;
let saved: number | undefined;

function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function emit(lvl: LevelName, msg: string): void {
  const n = LEVELS[lvl];
  if (n < level) {
    return;
  }
  const text = level < LEVELS.info || n >= LEVELS.warn ? `${stamp()} [${lvl}] ${msg}` : msg;
  if (n < LEVELS.warn) {
    process.stdout.write(`${text}\n`);
  } else {
    process.stderr.write(`${text}\n`);
  }
}

/** The CLI logger; `log.info` is Kong's plain `log(...)`. */
export const log = {
  debug: (msg: string) => emit("debug", msg),
  verbose: (msg: string) => emit("verbose", msg),
  info: (msg: string) => emit("info", msg),
  warn: (msg: string) => emit("warn", msg),
  error: (msg: string) => emit("error", msg),
  /** `--v` → verbose, `--vv` → debug. */
  setLevel(name: LevelName): void {
    level = LEVELS[name];
  },
  /** True when --v or --vv was given (changes how errors are printed). */
  isVerbose: () => level < LEVELS.info || (saved !== undefined && saved < LEVELS.info),
  /** `-q` and the commands that silence config loading. */
  disable(): void {
    if (saved === undefined) {
      saved = level;
      level = LEVELS.quiet;
    }
  },
  enable(): void {
    level = saved ?? level;
    saved = undefined;
  },
};
