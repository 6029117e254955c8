/**
 * The stack files in stacks/ are what users copy: each must parse, use only keys Pulumi.yaml
 * declares, pass the same validation `pulumi up` applies (withDefaults), and commit no secret.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { load } from "js-yaml";
import { withDefaults } from "../../components/config/config";

const root = join(__dirname, "..", "..");
const declared = new Set(
  [...readFileSync(join(root, "Pulumi.yaml"), "utf8").matchAll(/^ {2}(kong-gateway:\w+):/gm)].map(
    (m) => m[1]!,
  ),
);

/** A stack file's config, keyed without the `kong-gateway:` namespace. */
function stackConfig(file: string): Record<string, unknown> {
  const doc = load(readFileSync(join(root, "stacks", file), "utf8")) as {
    config: Record<string, unknown>;
  };
  for (const key of Object.keys(doc.config)) {
    assert.ok(declared.has(key), `${file}: ${key} is not declared in Pulumi.yaml`);
  }
  return Object.fromEntries(
    Object.entries(doc.config).map(([k, v]) => [k.replace(/^kong-gateway:/, ""), v]),
  );
}

const expected: Record<string, { runtime: string; nodes: number }> = {
  "Pulumi.local.yaml": { runtime: "local", nodes: 2 },
  "Pulumi.dev.yaml": { runtime: "docker", nodes: 1 },
  "Pulumi.staging.yaml": { runtime: "hosts", nodes: 2 },
  "Pulumi.prod.yaml": { runtime: "hosts", nodes: 3 },
};

describe("stacks/", () => {
  it("holds the local, dev, staging and prod stacks", () => {
    assert.deepEqual(readdirSync(join(root, "stacks")).sort(), Object.keys(expected).sort());
  });

  for (const [file, want] of Object.entries(expected)) {
    it(`${file} passes the program's validation (${want.runtime}, ${want.nodes} nodes)`, () => {
      const c = stackConfig(file);
      const cfg = withDefaults(
        {
          version: c.version as string,
          nodes: Number(c.nodes),
          runtime: c.runtime as never,
          database: c.database as never,
          backup: c.backup as never,
          local: c.local as never,
          hosts: c.hosts as never,
          docker: c.docker as never,
          timeouts: c.timeouts as never,
          maintenanceWindows: c.maintenanceWindow as string[] | undefined,
          automaticRollback: c.automaticRollback as boolean | undefined,
        },
        root,
        file.split(".")[1]!,
      );
      assert.equal(cfg.runtime, want.runtime);
      assert.equal(cfg.nodes, want.nodes);
      const text = readFileSync(join(root, "stacks", file), "utf8");
      assert.doesNotMatch(text, /kong-gateway:(dbPassword|dbAdminPassword|sshPrivateKey):/);
      assert.doesNotMatch(text, /BEGIN [A-Z ]*PRIVATE KEY/);
    });
  }

  it("prod upgrades only in its window, proves backups by a test restore, and rolls back by itself", () => {
    const c = stackConfig("Pulumi.prod.yaml");
    assert.ok((c.maintenanceWindow as string[]).length > 0);
    assert.equal((c.backup as { verify: string }).verify, "restore");
    assert.equal(c.automaticRollback, true);
  });
});
