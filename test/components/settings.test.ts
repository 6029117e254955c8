/**
 * The settings-change rules (components/config/changes.ts) and the unknown-key refusal
 * (components/config/config.ts): table-driven, pure.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SETTING_KEYS, unknownSettings, withDefaults } from "../../components/config/config";
import {
  assertReconfigurable,
  diffSettings,
  settingsSnapshot,
  SETTING_IMPACTS,
} from "../../components/config/changes";

const root = join(__dirname, "..", "..");
const snap = (s: Parameters<typeof withDefaults>[0]) =>
  settingsSnapshot(withDefaults(s, "/tmp/kong-gw-settings-test", "t"));
const base = { version: "3.6.0" };

describe("settings changes", () => {
  it("knows exactly the settings Pulumi.yaml declares", () => {
    const declared = [
      ...readFileSync(join(root, "Pulumi.yaml"), "utf8").matchAll(/^ {2}kong-gateway:(\w+):/gm),
    ].map((m) => m[1]!);
    assert.deepEqual(Object.keys(SETTING_KEYS).sort(), declared.sort());
  });

  it("gives every resolved setting an impact, none by the fallback", () => {
    for (const runtime of ["local", "hosts", "docker"] as const) {
      const s = snap({
        ...base,
        runtime,
        hosts: { addresses: ["10.0.0.1", "10.0.0.2"] },
      });
      for (const key of Object.keys(s)) {
        const known = SETTING_IMPACTS.some(([k]) => key === k || key.startsWith(`${k}.`));
        assert.ok(known || key === "nodes", `${runtime}: ${key} has an impact rule`);
      }
    }
  });

  for (const [what, from, to, impact] of [
    ["retention", {}, { backup: { retention: 4 } }, "none"],
    ["plugins", {}, { plugins: ["bundled", "key-auth"] }, "restart"],
    ["basePort", {}, { local: { basePort: 19000 } }, "restart"],
    ["more nodes", {}, { nodes: 3 }, "add-nodes"],
    ["fewer nodes", { nodes: 3 }, { nodes: 2 }, "refused"],
    [
      "fewer nodes allowed",
      { nodes: 3 },
      { nodes: 2, capacity: { allowSmallerCluster: true } },
      "remove-nodes",
    ],
    ["runtime", {}, { runtime: "docker" }, "refused"],
    ["database port", {}, { database: { port: 5433 } }, "refused"],
    ["stateDir", {}, { stateDir: "/tmp/elsewhere" }, "refused"],
    ["a smaller cpu", { capacity: { cpus: 4 } }, { capacity: { cpus: 2 } }, "refused"],
    ["timeouts", {}, { timeouts: { quitSeconds: 5 } }, "none"],
  ] as const) {
    it(`${what}: ${impact}`, () => {
      const changes = diffSettings(snap({ ...base, ...from }), snap({ ...base, ...to }));
      const main = changes.find((c) => c.impact === impact);
      assert.ok(main, `${JSON.stringify(changes)} has a ${impact} change`);
    });
  }

  it("a running node moving host is refused; appending a host is not", () => {
    const h = (addresses: string[]) => snap({ ...base, runtime: "hosts", hosts: { addresses } });
    const moved = diffSettings(h(["a", "b"]), h(["a", "c"]));
    assert.equal(moved[0]?.impact, "refused");
    assert.match(moved[0]!.why, /node-1 b → c/);
    assert.equal(diffSettings(h(["a", "b"]), h(["a", "b", "c"]))[0]?.impact, "none");
  });

  it("refusals name the setting, both values and the way forward", () => {
    const changes = diffSettings(snap(base), snap({ ...base, runtime: "docker" }));
    assert.throws(
      () => assertReconfigurable(changes),
      /^Error: kong-gateway:runtime "local" → "docker" cannot change on the running cluster: the nodes run on another runtime; a running cluster cannot be moved in place; set it back, or deploy a new stack/,
    );
  });

  it("nothing recorded (a stack deployed before settings were): no change to name", () => {
    assert.deepEqual(diffSettings(undefined, snap(base)), []);
  });
});

describe("unknown settings", () => {
  it("refuses a misspelt key with the nearest name", () => {
    assert.deepEqual(unknownSettings({ "kong-gateway:verison": "3.6.0", "aws:region": "x" }), [
      "kong-gateway:verison is not a setting of this project (did you mean kong-gateway:version?); remove it with 'pulumi config rm kong-gateway:verison'",
    ]);
  });

  it("refuses a misspelt key inside an object setting", () => {
    const [msg] = unknownSettings({ "kong-gateway:backup": '{"retenton": 3}' });
    assert.match(
      msg!,
      /^kong-gateway:backup\.retenton is not a setting of this project \(did you mean kong-gateway:backup\.retention\?\) \(kong-gateway:backup takes dir, verify, retention, minFreeMb, store, command, host, hostDir\)/,
    );
  });

  it("accepts every key the example stacks use", () => {
    assert.deepEqual(
      unknownSettings({
        "kong-gateway:version": "3.6.0",
        "kong-gateway:hosts": '{"addresses":["a"],"startCommand":"x","stopCommand":"y"}',
        "kong-gateway:timeouts": '{"stepSeconds":{"backup":60}}',
      }),
      [],
    );
  });
});
