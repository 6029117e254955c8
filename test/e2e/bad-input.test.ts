/**
 * The bad-input table of README.md ("Bad input: refused before anything stops"), generated from
 * the README itself: one real-engine `local` stack (Kong 3.5.0, 2 nodes) is installed once; each
 * row's example is set on top of its configuration, then `preview` (and `up` where the row says
 * so) must exit non-zero with the row's message, and the nodes' pids and every resource of the
 * stack (`pulumi stack export`) must be what they were. The configuration is restored after each
 * row; at the end `up` reports no changes.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { load, dump } from "js-yaml";
import { progress } from "../support/e2e";
import { repoRoot } from "../support/engine";
import { createKongStack, KongStack } from "../support/kongStack";
import { freePort } from "../support/postgres";

/** One row of the README table. */
interface Row {
  readonly setting: string;
  /** The settings the row sets, by config path (`backup.retention`), placeholders unexpanded. */
  readonly example: Record<string, unknown>;
  readonly message: string;
  /** `preview`, or `up` (preview warns but succeeds). */
  readonly where: "preview" | "up";
}

const SECRETS = new Set(["dbPassword", "sshPrivateKey"]);

/** Parses the table under the "Bad input" heading of README.md. */
export function readTable(readme: string): Row[] {
  const start = readme.indexOf("### Bad input: refused before anything stops");
  assert.ok(start >= 0, "README has the bad-input section");
  const lines = readme.slice(start).split("\n");
  const first = lines.findIndex((l) => l.startsWith("| setting | example | message |"));
  assert.ok(first > 0, "the section has its table");
  const rows: Row[] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) {
      break;
    }
    const cells = line
      .slice(1, -1)
      .split(" | ")
      .map((c) => c.trim().replace(/^`(.*)`$/, "$1"));
    assert.equal(cells.length, 4, `four cells: ${line}`);
    const [setting, example, message, where] = cells as [string, string, string, string];
    rows.push({
      setting: setting.replaceAll("`", ""),
      example: load(example) as Record<string, unknown>,
      message,
      where: where.startsWith("up") ? "up" : "preview",
    });
  }
  return rows;
}

/** A window that is closed now: three days from today, one hour long. */
function closedWindow(now = new Date()): string {
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  return `${days[(now.getUTCDay() + 3) % 7]} 03:00-04:00 UTC`;
}

/** Replaces `{name}` and `{name±N}` with the stack's values. */
function expand(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)([+-]\d+)?\}/g, (whole, name: string, delta?: string) => {
    const v = values[name];
    if (v === undefined) {
      return whole;
    }
    return delta ? String(Number(v) + Number(delta)) : String(v);
  });
}

function expandValue(v: unknown, values: Record<string, string | number>): unknown {
  if (typeof v === "string") {
    const s = expand(v, values);
    return /^-?\d+$/.test(s) && s !== v ? Number(s) : s;
  }
  if (Array.isArray(v)) {
    return v.map((x) => expandValue(x, values));
  }
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expandValue(x, values)]));
  }
  return v;
}

/** The message as a pattern: `…` is any text, whitespace runs are one space. */
function pattern(message: string): RegExp {
  const parts = message.split("…").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(parts.join(".*?").replace(/\s+/g, "\\s+"), "s");
}

const rows = readTable(readFileSync(join(repoRoot, "README.md"), "utf8"));

describe(
  "bad input from the README table: refused before anything stops",
  { timeout: 600_000 },
  () => {
    let ks: KongStack;
    let file: string;
    let busy: Server;
    let values: Record<string, string | number>;
    let refused = 0;
    let installed: { pids: string[]; resources: Record<string, string> };

    const pid = (i: number) => {
      const f = join(ks.stateDir, "nodes", "install-3.5.0-g1", `node-${i}`, "pids", "nginx.pid");
      return existsSync(f) ? readFileSync(f, "utf8").trim() : "";
    };
    const pids = () => [pid(0), pid(1)];
    /**
     * Every resource the stack manages (custom, not a read) and the stack's own outputs, by URN,
     * without the engine's timestamps. A refused `up` re-registers the component and re-reads
     * the StackReference: engine bookkeeping, left out; the stack outputs the next run reads
     * (`deployment`) are in.
     */
    const resources = async () => {
      const list = (await ks.stack.exportStack()).deployment.resources as Record<string, unknown>[];
      return Object.fromEntries(
        list
          .filter(
            (r) => (r.custom === true && r.external !== true) || r.type === "pulumi:pulumi:Stack",
          )
          .map((r) => [
            String(r.urn),
            JSON.stringify({ ...r, created: undefined, modified: undefined }),
          ]),
      );
    };

    /** URNs whose record differs from the one right after the install. */
    const changedResources = async () => {
      const now = await resources();
      return Object.keys({ ...now, ...installed.resources }).filter(
        (urn) => now[urn] !== installed.resources[urn],
      );
    };

    before(async () => {
      const basePort = await freePort();
      ks = await createKongStack(
        "badinput",
        "3.5.0",
        {
          "kong-gateway:local": {
            install: `${repoRoot}/test/kong-sim/install {version} {dir}`,
            basePort,
          },
        },
        // Type checking is `npm run check`'s job: each of the ~40 previews skips ts-node's.
        { PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
      );
      file = join(ks.stack.workspace.workDir, "stacks", "Pulumi.badinput.yaml");
      const busyPort = await freePort();
      busy = createServer();
      await new Promise<void>((ok) => busy.listen(busyPort, "127.0.0.1", ok));
      values = {
        dbPort: ks.dbPort,
        busyPort,
        freePort: await freePort(),
        stateDir: ks.stateDir,
        closedWindow: closedWindow(),
      };
      progress("bad input: install 3.5.0 (2 nodes)");
      assert.equal((await ks.stack.up()).summary.result, "succeeded");
      assert.ok(
        pids().every((p) => p !== ""),
        "both nodes run",
      );
      installed = { pids: pids(), resources: await resources() };
    });

    after(async () => {
      busy?.close();
      await ks?.dispose();
    });

    it("the table has at least 30 kinds of bad input", () => {
      assert.ok(rows.length >= 30, `${rows.length} rows`);
    });

    for (const [n, row] of rows.entries()) {
      it(`${n + 1}. ${row.setting} ${JSON.stringify(row.example)}: refused in ${row.where}`, async () => {
        const text = readFileSync(file, "utf8");
        const example = expandValue(row.example, values) as Record<string, unknown>;
        const doc = load(text) as { config: Record<string, unknown> };
        for (const [path, value] of Object.entries(example)) {
          if (SECRETS.has(path)) {
            continue;
          }
          const [top, ...rest] = path.split(".");
          const key = `kong-gateway:${top}`;
          if (rest.length === 0) {
            doc.config[key] = value;
          } else {
            const obj = { ...((doc.config[key] as Record<string, unknown>) ?? {}) };
            obj[rest.join(".")] = value;
            doc.config[key] = obj;
          }
        }
        writeFileSync(file, dump(doc));
        try {
          for (const [path, value] of Object.entries(example)) {
            if (SECRETS.has(path)) {
              await ks.stack.setConfig(`kong-gateway:${path}`, {
                value: String(value),
                secret: true,
              });
            }
          }
          const expected = pattern(expand(row.message, values));
          const attempt = async (op: "preview" | "up") =>
            (op === "preview" ? ks.stack.preview() : ks.stack.up()).then(
              (r) => `${op} succeeded:\n${r.stdout}`,
              (e: Error) => `${op} failed:\n${e.message}`,
            );
          if (row.where === "up") {
            const preview = await attempt("preview");
            assert.match(preview, /^preview succeeded/, "preview shows the plan");
            assert.match(
              preview,
              /is outside every maintenance window .*'pulumi up' refuses to start before then/,
              "preview shows the plan with the window's warning",
            );
          } else {
            const preview = await attempt("preview");
            assert.match(preview, /^preview failed/, "preview exits non-zero");
            assert.match(preview, expected);
            for (const [path, value] of Object.entries(example)) {
              if (SECRETS.has(path)) {
                assert.ok(!preview.includes(String(value)), `the ${path} is not printed`);
              }
            }
          }
          if (row.where === "up") {
            const up = await attempt("up");
            assert.match(up, /^up failed/, "up exits non-zero");
            assert.match(up, expected);
          }
          // Nothing may change, so every row compares with the state right after the install.
          assert.deepEqual(pids(), installed.pids, "every node runs on with the same pid");
          if (row.where === "up") {
            // A preview never writes the checkpoint; the refused ups are checked here, every
            // preview row once more at the end.
            assert.deepEqual(await changedResources(), [], "no resource changed");
          }
          refused++;
        } finally {
          writeFileSync(file, text);
        }
      });
    }

    it("with the configuration restored, up reports no changes", async () => {
      assert.deepEqual(await changedResources(), [], "no resource changed by any row");
      const res = await ks.stack.up();
      const changes = Object.entries(res.summary.resourceChanges ?? {}).filter(
        // `read` is the program's StackReference to its own outputs, read on every run.
        ([op]) => op !== "same" && op !== "read",
      );
      assert.deepEqual(changes, []);
      process.stderr.write(
        `bad input: ${refused}/${rows.length} refused before anything stopped\n`,
      );
      assert.equal(refused, rows.length);
    });
  },
);
