/**
 * Reading known_hosts (components/runner/infra/knownHosts.ts), table-driven, against lines the real
 * OpenSSH tools write: `ssh-keygen -H` hashes them (checked here with a real ssh-keygen run), and
 * `StrictHostKeyChecking=accept-new` appends `[host]:port type key` for ports other than 22.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { knownHostKeys, pinnedHostKey } from "../../components/runner/infra/knownHosts";
import { printedHostKey } from "../../components/runner/steps/hostKeys";

const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEd";
const ED2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOther";
const RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ";
const ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAA";

describe("known_hosts lookup", () => {
  const cases: { name: string; text: string; host: string; port: number; want: string[] }[] = [
    {
      name: "port 22: the bare name",
      text: `10.0.0.1 ${ED}\n`,
      host: "10.0.0.1",
      port: 22,
      want: [ED],
    },
    {
      name: "another port: [host]:port only",
      text: `10.0.0.1 ${RSA}\n[10.0.0.1]:2222 ${ED}\n`,
      host: "10.0.0.1",
      port: 2222,
      want: [ED],
    },
    {
      name: "comma-separated names and comments",
      text: `# pinned\nkong-1,10.0.0.1 ${ED} root@kong-1\n`,
      host: "10.0.0.1",
      port: 22,
      want: [ED],
    },
    { name: "patterns", text: `10.0.0.* ${ED}\n`, host: "10.0.0.7", port: 22, want: [ED] },
    {
      name: "negated pattern",
      text: `10.0.0.*,!10.0.0.7 ${ED}\n`,
      host: "10.0.0.7",
      port: 22,
      want: [],
    },
    { name: "another host", text: `10.0.0.2 ${ED}\n`, host: "10.0.0.1", port: 22, want: [] },
    {
      name: "prefix is not a match",
      text: `10.0.0.10 ${ED}\n`,
      host: "10.0.0.1",
      port: 22,
      want: [],
    },
    {
      name: "revoked key left out, CA lines skipped",
      text: `10.0.0.1 ${ED}\n10.0.0.1 ${RSA}\n@revoked * ${ED}\n@cert-authority * ${ECDSA}\n`,
      host: "10.0.0.1",
      port: 22,
      want: [RSA],
    },
    { name: "empty file (first contact)", text: "", host: "10.0.0.1", port: 22, want: [] },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(knownHostKeys(c.text, c.host, c.port), c.want));
  }

  it("pins the type OpenSSH prefers when a host has several", () => {
    const text = `h ${RSA}\nh ${ECDSA}\nh ${ED}\n`;
    assert.equal(pinnedHostKey(text, "h", 22), ED);
    assert.equal(pinnedHostKey(`h ${RSA}\nh ${ECDSA}\n`, "h", 22), ECDSA);
    assert.equal(pinnedHostKey("", "h", 22), undefined);
  });

  it("reads lines hashed by the real ssh-keygen -H", () => {
    const dir = mkdtempSync(join(tmpdir(), "kong-gw-kh-"));
    try {
      const file = join(dir, "known_hosts");
      writeFileSync(file, `[127.0.0.2]:2222 ${ED}\n[127.0.0.3]:2222 ${ED2}\n10.0.0.1 ${RSA}\n`);
      execFileSync("ssh-keygen", ["-H", "-f", file], { stdio: "ignore" });
      const text = readFileSync(file, "utf8");
      assert.ok(!text.includes("127.0.0.2"), "hashed for real");
      assert.equal(pinnedHostKey(text, "127.0.0.2", 2222), ED);
      assert.equal(pinnedHostKey(text, "127.0.0.3", 2222), ED2);
      assert.equal(pinnedHostKey(text, "10.0.0.1", 22), RSA);
      assert.equal(pinnedHostKey(text, "127.0.0.2", 22), undefined, "the port is part of the name");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds the key printed for each host by the host-keys command", () => {
    const out = `KONG_GW_HOST_KEY 10.0.0.1 ${ED}\nKONG_GW_HOST_KEY bastion ${RSA}\n`;
    assert.equal(printedHostKey(out, "10.0.0.1"), ED);
    assert.equal(printedHostKey(out, "bastion"), RSA);
    assert.equal(printedHostKey(out, "10.0.0.2"), undefined);
  });
});
