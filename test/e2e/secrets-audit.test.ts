/**
 * The secrets audit, through the real engine: two stacks at once — `local` runtime, and `hosts`
 * over a real OpenSSH daemon — each installs Kong 3.5.0, upgrades to 3.6.0, rolls back to 3.5.0
 * by version and is destroyed, with a random database password and a fresh SSH key. For the whole
 * time a sampler reads every process's argv and environment on this machine (/proc, every ~20 ms),
 * and after each operation every file the stacks wrote is scanned: the project and its stack
 * file, the file backend (checkpoints, history), the state directory (journal, node records,
 * backups and their manifests, known_hosts, the local database), the hosts' directories, and the
 * temp directory every process of the run used (TMPDIR: the engine's logs at verbosity 5, the
 * runner's temp files), plus the engine's output and events of every operation.
 *
 * Never allowed: a secret in any process's argv, in any file after `destroy`, or anywhere not
 * listed here. Allowed (ALLOWANCES below, and the README's "Safety guarantees"):
 * - environments: the Pulumi program (Pulumi's language host hands it the decrypted config as
 *   PULUMI_CONFIG), the step runner (the command resources' secret environment: the password,
 *   and on hosts the SSH key), the password only: the local database's command (`local-db.sh`,
 *   whose resource environment holds it, and the one psql that sets the role's password), Kong's
 *   own processes (nodes, the kong CLI, and the shell that execs it), and the PostgreSQL clients
 *   the runner starts (PGPASSWORD);
 * - files: while the node exists, the node's Kong prefix (`.kong_env`: Kong writes every setting
 *   there) and, with hosts.startCommand, the node's env file on its host; while a runner runs,
 *   its SSH key file (`<stateDir>/ssh/id-<pid>-<start>`, 0600).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "../support/engine";
import { progress } from "../support/e2e";
import { createKongStack, KongStack } from "../support/kongStack";
import { freePort } from "../support/postgres";
import {
  Hit,
  Needle,
  ProcessAllowance,
  Proc,
  runs,
  scanFiles,
  startProcessSampler,
} from "../support/secretsAudit";
import { startSshHosts, SshHosts } from "../support/sshd";

const PASSWORD = `audit-${randomBytes(12).toString("hex")}`;
const DB = "database password";
const KEY = "SSH private key";

/** The allowances, by name: where a secret may be while a stack runs (see the module comment). */
const ALLOWANCES = {
  program: "the Pulumi program's environment (PULUMI_CONFIG from the language host)",
  runner: "the step runner's environment (command resources' secret environment)",
  localDb: "the local database's command (local-db.sh, the psql that sets the role's password)",
  kong: "Kong's processes (nodes, kong CLI, the shell that execs kong)",
  pgClient: "PostgreSQL clients the runner starts (PGPASSWORD)",
  kongPrefix: "a running node's Kong prefix (.kong_env)",
  runnerKey: "a running runner's SSH key file (<stateDir>/ssh/id-<pid>-<start>, 0600)",
} as const;

const isKong = (p: Proc) =>
  !runs(p, "ssh") &&
  p.argv.some((a) => /\/lib\/kong(-node)?\.js$/.test(a) || /\/bin\/kong(\s|'|$)/.test(a));
const cmd = (p: Proc | undefined) => p?.argv.join(" ") ?? "";

const allowProcess: ProcessAllowance = (needle, p, parent) => {
  if (cmd(p).includes("@pulumi/pulumi/cmd/run")) {
    return ALLOWANCES.program;
  }
  if (cmd(p).includes(".tools/runner/run.js")) {
    return ALLOWANCES.runner;
  }
  if (needle !== DB) {
    return undefined;
  }
  // The command resource's environment reaches create and delete alike (and its `sh -c`).
  const localDb = (q: Proc | undefined) => cmd(q).includes("scripts/local-db.sh ");
  if (localDb(p) || (runs(p, "psql") && cmd(parent).includes("scripts/local-db.sh create"))) {
    return ALLOWANCES.localDb;
  }
  if (isKong(p)) {
    return ALLOWANCES.kong;
  }
  if (
    ["pg_dump", "pg_restore", "psql"].some((t) => runs(p, t)) &&
    cmd(parent).includes(".tools/runner/run.js")
  ) {
    return ALLOWANCES.pgClient;
  }
  return undefined;
};

describe(
  "secrets audit: local and hosts runtimes through the real engine",
  { timeout: 900_000 },
  () => {
    let ssh: SshHosts;
    let local: KongStack;
    let hosts: KongStack;
    let tmp: string;
    let needles: Needle[];
    let kongPort: number;
    const logs = () => join(tmp, "logs");

    before(async () => {
      kongPort = await freePort();
      ssh = await startSshHosts({ count: 1 });
      // Short: the runner's ssh ControlPath (~100 bytes at most) lives below it.
      tmp = mkdtempSync("/tmp/kgw-a-");
      mkdirSync(logs());
      const env = { TMPDIR: tmp };
      local = await createKongStack("a1", "3.5.0", { "kong-gateway:nodes": 1 }, env);
      const host = ssh.hosts[0]!;
      hosts = await createKongStack(
        "a2",
        "3.5.0",
        (base) => ({
          "kong-gateway:nodes": 1,
          "kong-gateway:runtime": "hosts",
          "kong-gateway:hosts": {
            addresses: [host.address],
            user: ssh.user,
            port: host.port,
            install: `${repoRoot}/test/kong-sim/install {version} ${base}/host/kong/{version}`,
            kongBinary: `${base}/host/kong/{version}/bin/kong`,
            prefix: `${base}/host/prefixes`,
            listenAddress: "{host}",
            proxyPort: kongPort,
            adminPort: kongPort + 1,
            statusPort: kongPort + 2,
          },
        }),
        env,
      );
      for (const ks of [local, hosts]) {
        await ks.stack.setConfig("kong-gateway:dbPassword", { value: PASSWORD, secret: true });
      }
      await hosts.stack.setConfig("kong-gateway:sshPrivateKey", {
        value: ssh.privateKey,
        secret: true,
      });
      // The key's private lines (the first two hold a fixed header and the public key).
      const body = ssh.privateKey.split("\n").filter((l) => l && !l.startsWith("-----"));
      needles = [
        { name: DB, values: [PASSWORD, Buffer.from(PASSWORD).toString("base64")] },
        { name: KEY, values: body.slice(2, -1).filter((l) => l.length >= 40) },
      ];
      assert.ok(needles[1]!.values.length > 0, "the key has private lines to look for");
    });

    after(async () => {
      await local?.dispose();
      await hosts?.dispose();
      await ssh?.stop();
      if (tmp) {
        rmSync(tmp, { recursive: true, force: true });
      }
    });

    const roots = () => [dirname(local.stateDir), dirname(hosts.stateDir), tmp];
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // The other stack's operation may be running while one stack's files are scanned.
    const allowFile = (path: string) => {
      if (path.endsWith("/.kong_env")) {
        return ALLOWANCES.kongPrefix;
      }
      // Read while its runner ran; by now that runner runs still or removed it on exit.
      const runner = /\/state\/ssh\/id-(\d+)(?:-\d+)?$/.exec(path);
      return runner && (alive(Number(runner[1])) || !existsSync(path))
        ? ALLOWANCES.runnerKey
        : undefined;
    };

    /** install → upgrade → rollback by version → destroy, each through the real engine. */
    async function lifecycle(ks: KongStack, label: string, fileHits: Hit[]): Promise<number> {
      let files = 0;
      const op = async (name: string, run: (o: object) => Promise<unknown>) => {
        progress(`audit ${label}: ${name}`);
        let out = "";
        const events: string[] = [];
        const opts = {
          onOutput: (s: string) => (out += s),
          onEvent: (e: unknown) => events.push(JSON.stringify(e)),
          logVerbosity: 5,
          logFlow: true,
        };
        try {
          await run(opts);
        } finally {
          writeFileSync(join(logs(), `${label}-${name}.out`), out);
          writeFileSync(join(logs(), `${label}-${name}.events`), events.join("\n"));
        }
        const scan = await scanFiles(roots(), needles, allowFile);
        fileHits.push(...scan.hits);
        files = Math.max(files, scan.files);
      };
      await op("install 3.5.0", (o) => ks.stack.up(o));
      await ks.setVersion("3.6.0");
      await op("upgrade 3.6.0", (o) => ks.stack.up(o));
      await ks.setVersion("3.5.0");
      await op("rollback 3.5.0", (o) => ks.stack.up(o));
      await op("destroy", (o) => ks.stack.destroy(o));
      return files;
    }

    it("finds no secret outside the allowances: argv, environments, state, logs, files", async () => {
      const sampler = startProcessSampler(needles, allowProcess);
      const fileHits: Hit[] = [];
      let result: Awaited<ReturnType<typeof sampler.stop>>;
      try {
        await Promise.all([
          lifecycle(local, "local", fileHits),
          lifecycle(hosts, "hosts", fileHits),
        ]);
      } finally {
        result = await sampler.stop();
      }
      // After destroy nothing may be left anywhere, allowance or not.
      const final = await scanFiles(roots(), needles);
      const findings = [
        ...result.hits.filter((h) => !h.allowance),
        ...fileHits.filter((h) => !h.allowance),
        ...final.hits,
      ];
      const allowed = [...result.hits, ...fileHits].filter((h) => h.allowance);
      console.log(
        `secrets scan: ${findings.length} occurrences in ${result.samples} samples of ${result.processes} processes and ${final.files} files`,
      );
      const byAllowance = new Map<string, number>();
      allowed.forEach((h) =>
        byAllowance.set(h.allowance!, (byAllowance.get(h.allowance!) ?? 0) + 1),
      );
      console.log(
        `allowed (distinct places): ${[...byAllowance].map(([a, n]) => `${n} × ${a}`).join("; ")}`,
      );
      assert.deepEqual(
        findings.map((h) => `${h.needle} in ${h.where}`),
        [],
        "secrets outside the allowances",
      );
      // The instruments saw the secrets where they are handed over on purpose: they can see.
      for (const a of [ALLOWANCES.runner, ALLOWANCES.kong, ALLOWANCES.kongPrefix]) {
        assert.ok(byAllowance.has(a), `the audit saw a secret in ${a} (else it is blind)`);
      }
      assert.ok(
        result.hits.some((h) => h.needle === KEY && h.allowance === ALLOWANCES.runner),
        "the audit saw the SSH key in a runner's environment",
      );
    });
  },
);
