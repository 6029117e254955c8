/**
 * The `host-keys` runner command: records the first contact with every host (and the bastion) in
 * `hosts.knownHosts` before anything is installed there, and prints the pinned keys. It connects
 * exactly as every step does (ssh.ts: `StrictHostKeyChecking=accept-new`), so a key that changed
 * since it was recorded is refused here too. The program pins the installs' `command.remote`
 * connections to the keys printed (or, later, read from the same file).
 */
import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseBastion } from "../../contract/templates";
import { pinnedHostKey } from "../infra/knownHosts";
import { SshSpec } from "../../contract/spec";
import { sshMachine } from "../infra/ssh";

/** The environment variable carrying the {@link HostKeyJob} (JSON). */
export const HOST_KEYS_ENV = "KONG_GW_HOST_KEYS";

/** What `host-keys` connects to. */
export interface HostKeyJob {
  readonly ssh: SshSpec;
  readonly stateDir: string;
  readonly hosts: readonly string[];
}

/** The prefix of each output line: `KONG_GW_HOST_KEY <host|bastion> <type> <base64>`. */
export const HOST_KEY_LINE = "KONG_GW_HOST_KEY";

/** Parses the job; throws naming what is missing. */
export function parseHostKeyJob(text: string | undefined): HostKeyJob {
  const job = JSON.parse(text ?? "null") as HostKeyJob | null;
  if (!job || !job.ssh?.knownHosts || !job.stateDir || !Array.isArray(job.hosts)) {
    throw new Error(`${HOST_KEYS_ENV} must hold {ssh, stateDir, hosts}`);
  }
  return job;
}

/** The key printed for `name` (a host address, or `bastion`) in the command's stdout. */
export function printedHostKey(stdout: string | undefined, name: string): string | undefined {
  const line = (stdout ?? "").split("\n").find((l) => l.startsWith(`${HOST_KEY_LINE} ${name} `));
  return line?.split(" ").slice(2, 4).join(" ");
}

/** Connects to every host (recording first contacts), then prints each pinned key. */
export async function recordHostKeys(job: HostKeyJob): Promise<string> {
  mkdirSync(dirname(job.ssh.knownHosts), { recursive: true, mode: 0o700 });
  for (const host of job.hosts) {
    const r = await sshMachine(job.ssh, host, job.stateDir).exec("true", [], {
      env: {},
      secrets: {},
      timeoutSeconds: 60,
    });
    if (r.code !== 0) {
      throw new Error(
        `cannot reach host ${host} over SSH to record its host key in ${job.ssh.knownHosts}: ${r.stderr.trim() || `exit ${r.code}`}`,
      );
    }
  }
  const text = readFileSync(job.ssh.knownHosts, "utf8");
  const lines: string[] = [];
  const pin = (name: string, host: string, port: number) => {
    const key = pinnedHostKey(text, host, port);
    if (!key) {
      throw new Error(`${job.ssh.knownHosts} holds no key for ${host}:${port} after connecting`);
    }
    lines.push(`${HOST_KEY_LINE} ${name} ${key}`);
  };
  job.hosts.forEach((h) => pin(h, h, job.ssh.port));
  const bastion = parseBastion(job.ssh.bastion, job.ssh.user);
  if (bastion) {
    pin("bastion", bastion.host, bastion.port);
  }
  return lines.join("\n") + "\n";
}
