/**
 * How the hosts runtime talks to a host: the ssh arguments, and the remote script that gets the
 * secrets from stdin. The script is run here by a real POSIX shell, exactly as sshd would run it,
 * so quoting and the secret hand-over are proven rather than compared as text.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { envFileText } from "../../components/runner/runtimes/process";
import {
  remoteScript,
  removeStaleKeys,
  sshArgs,
  startTicks,
} from "../../components/runner/infra/ssh";

const ssh = { user: "kong", port: 2222, bastion: "", knownHosts: "/s/known_hosts" };

/** Runs a remote script with `sh -c`, feeding `input` on stdin; returns stdout. */
function runScript(script: string, input: string): string {
  const r = spawnSync("/bin/sh", ["-c", script], { input, encoding: "utf8", env: {} });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe("remoteScript", () => {
  it("exports secrets read from stdin and keeps them off the command line", () => {
    const password = `pa$$ 'word"\\ ;rm -rf /`;
    const script = remoteScript(
      "/usr/bin/env",
      [],
      { KONG_PG_HOST: "db.internal", KONG_PLUGINS: "bundled,my plugin" },
      ["KONG_PG_PASSWORD"],
    );
    assert.ok(!script.includes(password) && !script.includes("pa$$"));
    const out = runScript(script, `${Buffer.from(password).toString("base64")}\n`);
    const env = Object.fromEntries(
      out
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    assert.equal(env.KONG_PG_PASSWORD, password);
    assert.equal(env.KONG_PG_HOST, "db.internal");
    assert.equal(env.KONG_PLUGINS, "bundled,my plugin");
    assert.equal(env.kgw_s0, undefined, "the raw stdin line is not left in the environment");
  });

  it("passes arguments through unchanged, however they are quoted", () => {
    const args = ["start", "-p", "/var/lib/kong gateway/it's here", "$HOME", "a;b"];
    const out = runScript(remoteScript("printf", ["%s\\n", ...args], {}, []), "");
    assert.deepEqual(out.trim().split("\n"), args);
  });
});

describe("sshArgs", () => {
  it("pins host keys, never prompts, and uses only the given key", () => {
    const args = sshArgs(ssh, "10.0.0.11", "/s/ssh/id-1");
    assert.deepEqual(args.slice(-3), ["-p", "2222", "kong@10.0.0.11"]);
    for (const opt of [
      "IdentitiesOnly=yes",
      "BatchMode=yes",
      "UserKnownHostsFile=/s/known_hosts",
      "StrictHostKeyChecking=accept-new",
    ]) {
      assert.ok(args.includes(opt), opt);
    }
    assert.equal(args[args.indexOf("-i") + 1], "/s/ssh/id-1");
  });

  it("goes through the bastion with the same key and host-key pinning", () => {
    const args = sshArgs({ ...ssh, bastion: "jump@bastion.example.com:2200" }, "10.0.0.11", "/k");
    const proxy = args[args.indexOf("-o", args.indexOf("2222")) + 1]!;
    assert.match(proxy, /^ProxyCommand=ssh -i \/k .*-p 2200 -W %h:%p jump@bastion\.example\.com$/);
    assert.match(proxy, /UserKnownHostsFile=\/s\/known_hosts/);
  });
});

describe("envFileText (hosts.startCommand)", () => {
  it("is read back exactly by a POSIX shell, password and all", () => {
    const password = `p"a$$w\\o\`rd' x`;
    const text = envFileText(
      {
        cluster: "kong",
        id: "node-0",
        version: "3.6.0",
        generation: 1,
        kongBin: "/usr/local/bin/kong",
        prefix: "/var/lib/kong-gateway/upgrade-3.6.0-g1/node-0",
        statusUrl: "http://10.0.0.11:8100",
        adminUrl: "http://10.0.0.11:8001",
        proxyUrl: "http://10.0.0.11:8000",
        settings: { KONG_PLUGINS: "bundled,my plugin", KONG_PG_HOST: "db" },
      },
      { KONG_PG_PASSWORD: password },
    );
    const dir = mkdtempSync(join(tmpdir(), "kgw-env-"));
    writeFileSync(join(dir, "node-0.env"), text);
    const out = runScript(`set -a; . ${dir}/node-0.env; set +a; env`, "");
    const env = Object.fromEntries(
      out
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    assert.equal(env.KONG_PG_PASSWORD, password);
    assert.equal(env.KONG_PLUGINS, "bundled,my plugin");
    assert.equal(env.KONG_PREFIX, "/var/lib/kong-gateway/upgrade-3.6.0-g1/node-0");
    assert.equal(env.KGW_BINARY, "/usr/local/bin/kong");
  });
});

describe("the runner's SSH key files", () => {
  it("a key file whose runner is gone goes, even when its pid now names another process", () => {
    const dir = mkdtempSync(join(tmpdir(), "kong-gw-keys-"));
    const mine = startTicks(process.pid);
    assert.ok(mine, "this machine has /proc");
    const files = {
      // This process, as its own runner would name its key: kept.
      live: `id-${process.pid}-${mine}`,
      // This pid, but a process that started at another time: a reused pid, stale.
      reused: `id-${process.pid}-${Number(mine) + 1}`,
      // A pid no process has (beyond pid_max), named either way: stale.
      gone: "id-99999999-5",
      goneOld: "id-99999999",
      // Not a key file of ours: untouched.
      other: "known_hosts",
    };
    for (const f of Object.values(files)) {
      writeFileSync(join(dir, f), "key\n", { mode: 0o600 });
    }
    removeStaleKeys(dir);
    assert.deepEqual(readdirSync(dir).sort(), [files.live, files.other].sort());
  });
});
