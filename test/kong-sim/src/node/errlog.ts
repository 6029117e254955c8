/** The node's `logs/error.log`, in nginx's format: `YYYY/MM/DD HH:MM:SS [level] pid#0: message`. */
import { appendFileSync, mkdirSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** nginx log levels the stand-in writes. */
export type NginxLevel = "debug" | "info" | "notice" | "warn" | "error" | "crit" | "emerg";

/** Appends lines to one log file; never throws (a node keeps serving when its disk is full). */
export class ErrorLog {
  /** `/dev/stdout` and `/dev/stderr` (Kong's docker settings) write to the inherited fd. */
  private readonly fd: number | undefined;

  constructor(private readonly path: string) {
    // Opening /dev/stderr fails (ENXIO) when it is a socket, as node's child stdio pipes are.
    this.fd = { "/dev/stdout": 1, "/dev/stderr": 2 }[path];
    if (this.fd === undefined) {
      mkdirSync(dirname(path), { recursive: true });
    }
  }

  /** Writes one line. */
  write(level: NginxLevel, msg: string): void {
    const d = new Date();
    const p = (n: number) => String(n).padStart(2, "0");
    const when = `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    try {
      const line = `${when} [${level}] ${process.pid}#0: ${msg}\n`;
      if (this.fd === undefined) {
        appendFileSync(this.path, line);
      } else {
        writeSync(this.fd, line);
      }
    } catch {
      // nothing sensible to do
    }
  }
}
