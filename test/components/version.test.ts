/**
 * kong-gateway:version as the program resolves it: a bare Kong version everywhere (names,
 * outputs, the runner), or a refusal naming the setting and the canonical form.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { withDefaults } from "../../components/config/config";
describe("kong-gateway:version is canonical or refused", () => {
  it("keeps bare versions and drops surrounding spaces", () => {
    for (const [given, canonical] of [
      ["3.6.1", "3.6.1"],
      [" 3.6.1 ", "3.6.1"],
      ["3.4.3.12", "3.4.3.12"],
    ] as const) {
      assert.equal(withDefaults({ version: given }, "/tmp/x", "t").version, canonical);
    }
  });

  for (const [given, message] of [
    [
      "kong:3.6.1",
      /"kong:3\.6\.1" is an image reference, not a Kong version; set "3\.6\.1" \(the image repository is kong-gateway:docker\.image\)/,
    ],
    ["kong/kong-gateway:3.4.3.12", /is an image reference, not a Kong version; set "3\.4\.3\.12"/],
    ["v3.6.1", /"v3\.6\.1" has a v prefix; set "3\.6\.1"/],
    ["3.6", /"3\.6" lacks the patch part; name the exact release, e.g\. "3\.6\.0"/],
    [
      "3.6.0-rc1",
      /is not a Kong version \(X\.Y\.Z, or X\.Y\.Z\.N for Enterprise; no pre-releases or tags such as latest\)/,
    ],
    ["latest", /"latest" is not a Kong version/],
    ["", /kong-gateway:version "" is missing/],
  ] as const) {
    it(`refuses ${JSON.stringify(given)} naming the setting and the fix`, () => {
      assert.throws(() => withDefaults({ version: given }, "/tmp/x", "t"), message);
    });
  }
});

describe("other settings refused by name", () => {
  for (const [what, settings, message] of [
    [
      "a negative cpu count",
      { capacity: { cpus: -2 } },
      /kong-gateway:capacity\.cpus -2 is not a positive number/,
    ],
    [
      "a negative HTTP status",
      { probe: { expectStatus: [-200] } },
      /kong-gateway:probe\.expectStatus -200 is not an HTTP status \(100 to 599\)/,
    ],
    [
      "a negative reserve",
      { backup: { minFreeMb: -10 } },
      /kong-gateway:backup\.minFreeMb -10 is not a whole number of MiB/,
    ],
  ] as const) {
    it(`refuses ${what}`, () => {
      assert.throws(() => withDefaults({ version: "3.6.1", ...settings }, "/tmp/x", "t"), message);
    });
  }
});
