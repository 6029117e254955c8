/**
 * Reading an OpenSSH known_hosts file (`hosts.knownHosts`), the one place host keys are pinned:
 * the runner's `ssh` records the first contact there (`StrictHostKeyChecking=accept-new`) and the
 * program pins the installs' `command.remote` connections to the keys it finds there. Pure.
 *
 * Supported: plain and hashed (`|1|salt|hash`, what `HashKnownHosts yes` writes) host fields,
 * comma-separated names, `*`/`?` patterns and `!` negation, `[host]:port` for ports other than 22.
 * `@revoked` lines revoke their key; `@cert-authority` lines are not keys of a host and are skipped.
 */
import { createHmac } from "node:crypto";

/** Key types in the order a pinned key is chosen (OpenSSH's own preference). */
const PREFERENCE = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

/** How known_hosts names `host` on `port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `*` and `?` glob of one known_hosts pattern, case-insensitive like OpenSSH. */
function globMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(name);
}

/** Whether a known_hosts host field names `name`. */
function fieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    if (!salt || !hash) {
      return false;
    }
    const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
    return mac === hash;
  }
  let matched = false;
  for (const p of field.split(",")) {
    if (p.startsWith("!")) {
      if (globMatch(p.slice(1), name)) {
        return false;
      }
    } else if (globMatch(p, name)) {
      matched = true;
    }
  }
  return matched;
}

/** Every key (`<type> <base64>`) known_hosts `text` holds for `host`:`port`, revoked ones left out. */
export function knownHostKeys(text: string, host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  const keys: string[] = [];
  const revoked = new Set<string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) {
      continue;
    }
    const words = line.split(/\s+/);
    const marker = words[0]?.startsWith("@") ? words.shift() : undefined;
    const [field, type, blob] = words;
    if (!field || !type || !blob || marker === "@cert-authority") {
      continue;
    }
    if (marker === "@revoked") {
      revoked.add(`${type} ${blob}`);
    } else if (!marker && fieldMatches(field, name)) {
      keys.push(`${type} ${blob}`);
    }
  }
  return keys.filter((k) => !revoked.has(k));
}

/**
 * The key an SSH connection to `host`:`port` must be pinned to: of the keys known_hosts holds for
 * it, the type OpenSSH prefers; undefined when it holds none (first contact).
 */
export function pinnedHostKey(text: string, host: string, port: number): string | undefined {
  const rank = (k: string) => {
    const i = PREFERENCE.indexOf(k.split(" ")[0] ?? "");
    return i < 0 ? PREFERENCE.length : i;
  };
  return knownHostKeys(text, host, port).sort((a, b) => rank(a) - rank(b))[0];
}
