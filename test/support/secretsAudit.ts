/**
 * The secrets audit's instruments: a sampler that reads the argv and environment of every process
 * on this machine (`/proc/<pid>/cmdline`, `/proc/<pid>/environ`) in a loop for as long as it runs,
 * and a scan of every file under some directories. Both look for "needles" (the plaintext
 * secrets) and sort each occurrence into an allowance (a place the project hands the secret to on
 * purpose) or a finding. Reading other users' `environ` needs root; the audit runs as root.
 */
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";

/** A secret to look for: a label and the strings that give it away. */
export interface Needle {
  readonly name: string;
  readonly values: readonly string[];
}

/** One process as one sweep saw it. */
export interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly argv: string[];
  /** The raw environment (`K=V\0…`); empty when unreadable. */
  readonly environ: string;
}

/** Where a secret was seen. */
export interface Hit {
  readonly needle: string;
  /** `argv of <command>`, `environment of <command>`, or a file path. */
  readonly where: string;
  /** The allowance that covers it, or undefined for a finding. */
  readonly allowance?: string;
}

/**
 * Decides whether a process may hold `needle` in its environment: returns the allowance's name,
 * or undefined. Nothing may ever hold a secret in its argv.
 */
export type ProcessAllowance = (
  needle: string,
  p: Proc,
  parent: Proc | undefined,
) => string | undefined;

/** `pid`'s start time (identifies it across pid reuse) and parent, or undefined when gone. */
function statOf(pid: string): { start: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { start: rest[19] ?? "", ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Shortened argv for messages. */
export function describeProc(p: Proc): string {
  return p.argv.join(" ").slice(0, 160) || `[pid ${p.pid}]`;
}

/** Samples every process until `stop()`; see the module comment. */
export function startProcessSampler(needles: readonly Needle[], allow: ProcessAllowance) {
  const hits = new Map<string, Hit>();
  /** Every command line each pid ran, for messages about files a process left. */
  const commands = new Map<number, string[]>();
  let samples = 0;
  let running = true;
  // A process's argv and environment are fixed by exec: each (pid, start, argv) is read once.
  const checked = new Set<string>();
  const check = (p: Proc, parent: Proc | undefined) => {
    const argv = p.argv.join("\0");
    for (const n of needles) {
      for (const v of n.values) {
        if (argv.includes(v)) {
          const where = `argv of ${describeProc(p)}`;
          hits.set(`${n.name} ${where}`, { needle: n.name, where });
        }
        if (p.environ.includes(v)) {
          const name = p.environ
            .split("\0")
            .find((e) => e.includes(v))
            ?.split("=")[0];
          const where = `environment (${name}) of ${describeProc(p)}`;
          hits.set(`${n.name} ${where}`, {
            needle: n.name,
            where,
            allowance: allow(n.name, p, parent),
          });
        }
      }
    }
  };
  const sweep = () => {
    const procs = new Map<number, Proc>();
    const fresh: Proc[] = [];
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid) || Number(pid) === process.pid) {
        continue;
      }
      const stat = statOf(pid);
      const cmdline = readText(`/proc/${pid}/cmdline`);
      if (!stat || cmdline === undefined) {
        continue;
      }
      const argv = cmdline.split("\0").filter((a) => a !== "");
      const key = `${pid} ${stat.start} ${cmdline}`;
      const isNew = !checked.has(key);
      const p: Proc = {
        pid: Number(pid),
        ppid: stat.ppid,
        argv,
        environ: isNew ? (readText(`/proc/${pid}/environ`) ?? "") : "",
      };
      procs.set(p.pid, p);
      if (isNew) {
        checked.add(key);
        fresh.push(p);
        commands.set(p.pid, [...(commands.get(p.pid) ?? []), describeProc(p)]);
      }
    }
    fresh.forEach((p) => check(p, procs.get(p.ppid)));
    samples++;
  };
  const loop = (async () => {
    while (running) {
      sweep();
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    /** Stops sampling after one last sweep. */
    async stop() {
      running = false;
      await loop;
      sweep();
      return { hits: [...hits.values()], samples, processes: checked.size, commands };
    },
  };
}

/**
 * Every regular file under `roots` (symbolic links are not followed, so the projects' links to
 * node_modules are not read), scanned for the needles; `allow(path, needle)` names the allowance
 * of a file that may hold it (asked after the whole scan). It yields between files, so a sampler
 * in the same process keeps sampling.
 */
export async function scanFiles(
  roots: readonly string[],
  needles: readonly Needle[],
  allow: (path: string, needle: string) => string | undefined = () => undefined,
): Promise<{ hits: Hit[]; files: number }> {
  const found: { needle: string; where: string }[] = [];
  let files = 0;
  const walk = async (path: string): Promise<void> => {
    await new Promise((r) => setImmediate(r));
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      let entries: string[] = [];
      try {
        entries = readdirSync(path);
      } catch {
        return;
      }
      for (const e of entries) {
        await walk(join(path, e));
      }
      return;
    }
    if (!st.isFile() || st.size > 256 * 1024 * 1024) {
      return;
    }
    files++;
    let text: string;
    try {
      text = readFileSync(path, "latin1");
    } catch {
      return;
    }
    for (const n of needles) {
      if (n.values.some((v) => text.includes(v))) {
        found.push({ needle: n.name, where: path });
      }
    }
  };
  for (const r of roots) {
    await walk(r);
  }
  return { hits: found.map((h) => ({ ...h, allowance: allow(h.where, h.needle) })), files };
}

/** True when `p` runs `name` (as argv[0], or as the script its interpreter runs). */
export function runs(p: Proc | undefined, name: string): boolean {
  return !!p && p.argv.slice(0, 2).some((a) => basename(a) === name);
}
