/**
 * Checks of the world the program makes before any resource exists, for settings whose mistakes
 * only the machine shows: a port another process listens on, a backup directory without the room
 * a backup needs. Each throws an `Error` naming the setting, the value and the fix; KongGateway
 * turns it into a refusal of preview and up, so no node has stopped when it is found.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, statfsSync } from "node:fs";
import { dirname } from "node:path";
import type { ResolvedConfig } from "./config/config";
import type { SettingsSnapshot } from "./config/changes";

/** What the last successful run deployed, as far as these checks need it. */
export interface DeployedPorts {
  readonly nodes: number;
  readonly settings?: SettingsSnapshot;
}

/** The local runtime's listener ports of `nodes` nodes from `basePort` (proxy, admin, status). */
function localPorts(basePort: number, nodes: number): Map<number, string> {
  const out = new Map<number, string>();
  for (let i = 0; i < nodes; i++) {
    out.set(basePort + 10 * i, `node-${i}'s proxy`);
    out.set(basePort + 10 * i + 1, `node-${i}'s admin`);
    out.set(basePort + 10 * i + 2, `node-${i}'s status`);
  }
  return out;
}

/**
 * Listening TCP ports on this machine and, where this user may see it, the process holding each
 * (`/proc/net/tcp{,6}` and `/proc/<pid>/fd`). Empty where /proc does not exist.
 */
function listeners(): Map<number, { pid?: number; cmdline?: string }> {
  const byInode = new Map<string, number>();
  const out = new Map<number, { pid?: number; cmdline?: string }>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) {
      continue;
    }
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === "0A" && f[1]) {
        byInode.set(f[9] ?? "", parseInt(f[1].split(":")[1] ?? "", 16));
      }
    }
  }
  for (const port of byInode.values()) {
    out.set(port, {});
  }
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        const port = inode === undefined ? undefined : byInode.get(inode);
        if (port !== undefined) {
          const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
          out.set(port, { pid: Number(pid), cmdline });
        }
      } catch {
        // the process or descriptor went away
      }
    }
  }
  return out;
}

/**
 * The local runtime's listener ports that this change newly takes (not those the deployed nodes
 * already hold) must be free: a port another process listens on is refused with that process.
 * Listeners of processes that run from this stack's state directory (its own nodes, even ones a
 * failed run left behind) do not count.
 */
export function assertPortsFree(cfg: ResolvedConfig, deployed: DeployedPorts | undefined): void {
  if (cfg.runtime !== "local" || !existsSync("/proc/net/tcp")) {
    return;
  }
  const wanted = localPorts(cfg.local.basePort, cfg.nodes);
  const oldBase = Number(deployed?.settings?.["local.basePort"]);
  if (deployed && deployed.settings?.runtime === '"local"' && Number.isInteger(oldBase)) {
    for (const port of localPorts(oldBase, deployed.nodes).keys()) {
      wanted.delete(port);
    }
  }
  if (wanted.size === 0) {
    return;
  }
  const taken = listeners();
  for (const [port, role] of wanted) {
    const holder = taken.get(port);
    if (!holder || holder.cmdline?.includes(cfg.stateDir)) {
      continue;
    }
    const who =
      holder.pid === undefined
        ? "another process"
        : `another process (pid ${holder.pid}: ${holder.cmdline!.trim().slice(0, 80)})`;
    throw new Error(
      `kong-gateway:local.basePort ${cfg.local.basePort} puts ${role} listener on port ${port}, which ${who} already listens on; stop that process, or move the nodes: 'pulumi config set --path kong-gateway:local.basePort <a free range of ${10 * cfg.nodes} ports>'`,
    );
  }
}

/**
 * The backup directory's file system must have `backup.minFreeMb` free plus room for one dump of
 * the database as last measured, when this change may take a backup (an upgrade or a rollback)
 * or the backup settings themselves changed.
 */
export function assertBackupRoom(
  cfg: ResolvedConfig,
  takesBackup: boolean,
  deployed: (DeployedPorts & { databaseBytes?: number }) | undefined,
): void {
  const s = deployed?.settings;
  const changed =
    s !== undefined &&
    (s["backup.dir"] !== JSON.stringify(cfg.backup.dir) ||
      s["backup.minFreeMb"] !== JSON.stringify(cfg.backup.minFreeMb));
  if (!takesBackup && !changed) {
    return;
  }
  let p = cfg.backup.dir;
  while (!existsSync(p)) {
    p = dirname(p);
  }
  const fs = statfsSync(p);
  const freeMb = Math.floor((fs.bavail * fs.bsize) / 1048576);
  const dumpMb = Math.ceil((deployed?.databaseBytes ?? 0) / 1048576);
  const needMb = cfg.backup.minFreeMb + dumpMb;
  if (freeMb < needMb) {
    throw new Error(
      `kong-gateway:backup.dir ${JSON.stringify(cfg.backup.dir)} is on a file system with ${freeMb} MiB free, less than the ${needMb} MiB a backup needs (backup.minFreeMb ${cfg.backup.minFreeMb}${dumpMb > 0 ? ` + a ${dumpMb} MiB dump` : ""}); free space there, or point kong-gateway:backup.dir at a larger disk`,
    );
  }
}
