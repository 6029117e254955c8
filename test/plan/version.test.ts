import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  compareReleases,
  compareVersions,
  formatVersion,
  minorOf,
  parseVersion,
} from "../../components/plan";
import { assertRefused } from "./helpers";

describe("parseVersion", () => {
  const valid: [
    string,
    { major: number; minor: number; patch: number; build?: number; text: string; image?: string },
  ][] = [
    ["3.6.1", { major: 3, minor: 6, patch: 1, text: "3.6.1" }],
    ["2.1.0", { major: 2, minor: 1, patch: 0, text: "2.1.0" }],
    ["3.10.0", { major: 3, minor: 10, patch: 0, text: "3.10.0" }],
    [" 3.6.1\n", { major: 3, minor: 6, patch: 1, text: "3.6.1" }],
    ["3.4.3.12", { major: 3, minor: 4, patch: 3, build: 12, text: "3.4.3.12" }],
    ["2.8.4.0", { major: 2, minor: 8, patch: 4, build: 0, text: "2.8.4.0" }],
    ["kong:3.6.1", { major: 3, minor: 6, patch: 1, text: "3.6.1", image: "kong:3.6.1" }],
    [
      "kong:3.6.1-ubuntu",
      { major: 3, minor: 6, patch: 1, text: "3.6.1", image: "kong:3.6.1-ubuntu" },
    ],
    [
      "kong/kong-gateway:3.6.1.4",
      {
        major: 3,
        minor: 6,
        patch: 1,
        build: 4,
        text: "3.6.1.4",
        image: "kong/kong-gateway:3.6.1.4",
      },
    ],
    [
      "registry.example.com:5000/kong/kong-gateway:3.4.3.12-rhel",
      {
        major: 3,
        minor: 4,
        patch: 3,
        build: 12,
        text: "3.4.3.12",
        image: "registry.example.com:5000/kong/kong-gateway:3.4.3.12-rhel",
      },
    ],
    [
      "localhost/kong:2.8.1",
      { major: 2, minor: 8, patch: 1, text: "2.8.1", image: "localhost/kong:2.8.1" },
    ],
    [
      "registry:5000/kong:3.5.0",
      { major: 3, minor: 5, patch: 0, text: "3.5.0", image: "registry:5000/kong:3.5.0" },
    ],
    [
      "docker.io/library/kong:3.7.1@sha256:" + "a".repeat(64),
      {
        major: 3,
        minor: 7,
        patch: 1,
        text: "3.7.1",
        image: "docker.io/library/kong:3.7.1@sha256:" + "a".repeat(64),
      },
    ],
  ];
  for (const [input, expected] of valid) {
    test(`accepts ${JSON.stringify(input)}`, () => {
      const v = parseVersion(input);
      assert.equal(v.major, expected.major);
      assert.equal(v.minor, expected.minor);
      assert.equal(v.patch, expected.patch);
      assert.equal(v.build, expected.build);
      assert.equal(v.enterprise, expected.build !== undefined);
      assert.equal(v.text, expected.text);
      assert.equal(v.image, expected.image);
    });
  }

  const invalid: [string, string][] = [
    ["", "is not a Kong version"],
    ["3.6", "is not a Kong version"],
    ["v3.6.1", "is not a Kong version"],
    ["3.6.1.2.3", "is not a Kong version"],
    ["03.6.1", "is not a Kong version"],
    ["3.6.x", "is not a Kong version"],
    ["3.6.1-rc1", "is not a Kong version"],
    ["kong", "is not a Kong version"],
    ["kong:latest", `has the tag "latest"`],
    ["kong:3.6", `has the tag "3.6"`],
    ["kong:3.6.1-rc1", `has the tag "3.6.1-rc1"`],
    ["registry.example.com:5000/kong", "is an image without a tag"],
    ["Kong:3.6.1", "is neither a version nor a valid image reference"],
    ["kong//kong:3.6.1", "is neither a version nor a valid image reference"],
    ["kong:3.6.1:3.6.2", `has the tag "3.6.1:3.6.2"`],
  ];
  for (const [input, why] of invalid) {
    test(`refuses ${JSON.stringify(input)}, quoting it and showing valid examples`, () => {
      assertRefused(
        () => parseVersion(input),
        "version",
        JSON.stringify(input),
        why,
        "3.6.1",
        "kong:3.6.1",
        "3.4.3.12",
      );
    });
  }
});

describe("compareVersions / formatVersion / minorOf", () => {
  const ordered = [
    "2.1.0",
    "2.1.3",
    "2.8.0",
    "2.8.4.0",
    "2.8.4.1",
    "3.0.0",
    "3.4.3",
    "3.4.3.12",
    "3.4.3.13",
    "3.9.1",
    "3.10.0",
  ];
  test("orders by major, minor, patch, then build; OSS before Enterprise of the same release", () => {
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        const a = parseVersion(ordered[i] as string);
        const b = parseVersion(ordered[j] as string);
        assert.equal(compareVersions(a, b), Math.sign(i - j), `${ordered[i]} vs ${ordered[j]}`);
      }
    }
  });
  test("compareReleases ignores the Enterprise build", () => {
    assert.equal(compareReleases(parseVersion("3.4.3.12"), parseVersion("3.4.3")), 0);
    assert.equal(compareReleases(parseVersion("3.4.3.12"), parseVersion("3.4.4")), -1);
  });
  test("formats the canonical number, never the image", () => {
    assert.equal(formatVersion(parseVersion("kong/kong-gateway:3.4.3.12-ubuntu")), "3.4.3.12");
    assert.equal(formatVersion(parseVersion("kong:3.6.1")), "3.6.1");
    assert.equal(minorOf(parseVersion("3.10.2")), "3.10");
  });
});
