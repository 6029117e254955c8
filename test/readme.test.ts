/**
 * The README's configuration reference and Pulumi.yaml's config schema must say the same thing:
 * the same keys, types and defaults. Read both as text, as users do.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

const root = join(__dirname, "..");

interface Entry {
  type: string;
  default: string;
}

/** `kong-gateway:<key>` → type and default, from Pulumi.yaml's `config:` section. */
function schema(): Map<string, Entry> {
  const text = readFileSync(join(root, "Pulumi.yaml"), "utf8");
  const section = text.slice(text.indexOf("\nconfig:"));
  const out = new Map<string, Entry>();
  let key = "";
  for (const line of section.split("\n")) {
    const k = /^ {2}(kong-gateway:\w+):\s*$/.exec(line);
    if (k) {
      key = k[1]!;
      out.set(key, { type: "", default: "(required)" });
      continue;
    }
    const t = /^ {4}type: (\w+)/.exec(line);
    if (t && key) {
      out.get(key)!.type = t[1]!;
    }
    const d = /^ {4}default: (.*)$/.exec(line);
    if (d && key) {
      out.get(key)!.default = d[1]!.trim();
    }
  }
  return out;
}

/** The rows of the README's configuration table. */
function readme(): Map<string, Entry> {
  const text = readFileSync(join(root, "README.md"), "utf8");
  const out = new Map<string, Entry>();
  for (const line of text.split("\n")) {
    const m = /^\| `(kong-gateway:\w+)` \| (\w+) \| ([^|]+) \|/.exec(line);
    if (m) {
      out.set(m[1]!, { type: m[2]!, default: m[3]!.trim().replace(/^`|`$/g, "") });
    }
  }
  return out;
}

describe("README configuration reference", () => {
  it("lists exactly the keys Pulumi.yaml declares, with the same types and defaults", () => {
    const s = schema();
    const r = readme();
    assert.ok(s.size >= 10, `Pulumi.yaml declares ${s.size} keys`);
    assert.deepEqual([...r.keys()].sort(), [...s.keys()].sort());
    for (const [key, entry] of s) {
      assert.equal(r.get(key)?.type, entry.type, `${key}: type`);
      assert.equal(r.get(key)?.default, entry.default, `${key}: default`);
    }
  });
});
