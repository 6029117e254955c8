/**
 * Same-version settings changes through the real engine, one row per `kong-gateway:` setting of
 * Pulumi.yaml (the table must cover every key the schema declares): on a deployed 2-node stack,
 * change the setting to another valid value → preview names it and its impact → `up` converges →
 * a second preview expects no changes → every entity kept and no backup taken. Restarts are
 * watched by a prober over every node (a client that tries each node): it must never fail.
 * Settings that cannot change in place are refused in preview with their reason, nodes untouched.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { load, dump } from "js-yaml";
import { seed } from "../../scripts/seed";
import { E2E_PASSWORD, entityCounts, outputs, progress } from "../support/e2e";
import { repoRoot } from "../support/engine";
import { eventually } from "../support/eventually";
import { createKongStack, KongStack } from "../support/kongStack";
import { startProber } from "../support/prober";

type Config = Record<string, unknown>;

/** What a row expects of the change. */
type Expect = "none" | "restart" | "add" | "remove" | "refused";

interface Row {
  /** The `kong-gateway:` setting (top-level key of Pulumi.yaml). */
  readonly key: string;
  /**
   * Rows of one group change together, in one preview and one `up` (each still has its own line
   * and impact in the preview): the settings that touch no node, and the refused ones.
   */
  readonly group?: string;
  readonly expect: Expect;
  /** The change, applied to the stack's config (plain settings) or as a secret. */
  readonly change: (c: Config, ctx: Ctx) => void;
  readonly secret?: string;
  /** What preview must say. */
  readonly preview: RegExp;
}

interface Ctx {
  basePort: number;
  nodes: number;
}

const K = (k: string) => `kong-gateway:${k}`;

/** One row per top-level setting (some have two: their impacts differ). */
const ROWS: Row[] = [
  {
    key: "backup",
    expect: "none",
    group: "settings that touch no node",
    change: (c) => (c[K("backup")] = { ...(c[K("backup")] as Config), retention: 4 }),
    preview: /backup\.retention: 5 → 4\n\s+nothing to do on the nodes: used by the next backup/,
  },
  {
    key: "maintenanceWindow",
    expect: "none",
    group: "settings that touch no node",
    change: (c) => (c[K("maintenanceWindow")] = ["Sat 02:00-04:00 UTC"]),
    preview: /maintenanceWindow: \[\] → \["Sat 02:00-04:00 UTC"\]\n\s+nothing to do on the nodes/,
  },
  {
    key: "automaticRollback",
    expect: "none",
    group: "settings that touch no node",
    change: (c) => (c[K("automaticRollback")] = false),
    preview:
      /automaticRollback: true → false\n\s+nothing to do on the nodes: applies to the next change/,
  },
  {
    key: "strategy",
    expect: "none",
    group: "settings that touch no node",
    change: (c) => (c[K("strategy")] = "prepared"),
    preview:
      /strategy: \(unset\) → "prepared"\n\s+nothing to do on the nodes: how the next upgrade replaces the nodes/,
  },
  {
    key: "allowMixedVersions",
    expect: "none",
    group: "settings that touch no node",
    change: (c) => (c[K("allowMixedVersions")] = true),
    preview:
      /allowMixedVersions: \(unset\) → true\n\s+nothing to do on the nodes: checked by the next rolling upgrade/,
  },
  {
    key: "probe",
    expect: "none",
    group: "settings that touch no node",
    change: (c) => (c[K("probe")] = { path: "/status" }),
    preview:
      /probe\.path: "\/" → "\/status"\n\s+nothing to do on the nodes: used by the next verify/,
  },
  {
    key: "capacity",
    expect: "none",
    group: "settings that touch no node",
    change: (c) => (c[K("capacity")] = { cpus: 2 }),
    preview: /capacity\.cpus: \(unset\) → 2\n\s+nothing to do on the nodes/,
  },
  {
    key: "timeouts",
    expect: "none",
    group: "settings that touch no node",
    change: (c) => (c[K("timeouts")] = { quitSeconds: 5 }),
    preview: /timeouts\.quitSeconds: 10 → 5\n\s+nothing to do on the nodes/,
  },
  {
    key: "hosts",
    expect: "none",
    group: "settings that touch no node",
    change: (c) => (c[K("hosts")] = { addresses: ["10.0.0.11"] }),
    preview: /kong-gateway:hosts is set but kong-gateway:runtime is local: it is not used/,
  },
  {
    key: "docker",
    expect: "none",
    group: "settings that touch no node",
    change: (c) => (c[K("docker")] = { image: "kong/kong-gateway" }),
    preview: /kong-gateway:docker is set but kong-gateway:runtime is local: it is not used/,
  },
  {
    key: "sshPrivateKey",
    expect: "none",
    group: "settings that touch no node",
    change: () => undefined,
    secret:
      "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----",
    preview: /kong-gateway:sshPrivateKey is set but kong-gateway:runtime is local: it is not used/,
  },
  {
    key: "dbAdminPassword",
    expect: "none",
    group: "settings that touch no node",
    change: () => undefined,
    secret: "admin-password-unused-in-local-mode",
    // Used only by database.mode managed: the program's inputs do not change at all.
    preview: /(?:)/,
  },
  {
    key: "plugins",
    expect: "restart",
    change: (c) => (c[K("plugins")] = ["bundled", "key-auth"]),
    preview:
      /plugins: "bundled" → "bundled,key-auth"\n\s+restart, one node at a time: KONG_PLUGINS of every node/,
  },
  {
    key: "local",
    expect: "restart",
    change: (c, ctx) => {
      ctx.basePort += 50;
      c[K("local")] = { ...(c[K("local")] as Config), basePort: ctx.basePort };
    },
    preview:
      /local\.basePort: \d+ → \d+\n\s+restart, one node at a time: the nodes' listeners move/,
  },
  {
    key: "nodes",
    expect: "add",
    change: (c, ctx) => (c[K("nodes")] = ctx.nodes = 3),
    preview: /nodes: 2 → 3\n\s+nodes added: 1 node\(s\) start before anything else changes/,
  },
  {
    key: "dbPassword",
    expect: "restart",
    change: () => undefined,
    secret: `${E2E_PASSWORD}-rotated`,
    preview: /dbPassword: \(secret\) changed\n\s+restart: each node restarts with the new password/,
  },
  {
    key: "nodes",
    expect: "refused",
    change: (c) => (c[K("nodes")] = 2),
    preview:
      /kong-gateway:nodes 3 → 2 cannot change on the running cluster: the cluster would shrink from 3 to 2 nodes; set kong-gateway:capacity\.allowSmallerCluster true to allow it/,
  },
  {
    key: "nodes",
    expect: "remove",
    change: (c, ctx) => {
      c[K("nodes")] = ctx.nodes = 2;
      c[K("capacity")] = { ...(c[K("capacity")] as Config), allowSmallerCluster: true };
    },
    preview: /nodes: 3 → 2\n\s+nodes removed: 1 node\(s\) drain \('kong quit'\) and stop last/,
  },
  {
    key: "runtime",
    expect: "refused",
    group: "settings refused on a running cluster",
    change: (c) => (c[K("runtime")] = "docker"),
    preview:
      /kong-gateway:runtime "local" → "docker" cannot change on the running cluster: the nodes run on another runtime; a running cluster cannot be moved in place/,
  },
  {
    key: "database",
    expect: "refused",
    group: "settings refused on a running cluster",
    change: (c) => (c[K("database")] = { ...(c[K("database")] as Config), port: 1 }),
    preview:
      /kong-gateway:database\.port \d+ → 1 cannot change on the running cluster: the nodes would point at another database/,
  },
  {
    key: "stateDir",
    expect: "refused",
    group: "settings refused on a running cluster",
    change: (c) => (c[K("stateDir")] = `${String(c[K("stateDir")])}-moved`),
    preview:
      /kong-gateway:stateDir ".*" → ".*-moved" cannot change on the running cluster: the node records, the journal and \(by default\) the backups/,
  },
];

/** Settings that are not same-version changes, and where they are tested. */
const NOT_RECONFIGURE: Record<string, string> = {
  version: "a version change: test/e2e/upgrade-path.test.ts, lts-fault-rollback.test.ts",
};

describe(
  "settings change at the same version (reconfigure), one row per setting",
  { timeout: 1_500_000 },
  () => {
    let ks: KongStack;
    let file: string;
    let seeded: Record<string, number>;
    const ctx: Ctx = { basePort: 0, nodes: 2 };

    const pid = (i: number) => {
      const f = join(ks.stateDir, "nodes", "install-3.5.0-g1", `node-${i}`, "pids", "nginx.pid");
      return existsSync(f) ? readFileSync(f, "utf8").trim() : "";
    };
    const pids = () => Array.from({ length: ctx.nodes }, (_, i) => pid(i));
    const proxies = (base: number, n: number) =>
      Array.from({ length: n }, (_, i) => `http://127.0.0.1:${base + 10 * i}/`);
    const backups = () =>
      existsSync(join(ks.stateDir, "backups")) ? readdirSync(join(ks.stateDir, "backups")) : [];

    before(async () => {
      ks = await createKongStack("reconf", "3.5.0");
      ctx.basePort = ks.basePort;
      file = join(ks.stack.workspace.workDir, "stacks", "Pulumi.reconf.yaml");
      progress("reconf: install 3.5.0 (2 nodes)");
      assert.equal((await ks.stack.up()).summary.result, "succeeded");
      await seed(ks.adminUrl(0), { services: 20, consumers: 20 });
      seeded = await entityCounts(ks);
    });

    after(async () => {
      await ks?.dispose();
    });

    it("covers every kong-gateway: setting Pulumi.yaml declares", () => {
      const schema = load(readFileSync(join(repoRoot, "Pulumi.yaml"), "utf8")) as {
        config: Record<string, unknown>;
      };
      const declared = Object.keys(schema.config).map((k) => k.replace(/^kong-gateway:/, ""));
      const covered = new Set([...ROWS.map((r) => r.key), ...Object.keys(NOT_RECONFIGURE)]);
      assert.deepEqual(
        declared.filter((k) => !covered.has(k)),
        [],
        "settings without a row",
      );
    });

    it("a kong-gateway:version that is not a bare version is refused in preview, nodes untouched", async () => {
      const before = pids();
      for (const [given, message] of [
        [
          "kong:3.5.0",
          /kong-gateway:version "kong:3\.5\.0" is an image reference, not a Kong version; set "3\.5\.0"/,
        ],
        ["v3.5.0", /kong-gateway:version "v3\.5\.0" has a v prefix; set "3\.5\.0"/],
      ] as const) {
        await ks.setVersion(given);
        const err = await ks.stack.preview().then(
          () => "previewed",
          (e: Error) => e.message,
        );
        assert.match(err, message);
      }
      await ks.setVersion(" 3.5.0 ");
      await ks.stack.preview({ expectNoChanges: true }); // the same version, canonicalised
      await ks.setVersion("3.5.0");
      assert.deepEqual(pids(), before);
    });

    const steps: Row[][] = [];
    for (const row of ROWS) {
      const same = row.group ? steps.find((g) => g[0]!.group === row.group) : undefined;
      if (same) {
        same.push(row);
      } else {
        steps.push([row]);
      }
    }

    for (const [i, rows] of steps.entries()) {
      const expect = rows[0]!.expect;
      const title = rows[0]!.group ?? rows[0]!.key;
      it(`${i + 1}. ${title} (${rows.map((r) => r.key).join(", ")}): ${expect}`, async () => {
        const text = readFileSync(file, "utf8");
        const doc = load(text) as { config: Config };
        const oldBase = ctx.basePort;
        const oldNodes = ctx.nodes;
        const before = pids();
        for (const row of rows) {
          row.change(doc.config, ctx);
        }
        writeFileSync(file, dump(doc));
        for (const row of rows.filter((r) => r.secret !== undefined)) {
          await ks.stack.setConfig(K(row.key), { value: row.secret!, secret: true });
          if (row.key === "dbPassword") {
            ks.dbPassword = row.secret!;
          }
        }
        progress(`reconf: ${title} (${expect}): preview`);
        if (expect === "refused") {
          const err = await ks.stack.preview().then(
            () => undefined,
            (e: Error) => e.message,
          );
          assert.ok(err, "preview refuses");
          for (const row of rows) {
            assert.match(err, row.preview);
          }
          assert.deepEqual(pids(), before, "no node was touched");
          writeFileSync(file, text); // as the message says: set it back
          ctx.basePort = oldBase;
          ctx.nodes = oldNodes;
          return;
        }
        const preview = await ks.stack.preview();
        for (const row of rows) {
          assert.match(preview.stdout, row.preview);
          if (row.secret !== undefined) {
            assert.ok(!preview.stdout.includes(row.secret), "the secret is not in the preview");
          }
        }
        progress(`reconf: ${title} (${expect}): up`);
        const prober = startProber(
          [...proxies(oldBase, oldNodes), ...proxies(ctx.basePort, ctx.nodes)],
          20,
        );
        const res = await ks.stack.up();
        const probes = await prober.stop();
        assert.equal(res.summary.result, "succeeded");
        const failed = probes.filter((p) => !p.ok).length;
        assert.equal(
          failed,
          0,
          `a client trying every node never failed (${probes.length} probes)`,
        );
        const after = pids();
        if (expect === "none") {
          assert.deepEqual(after, before, "no node restarted");
        }
        if (expect === "restart") {
          assert.ok(
            after.every((p, n) => p !== "" && p !== before[n]),
            `every node restarted: ${before.join(",")} → ${after.join(",")}`,
          );
        }
        if (expect === "add") {
          assert.deepEqual(after.slice(0, oldNodes), before, "running nodes kept");
          assert.notEqual(after[oldNodes], "", "the new node runs");
        }
        if (expect === "remove") {
          assert.deepEqual(after, before.slice(0, ctx.nodes), "remaining nodes kept");
          assert.equal(pid(ctx.nodes), "", "the removed node is gone");
        }
        const urls = (await outputs(ks.stack)).proxyUrls as string[];
        assert.deepEqual(
          urls.map((u) => `${u}/`),
          proxies(ctx.basePort, ctx.nodes),
        );
        for (const u of urls) {
          const code = await eventually(
            async () => (await fetch(`${u}/svc-1`)).status,
            (s) => s === 200,
          );
          assert.equal(code, 200, `${u} proxies`);
        }
        assert.deepEqual(await entityCounts(ks), seeded, "every entity kept");
        assert.deepEqual(backups(), [], "no backup is taken for a settings change");
        progress(`reconf: ${title} (${expect}): preview --expect-no-changes`);
        await ks.stack.preview({ expectNoChanges: true });
      });
    }
  },
);
