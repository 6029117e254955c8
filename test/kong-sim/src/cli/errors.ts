/**
 * Errors as Kong's CLI prints them. Kong's top-level handler strips the `file:line: ` that Lua's
 * `error()` prepends and prints `Error: <rest>`; `assert()` messages have no such prefix. So each
 * error carries the text users see and, for --v, where Kong would have raised it.
 */

/** Where Kong's Lua sources live in the official packages and images. */
export const LUA_ROOT = "/usr/local/share/lua/5.1/kong";

/** An error the CLI reports as `Error: <shown>` and exit code 1. */
export class KongError extends Error {
  /**
   * @param shown the text after `Error: ` (without verbose flags)
   * @param origin `file:line` of the Lua `error()` call, shown by --v; absent for assert()s
   */
  constructor(
    readonly shown: string,
    readonly origin?: string,
  ) {
    super(shown);
  }

  /** The full Lua error value, as --v/--vv print it before the traceback. */
  get raw(): string {
    return this.origin ? `${this.origin}: ${this.shown}` : this.shown;
  }
}

/** An `error(msg)` raised at `file:line` under kong/ (e.g. `cmd/utils/migrations.lua:20`). */
export function luaError(msg: string, at: string): KongError {
  return new KongError(msg, `${LUA_ROOT}/${at}`);
}

/** Exits the process with `code` from anywhere in the command code (Kong's `os.exit`). */
export class ExitRequest extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Prints an error the way kong/cmd/init.lua does and returns the exit code (1). */
export function reportError(err: KongError, verbose: boolean): number {
  if (!verbose) {
    process.stderr.write(`Error: ${err.shown}\n`);
    process.stderr.write("\n  Run with --v (verbose) or --vv (debug) for more details\n");
  } else {
    process.stderr.write("Error: \n");
    process.stderr.write(
      `${err.raw}\nstack traceback:\n\t[C]: in function 'error'\n\t${LUA_ROOT}/cmd/init.lua:89: in function <${LUA_ROOT}/cmd/init.lua:89>\n\t[C]: in function 'xpcall'\n\t${LUA_ROOT}/cmd/init.lua:89: in function <${LUA_ROOT}/cmd/init.lua:45>\n\t/usr/local/bin/kong:9: in function 'file_gen'\n`,
    );
  }
  return 1;
}
