/**
 * The checks of single settings, each refusal naming the setting, the value, why and the fix
 * ({@link fail}): numbers, directories, ports, the version, the strategy, the database and the SSH
 * key. Pure: no Pulumi resources; withDefaults (config.ts) calls them in order.
 */
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname } from "node:path";

import { LIMITED_STEPS, STRATEGIES, Strategy } from "../contract/steps";
import type { CapacityArgs, DatabaseArgs } from "./args";
import type { ResolvedConfig } from "./resolved";

/** Throws the refusal of a setting: `kong-gateway:<setting> <value> <why>; <fix>`. */
export const fail = (setting: string, value: unknown, why: string, fix: string): never => {
  throw new Error(`kong-gateway:${setting} ${JSON.stringify(value)} ${why}; ${fix}`);
};

/** `v` when it is a whole number from 1 to `max`, else the refusal of `setting`. */
export const positiveInt = (setting: string, v: number, max = 65535) => {
  if (!Number.isInteger(v) || v < 1 || v > max) {
    fail(
      setting,
      v,
      `is not a whole number from 1 to ${max}`,
      `set it with 'pulumi config set ${setting.includes(".") ? "--path " : ""}kong-gateway:${setting} <n>'`,
    );
  }
  return v;
};

/** Loopback names: a database there shares this machine's ports with the local runtime's nodes. */
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "0.0.0.0"]);

/**
 * The local runtime's listeners (node i: basePort+10i proxy, +1 admin, +2 status) must not
 * overlap the port of a database on this machine: Kong would fail to bind after the old nodes
 * stopped.
 */
export function assertPortsApart(
  basePort: number,
  nodes: number,
  db: Required<DatabaseArgs>,
): void {
  if (!LOOPBACK.has(db.host)) {
    return;
  }
  for (let i = 0; i < nodes; i++) {
    for (const [offset, role] of [
      [0, "proxy"],
      [1, "admin"],
      [2, "status"],
    ] as const) {
      if (basePort + 10 * i + offset === db.port) {
        fail(
          "local.basePort",
          basePort,
          `puts node-${i}'s ${role} listener on port ${db.port}, which kong-gateway:database.port uses on this machine`,
          `move one of them, e.g. 'pulumi config set --path kong-gateway:local.basePort ${db.port + 100}'`,
        );
      }
    }
  }
}

/**
 * Why `kong-gateway:sshPrivateKey` cannot be the key that logs in to the hosts, or undefined: it
 * must be one unencrypted private key in OpenSSH or PEM form (the runner cannot answer a
 * passphrase prompt). The key itself is never quoted: the message says so.
 */
export function sshKeyProblem(key: string): string | undefined {
  const text = key.trim();
  const m =
    /^-----BEGIN ((?:OPENSSH|RSA|EC|DSA) )?PRIVATE KEY-----\n([A-Za-z0-9+/=\s:,-]+)\n-----END \1?PRIVATE KEY-----$/.exec(
      text,
    );
  const fix =
    "store an unencrypted private key (OpenSSH or PEM) as a secret: pulumi config set --secret kong-gateway:sshPrivateKey < ~/.ssh/kong_ed25519";
  if (!m) {
    return `kong-gateway:sshPrivateKey (a secret, not shown) is not a private key: it lacks the -----BEGIN … PRIVATE KEY----- / -----END … PRIVATE KEY----- lines around base64 text; ${fix}`;
  }
  if (
    /ENCRYPTED/.test(m[2]!) ||
    /bcrypt/.test(Buffer.from(m[2]!.replace(/\s/g, ""), "base64").toString("latin1").slice(0, 64))
  ) {
    return `kong-gateway:sshPrivateKey (a secret, not shown) is protected by a passphrase, which the runner cannot type; ${fix}`;
  }
  return undefined;
}

/** The `database` settings with their defaults (also read by the program's database check). */
export function resolveDatabase(d: DatabaseArgs | undefined): Required<DatabaseArgs> {
  const mode = d?.mode ?? "local";
  if (mode !== "local" && mode !== "existing" && mode !== "managed") {
    fail("database.mode", mode, "is not a database mode", 'use "local", "existing" or "managed"');
  }
  return {
    mode,
    host: d?.host ?? "127.0.0.1",
    port: positiveInt("database.port", d?.port ?? (mode === "local" ? 15432 : 5432)),
    database: d?.database ?? "kong",
    user: d?.user ?? "kong",
    schema: d?.schema ?? "",
    ssl: d?.ssl ?? false,
    adminUser: d?.adminUser ?? "postgres",
  };
}

/**
 * The configured strategy, refused when unknown or when `rolling` has a single node to roll
 * (replacing it would be an outage, which `rolling` promises not to have). Whether the hop allows
 * `rolling` is the planner's (components/plan/plan.ts), which knows the deployed version.
 */
export function resolveStrategy(value: string | undefined, nodes: number): Strategy {
  const strategy = value ?? "in-place";
  if (!(STRATEGIES as readonly string[]).includes(strategy)) {
    fail(
      "strategy",
      strategy,
      "is not an upgrade strategy",
      `use ${STRATEGIES.map((x) => `"${x}"`).join(", ")}: pulumi config set kong-gateway:strategy prepared`,
    );
  }
  if (strategy === "rolling" && nodes < 2) {
    fail(
      "strategy",
      strategy,
      `needs 2 or more nodes to replace one at a time, but kong-gateway:nodes is ${nodes}`,
      "set kong-gateway:nodes to 2 or more, or use kong-gateway:strategy prepared (down only while the node stops and starts)",
    );
  }
  return strategy as Strategy;
}

/**
 * The configured version as every name, output and runner sees it: a bare Kong version, `X.Y.Z`
 * or Enterprise `X.Y.Z.N` (surrounding spaces dropped). Anything else is refused with the
 * canonical form when one can be read from it: an image reference (`kong:3.6.1`; the repository
 * is `docker.image`), a `v` prefix, a missing patch part, a pre-release, a tag such as `latest`.
 */
export function canonicalVersion(value: unknown): string {
  const text = typeof value === "string" ? value.trim() : "";
  if (/^\d+\.\d+\.\d+(\.\d+)?$/.test(text)) {
    return text;
  }
  const example = "set it with 'pulumi config set kong-gateway:version 3.6.1'";
  if (text === "") {
    return fail("version", value ?? "", "is missing", example);
  }
  const image = /^(?:[a-z0-9._/-]+:)(v?\d+\.\d+\.\d+(?:\.\d+)?)$/.exec(text);
  if (image) {
    return fail(
      "version",
      value,
      "is an image reference, not a Kong version",
      `set "${image[1]!.replace(/^v/, "")}" (the image repository is kong-gateway:docker.image)`,
    );
  }
  const prefixed = /^v(\d+\.\d+\.\d+(?:\.\d+)?)$/i.exec(text);
  if (prefixed) {
    return fail("version", value, "has a v prefix", `set "${prefixed[1]}"`);
  }
  if (/^\d+\.\d+$/.test(text)) {
    return fail(
      "version",
      value,
      "lacks the patch part",
      `name the exact release, e.g. "${text}.0"`,
    );
  }
  return fail(
    "version",
    value,
    "is not a Kong version (X.Y.Z, or X.Y.Z.N for Enterprise; no pre-releases or tags such as latest)",
    example,
  );
}

/** `capacity` with its default, each size a positive number when set. */
export function capacityOf(c: CapacityArgs | undefined): ResolvedConfig["capacity"] {
  for (const key of ["cpus", "memoryMb"] as const) {
    const v = c?.[key];
    if (v !== undefined && (typeof v !== "number" || !(v > 0))) {
      fail(
        `capacity.${key}`,
        v,
        "is not a positive number",
        `set it with 'pulumi config set --path kong-gateway:capacity.${key} <n>', or remove it`,
      );
    }
  }
  return { ...c, allowSmallerCluster: c?.allowSmallerCluster ?? false };
}

/** `probe.expectStatus`, each an HTTP status. */
export function statuses(list: readonly number[]): number[] {
  if (!Array.isArray(list)) {
    fail("probe.expectStatus", list, "is not a list of HTTP statuses", "use e.g. [200, 404]");
  }
  for (const code of list) {
    if (!Number.isInteger(code) || code < 100 || code > 599) {
      fail("probe.expectStatus", code, "is not an HTTP status (100 to 599)", "use e.g. [200, 404]");
    }
  }
  return [...list];
}

/** Steps `timeouts.stepSeconds` may name (components/runner/infra/limits.ts has the defaults). */
const LIMITED = new Set<string>(LIMITED_STEPS);

/** `timeouts.stepSeconds`, each key a step with a limit, each value a number of seconds. */
export function stepLimits(v: Record<string, number>): Record<string, number> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    fail(
      "timeouts.stepSeconds",
      v,
      "is not an object of step → seconds",
      'use e.g. {"backup": 7200}',
    );
  }
  for (const [step, seconds] of Object.entries(v)) {
    if (!LIMITED.has(step)) {
      fail(
        `timeouts.stepSeconds.${step}`,
        seconds,
        "names no step",
        `use one of ${[...LIMITED].join(", ")}`,
      );
    }
    positiveInt(`timeouts.stepSeconds.${step}`, seconds, 604800);
  }
  return { ...v };
}

/**
 * Refuses a directory the stack must create files in (node state, backups) when it cannot: a
 * kernel file system (/proc, /sys, /dev, where a recursive mkdir never ends), a file in the way,
 * or a nearest existing directory this process cannot write. Checked in preview, before anything.
 */
export function checkDirectory(setting: string, dir: string): void {
  if (/^\/(proc|sys|dev)(\/|$)/.test(dir)) {
    fail(
      setting,
      dir,
      "is on a kernel file system that cannot hold files",
      "use a directory on a disk, e.g. /var/backups/kong",
    );
  }
  let p = dir;
  while (!existsSync(p)) {
    p = dirname(p);
  }
  if (!statSync(p).isDirectory()) {
    fail(setting, dir, `cannot be created: ${p} is a file`, "use a directory path");
  }
  try {
    accessSync(p, constants.W_OK | constants.X_OK);
  } catch {
    fail(
      setting,
      dir,
      `cannot be written: ${p} is not writable by this user`,
      "use a directory this user can write, or fix its permissions",
    );
  }
}
