/**
 * Kong as processes (`kong start -p <prefix>`): on this machine (`local`) or on hosts over SSH
 * (`hosts`). A node's prefix holds its pid file; the runner keeps each node's record (owner,
 * binary, settings) under `<stateDir>/nodes/`, written before the node starts, so a re-run after a
 * crash finds every node it may have started and asks the machine whether it still runs.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { ExecResult } from "../infra/exec";
import { fillTemplate } from "../../contract/templates";
import { databaseSettings, describeFailure, reportedVersion } from "../infra/kong";
import { Machine } from "../infra/machine";
import {
  digestPassword,
  discoverNodes,
  NodeRecord,
  parseRecords,
  RECORD,
  RECORD_SEPARATOR,
  readNodeRecord,
  recordDir,
  samePassword,
  writeNodeRecord,
} from "../../state/nodes";
import { sleep, waitReady } from "../infra/http";
import type { NodeRuntime, StartResult } from "./nodeRuntime";
import { StepSpec } from "../../contract/spec";

/**
 * Where a process runtime runs Kong, and what differs between its two users: runtimes/local.ts
 * (this machine) and runtimes/hosts.ts (machines over SSH). Nothing here asks which it is.
 */
export interface ProcessPlacement {
  /** The machine of a node; `undefined` is the machine that runs migrations. */
  machineOf(host: string | undefined): Machine;
  /** The host that runs migrations; undefined where there is one machine. */
  readonly migrationHost?: string;
  /** Whether messages name the machine (`… on <host>`): not where there is only this one. */
  readonly nameMachines: boolean;
  /** The setting that installs Kong, named in hints. */
  readonly installSetting: string;
  /** The command that installs a version again before a rollback restarts it ("" for none). */
  readonly reinstall: string;
  /** Service-manager commands that start and stop a node, when configured. */
  readonly service?: { readonly startCommand: string; readonly stopCommand: string };
  /**
   * Check before any downtime that the directory the node prefixes go in is writable (on hosts
   * the SSH user may not own it; locally the config check already did).
   */
  readonly checkPrefixRoot: boolean;
  /**
   * Keep a copy of each node's record in its prefix on its machine, and find the nodes from those
   * too: the state directory of this machine may be new (hosts: another machine started them).
   */
  readonly recordsOnMachines?: boolean;
}

/** Kong as processes placed by `placement` (runtimes/local.ts, runtimes/hosts.ts). */
export function processRuntime(spec: StepSpec, placement: ProcessPlacement): NodeRuntime {
  const { machineOf, migrationHost } = placement;
  const password = process.env.KONG_PG_PASSWORD;
  const secrets: Record<string, string> = password ? { KONG_PG_PASSWORD: password } : {};
  const pidFile = (rec: NodeRecord) => join(rec.prefix, "pids", "nginx.pid");
  // The target binary on the host that runs migrations (on `local`, the only machine).
  const migrationBin =
    spec.nodes.find((n) => n.host === migrationHost)?.kongBin ?? spec.nodes[0]?.kongBin ?? "kong";
  /** The records kept in the prefixes on the machines of the target nodes (see recordsOnMachines). */
  const recordsOnMachines = async (): Promise<NodeRecord[]> => {
    const out: NodeRecord[] = [];
    const seen = new Set<string>();
    for (const n of spec.nodes) {
      const m = machineOf(n.host);
      const root = dirname(dirname(n.prefix));
      if (seen.has(`${m.label} ${root}`)) {
        continue;
      }
      seen.add(`${m.label} ${root}`);
      const r = await m.exec(
        "/bin/sh",
        [
          "-c",
          'for f in "$1"/*/*/"$2"; do [ -f "$f" ] || continue; echo "$3"; cat "$f"; done',
          "sh",
          root,
          RECORD,
          RECORD_SEPARATOR,
        ],
        { env: {}, secrets: {}, timeoutSeconds: 60 },
      );
      if (r.code !== 0) {
        throw new Error(
          `cannot read the node records in ${root}${on(m)} (exit ${r.code}): ${r.stderr.trim().split("\n").at(-1) ?? ""}`,
        );
      }
      out.push(...parseRecords(r.stdout, spec.cluster).filter((rec) => rec.host === n.host));
    }
    return out;
  };
  /** Where a node is, in messages (nothing for the local runtime: there is only this machine). */
  const on = (m: Machine) => (placement.nameMachines ? ` on ${m.label}` : "");
  const installHint = placement.installSetting;

  const running = async (rec: NodeRecord) =>
    (await machineOf(rec.host).alivePid(pidFile(rec), rec.prefix)) !== undefined;
  /**
   * On this machine: resolves once `rec`'s pid file is gone (Kong removes it as its master
   * exits; checked every 10 ms, no process started), or after `seconds`. The caller still asks
   * {@link running}: a killed node leaves its file, and the quit's own wait covers that.
   */
  const untilGone = async (rec: NodeRecord, seconds: number) => {
    const deadline = Date.now() + seconds * 1000;
    while (existsSync(pidFile(rec)) && Date.now() < deadline) {
      await sleep(10);
    }
  };

  const kongOn = (
    m: Machine,
    bin: string,
    args: readonly string[],
    env: Record<string, string>,
    timeoutSeconds: number,
    echo = true,
  ): Promise<ExecResult> => m.exec(bin, args, { env, secrets, timeoutSeconds, echo });

  /**
   * Before restarting an older node (a rollback): its binary must still be its version. With one
   * package per host, installing Y replaced it, so the hosts' install command runs again for X.
   */
  const ensureVersion = async (m: Machine, rec: NodeRecord) => {
    const shown = async () =>
      reportedVersion((await kongOn(m, rec.kongBin, ["version"], {}, 60, false)).stdout).version;
    if ((await shown()) === rec.version) {
      return;
    }
    const install = placement.reinstall;
    if (!install) {
      throw new Error(
        `${rec.kongBin} on ${m.label} is no longer Kong ${rec.version}, and no install command is configured to put it back`,
      );
    }
    const command = fillTemplate(install, { version: rec.version, host: rec.host ?? "" });
    process.stderr.write(
      `[kong-gateway] reinstalling Kong ${rec.version} on ${m.label}: ${command}\n`,
    );
    const r = await m.exec("/bin/sh", ["-c", command], {
      env: {},
      secrets: {},
      timeoutSeconds: 900,
      echo: true,
    });
    if (r.code !== 0 || (await shown()) !== rec.version) {
      throw new Error(describeFailure(`reinstalling Kong ${rec.version} on ${m.label}`, r));
    }
  };

  const service = placement.service;
  /** A service-manager command of the node (`hosts.startCommand` / `stopCommand`). */
  const serviceCommand = (m: Machine, template: string, rec: NodeRecord, quitSeconds: number) =>
    m.exec(
      "/bin/sh",
      [
        "-c",
        fillTemplate(template, {
          id: rec.id,
          version: rec.version,
          prefix: rec.prefix,
          envFile: rec.envFile ?? "",
          kongBinary: rec.kongBin,
          host: rec.host ?? "",
          quitSeconds: String(quitSeconds),
        }),
      ],
      { env: {}, secrets: {}, timeoutSeconds: quitSeconds + 60, echo: true },
    );

  const stop = async (rec: NodeRecord, quitSeconds: number) => {
    const m = machineOf(rec.host);
    if (!(await running(rec))) {
      return { stopped: false };
    }
    const args = ["quit", "-p", rec.prefix, "-t", String(quitSeconds)];
    if (service?.stopCommand && rec.envFile) {
      await serviceCommand(m, service.stopCommand, rec, quitSeconds);
    } else if (rec.host === undefined) {
      // `kong quit` notices the exit at its next 0.2 s poll (Kong's quit.lua); on this machine
      // the runner looks every 10 ms and goes on once the node is gone (the CLI ends by itself).
      const quit = kongOn(m, rec.kongBin, args, rec.settings, quitSeconds + 30);
      quit.catch(() => undefined);
      // (A cancelled step's poll ends the race; the quit itself is cancelled with the step.)
      await Promise.race([quit, untilGone(rec, quitSeconds + 30).catch(() => undefined)]);
    } else {
      await kongOn(m, rec.kongBin, args, rec.settings, quitSeconds + 30);
    }
    if (await running(rec)) {
      await kongOn(m, rec.kongBin, ["stop", "-p", rec.prefix], rec.settings, 30);
    }
    if ((await m.kill(pidFile(rec), rec.prefix)) !== undefined) {
      await sleep(200);
    }
    return { stopped: true };
  };

  const start = async (rec: NodeRecord, startSeconds: number): Promise<StartResult> => {
    const startedAt = new Date();
    const m = machineOf(rec.host);
    if (await running(rec)) {
      // Already running: keep it only if it runs with these settings (plugins, listeners,
      // database) and this password (a rotated one reaches the node by its restart).
      const recorded = readNodeRecord(recordDir(spec.stateDir, rec));
      const same =
        JSON.stringify(recorded?.settings) === JSON.stringify(rec.settings) &&
        samePassword(recorded?.passwordDigest, password);
      const readyAt = same ? await waitReady(rec.statusUrl, Math.min(startSeconds, 5)) : undefined;
      if (readyAt) {
        return { startedAt, readyAt, skipped: true };
      }
      await stop(recorded ?? rec, 10);
    }
    if (rec.version !== spec.to) {
      await ensureVersion(m, rec);
    }
    const record =
      password === undefined ? rec : { ...rec, passwordDigest: digestPassword(password) };
    writeNodeRecord(spec.stateDir, record);
    if (placement.recordsOnMachines) {
      await m.writePrivateFile(join(rec.prefix, RECORD), JSON.stringify(record, null, 2) + "\n");
    }
    let r: ExecResult;
    if (service?.startCommand && rec.envFile) {
      // The service manager starts Kong with this file as its environment (and restarts it
      // with it after a reboot), so it holds the password: mode 0600, written over stdin.
      await m.writePrivateFile(rec.envFile, envFileText(rec, secrets));
      r = await serviceCommand(m, service.startCommand, rec, startSeconds);
    } else {
      r = await kongOn(
        m,
        rec.kongBin,
        ["start", "-p", rec.prefix],
        rec.settings,
        startSeconds + 30,
      );
    }
    if (r.code !== 0) {
      throw new Error(describeFailure(`${rec.id}: kong start (${rec.version})${on(m)}`, r));
    }
    const readyAt = await waitReady(rec.statusUrl, startSeconds);
    if (!readyAt) {
      throw new Error(
        `${rec.id}: Kong ${rec.version} started${on(m)} but ${rec.statusUrl}/status/ready did not answer 200 within ${startSeconds}s`,
      );
    }
    return { startedAt, readyAt, skipped: false };
  };

  return {
    discover: async () => {
      const mine = discoverNodes(spec.stateDir, spec.cluster);
      if (!placement.recordsOnMachines) {
        return mine;
      }
      const key = (r: NodeRecord) => `${r.host ?? ""} ${r.prefix}`;
      const known = new Set(mine.map(key));
      for (const rec of await recordsOnMachines()) {
        if (!known.has(key(rec))) {
          // Cached here, so every later step (and its restart checks) reads it like its own.
          writeNodeRecord(spec.stateDir, rec);
          known.add(key(rec));
          mine.push(rec);
        }
      }
      return mine.sort((a, b) => a.prefix.localeCompare(b.prefix));
    },
    running,
    start,
    stop,
    remove: async (rec, quitSeconds) => {
      await stop(rec, quitSeconds);
      const m = machineOf(rec.host);
      await m.removeTree(rec.prefix);
      await m.removeIfEmpty(dirname(rec.prefix));
      if (rec.envFile) {
        // It holds the database password. The path is per node id, so the same node of the
        // next version may have rewritten it already: only this node's file goes.
        await m.removeFileWithLine(rec.envFile, envFileLine("KONG_PREFIX", rec.prefix));
      }
      const local = recordDir(spec.stateDir, rec);
      rmSync(local, { recursive: true, force: true });
      const group = dirname(local);
      if (existsSync(group) && readdirSync(group).length === 0) {
        rmSync(group, { recursive: true, force: true });
      }
    },
    kong: (args, opts) =>
      kongOn(
        machineOf(undefined),
        migrationBin,
        args,
        databaseSettings(spec.database, spec.plugins),
        opts.timeoutSeconds,
        opts.echo ?? false,
      ),
    checkTarget: async (y) => {
      const problems: string[] = [];
      const seen = new Set<string>();
      for (const n of spec.nodes) {
        const m = machineOf(n.host);
        if (seen.has(m.label)) {
          continue;
        }
        seen.add(m.label);
        if (placement.checkPrefixRoot) {
          // Kong creates the node's prefix below this directory at start, inside the downtime.
          const root = dirname(dirname(n.prefix));
          const w = await m.exec("/bin/sh", ["-c", 'mkdir -p "$1" && test -w "$1"', "sh", root], {
            env: {},
            secrets: {},
            timeoutSeconds: 60,
          });
          if (w.code !== 0) {
            problems.push(
              `${root} on ${m.label} is not writable by the SSH user: create it and give it to that user (kong-gateway:hosts.prefix, hosts.user)`,
            );
          }
        }
        if (!(await m.isExecutable(n.kongBin))) {
          problems.push(
            `Kong ${spec.to} binary ${n.kongBin} does not exist${on(m)}: install it first (${installHint})`,
          );
          continue;
        }
        const v = await kongOn(m, n.kongBin, ["version"], {}, 60, false);
        const shown = reportedVersion(v.stdout);
        if (v.code !== 0 || shown.version !== spec.to) {
          problems.push(
            `${n.kongBin}${on(m)} reports version "${shown.line}" (exit ${v.code}), expected ${spec.to}`,
          );
        }
      }
      if (problems.length === 0) {
        const m = machineOf(y.host);
        const check = await kongOn(m, y.kongBin, ["check"], y.settings, 60, false);
        if (check.code !== 0) {
          problems.push(
            describeFailure(`Kong ${spec.to} rejects the nodes' configuration: kong check`, check),
          );
        }
      }
      return problems;
    },
  };
}

/**
 * A node's environment file, readable both as a systemd EnvironmentFile and by a POSIX shell
 * (`set -a; . file`): double quotes, with `\`, `"`, `$` and backquote escaped by a backslash.
 */
export function envFileText(rec: NodeRecord, secrets: Record<string, string>): string {
  const vars: Record<string, string> = {
    ...rec.settings,
    ...secrets,
    KONG_PREFIX: rec.prefix,
    KGW_BINARY: rec.kongBin,
  };
  return (
    "# Written by kong-gateway for node " +
    `${rec.id} (Kong ${rec.version}); holds the database password.\n` +
    Object.entries(vars)
      .map(([k, v]) => envFileLine(k, v))
      .join("\n") +
    "\n"
  );
}

/** One `NAME="value"` line of a node's environment file. */
export function envFileLine(name: string, value: string): string {
  return `${name}="${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}
