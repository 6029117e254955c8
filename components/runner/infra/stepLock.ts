/**
 * One run of a step at a time. The command provider starts each step in its own process group
 * (tools/command-provider/local.go), so when the `pulumi up` process group is killed (a lost CI
 * job, a closed laptop lid) the step it was running goes on, orphaned. The README's recovery
 * (`pulumi cancel`, `pulumi refresh --clear-pending-creates`, `pulumi up`) then runs that same
 * step again: without this lock, two backups could write one dump, or two `kong migrations up`
 * could race for Kong's lock. The second run waits for the first to end, then does its own work
 * (every step finds what the first one did: a dump already taken, migrations already up).
 *
 * A lock is a file `<stateDir>/locks/<key>.lock` created exclusively, holding the owner's pid and
 * command line. It is stale when that process is gone or the pid now belongs to another program
 * (pids wrap), and is then taken over.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";

interface Owner {
  readonly pid: number;
  readonly cmdline: string;
}

/** This process's command line as /proc shows it. */
function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return undefined;
  }
}

/** The lock's owner when it still runs, else undefined (no lock, or a stale one). */
function liveOwner(path: string): Owner | undefined {
  let owner: Owner;
  try {
    owner = JSON.parse(readFileSync(path, "utf8")) as Owner;
  } catch {
    return undefined;
  }
  return cmdlineOf(owner.pid) === owner.cmdline ? owner : undefined;
}

/** Takes the lock if free or stale; true when this process now holds it. */
function tryTake(path: string, self: Owner): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, JSON.stringify(self));
      closeSync(fd);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        throw e;
      }
    }
    if (liveOwner(path)) {
      return false;
    }
    rmSync(path, { force: true }); // stale: its owner is gone
  }
  return false;
}

/**
 * Runs `work` holding the lock `key` of `stateDir`. While another live process holds it, waits
 * (saying so once on stderr) up to `waitSeconds`, then refuses with what to do.
 */
export async function withStepLock<T>(
  stateDir: string,
  key: string,
  waitSeconds: number,
  work: () => Promise<T>,
): Promise<T> {
  const dir = join(stateDir, "locks");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${key.replace(/[^A-Za-z0-9_.-]/g, "_")}.lock`);
  const self: Owner = { pid: process.pid, cmdline: cmdlineOf(process.pid) ?? "" };
  const deadline = Date.now() + waitSeconds * 1000;
  let told = false;
  while (!tryTake(path, self)) {
    const owner = liveOwner(path);
    if (Date.now() > deadline) {
      throw new Error(
        `${key} is still running in process ${owner?.pid ?? "?"} (from an interrupted pulumi up) after ${waitSeconds}s; wait for it to end, or stop it with 'kill ${owner?.pid ?? "<pid>"}', then run pulumi up again`,
      );
    }
    if (!told && owner) {
      process.stderr.write(
        `[kong-gateway] ${key}: waiting for the same step of an interrupted run (pid ${owner.pid}) to end\n`,
      );
      told = true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await work();
  } finally {
    if (liveOwner(path)?.pid === process.pid) {
      rmSync(path, { force: true });
    }
  }
}
