/**
 * The known `kong-gateway:` settings ({@link SETTING_KEYS}) and the refusal of any other key, with
 * the nearest known name as a hint: a misspelt setting must not be silently ignored. Pure.
 */

/**
 * Every `kong-gateway:` setting and, for object settings, their keys (Pulumi.yaml declares the
 * same; test/stacks checks they agree). A key outside these is refused: a misspelt setting must
 * not be silently ignored.
 */
export const SETTING_KEYS: Readonly<Record<string, readonly string[] | null>> = {
  version: null,
  nodes: null,
  runtime: null,
  plugins: null,
  dbPassword: null,
  dbAdminPassword: null,
  database: ["mode", "host", "port", "database", "user", "schema", "ssl", "adminUser"],
  backup: ["dir", "verify", "retention", "minFreeMb", "store", "command", "host", "hostDir"],
  maintenanceWindow: null,
  automaticRollback: null,
  strategy: null,
  allowMixedVersions: null,
  stateDir: null,
  local: ["kongBinary", "install", "basePort", "adminAddress"],
  hosts: [
    "addresses",
    "user",
    "port",
    "bastion",
    "knownHosts",
    "install",
    "kongBinary",
    "prefix",
    "listenAddress",
    "adminAddress",
    "proxyPort",
    "adminPort",
    "statusPort",
    "migrationHost",
    "startCommand",
    "stopCommand",
  ],
  sshPrivateKey: null,
  docker: [
    "image",
    "network",
    "host",
    "publishAddress",
    "basePort",
    "databaseHost",
    "pgClient",
    "pgClientImage",
  ],
  capacity: ["cpus", "memoryMb", "allowSmallerCluster"],
  probe: ["path", "expectStatus"],
  timeouts: [
    "quitSeconds",
    "startSeconds",
    "dbTimeoutSeconds",
    "lockTimeoutSeconds",
    "backupSeconds",
    "stepSeconds",
  ],
};

/**
 * The refusal of every `kong-gateway:` key (and object key) that is not a setting, with the
 * nearest known name. `config` is the stack's whole configuration, keys with their namespace.
 */
export function unknownSettings(config: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [full, raw] of Object.entries(config)) {
    if (!full.startsWith("kong-gateway:")) {
      continue;
    }
    const key = full.slice("kong-gateway:".length);
    if (!(key in SETTING_KEYS)) {
      out.push(
        `kong-gateway:${key} is not a setting of this project${hint(key, Object.keys(SETTING_KEYS), "kong-gateway:")}; remove it with 'pulumi config rm kong-gateway:${key}'`,
      );
      continue;
    }
    const sub = SETTING_KEYS[key];
    if (!sub) {
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      continue; // not an object: the setting's own validation says what is wrong
    }
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const k of Object.keys(value)) {
        if (!sub.includes(k)) {
          out.push(
            `kong-gateway:${key}.${k} is not a setting of this project${hint(k, sub, `kong-gateway:${key}.`)} (kong-gateway:${key} takes ${sub.join(", ")}); remove it with 'pulumi config rm --path kong-gateway:${key}.${k}'`,
          );
        }
      }
    }
  }
  return out;
}

function hint(key: string, known: readonly string[], prefix: string): string {
  const near = known
    .map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  return near && near.d <= 3 ? ` (did you mean ${prefix}${near.k}?)` : "";
}

/** Levenshtein distance (small strings). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
