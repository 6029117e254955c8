/**
 * Real processes for pid-file tests: an unrelated one (`sleep`) that a stale pid file can name
 * once pids wrap, and a stand-in for a Kong node whose command line names its prefix.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { eventually } from "./eventually";

/** A process this test started, and how to end it. */
export interface LiveProcess {
  readonly pid: number;
  /** Whether it still runs: /proc has it, and not as a zombie (killed, not yet reaped). */
  alive(): boolean;
  /** Waits (up to 15 s) for it to be gone, e.g. killed by the code under test; whether it is. */
  gone(): Promise<boolean>;
  /** Ends it (SIGKILL) and waits for that. */
  stop(): Promise<void>;
}

/**
 * Starts `sleep 300`, or with `prefix` a node process whose command line ends with `prefix` as
 * Kong's `nginx -p <prefix>` and the stand-in's `kong-node.js <version> <prefix>` do. Resolves
 * once it has exec'd: before that, a child's command line is still this test's.
 */
export async function liveProcess(prefix?: string): Promise<LiveProcess> {
  const child: ChildProcess = prefix
    ? spawn(process.execPath, ["-e", "setInterval(() => {}, 1e6)", prefix], { stdio: "ignore" })
    : spawn("sleep", ["300"], { stdio: "ignore" });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const pid = child.pid!;
  const cmdline = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      return "";
    }
  };
  const execd = prefix
    ? (c: string) => c.endsWith(`${prefix}\0`)
    : (c: string) => c.startsWith("sleep");
  if (!execd(await eventually(async () => cmdline(), execd))) {
    child.kill("SIGKILL");
    throw new Error(`process ${pid} did not start (command line: ${cmdline()})`);
  }
  const alive = () => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
      return false;
    }
  };
  return {
    pid,
    alive,
    gone: async () =>
      !(await eventually(
        async () => alive(),
        (a) => !a,
      )),
    stop: async () => {
      child.kill("SIGKILL");
      await exited;
    },
  };
}
